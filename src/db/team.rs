//! Managing a team: listing members, roles, deactivation, passwords, the
//! organisation's name, and the workspace finder's cross-tenant lookup.

use diesel::dsl::count_star;
use diesel::prelude::*;

use super::schema::{tenants, users};
use super::scope::TenantTx;
use super::users::Member;
use crate::domain::{MemberId, Role, TenantId};

/// The outcome of a change that must leave the organisation an active admin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberChange {
    /// Done.
    Changed,
    /// No such member in this tenant.
    NotFound,
    /// Refused: it would leave no active admin.
    LastAdmin,
}

impl TenantTx<'_> {
    /// Every member of this tenant, active first, then by name.
    pub fn list_members(&mut self) -> QueryResult<Vec<Member>> {
        self.scope
            .users()
            .order((users::active.desc(), users::name.asc()))
            .select((
                users::id,
                users::email,
                users::name,
                users::role,
                users::active,
            ))
            .load::<(MemberId, String, String, Role, bool)>(self.conn)
            .map(|rows| {
                rows.into_iter()
                    .map(|(id, email, name, role, active)| Member {
                        id,
                        email,
                        name,
                        role,
                        active,
                    })
                    .collect()
            })
    }

    fn count_active_admins(&mut self) -> QueryResult<i64> {
        self.scope
            .users()
            .filter(users::active.eq(true))
            .filter(users::role.eq(Role::Admin))
            .select(count_star())
            .first(self.conn)
    }

    /// Whether changing `member` would leave no active admin.
    fn is_last_active_admin(&mut self, member: &Member) -> QueryResult<bool> {
        Ok(member.active && member.role == Role::Admin && self.count_active_admins()? <= 1)
    }

    /// Gives a member another role; the last active admin cannot be demoted.
    pub fn change_role(&mut self, id: &MemberId, role: Role) -> QueryResult<MemberChange> {
        let Some(member) = self.find_member(id)? else {
            return Ok(MemberChange::NotFound);
        };
        if role != Role::Admin && self.is_last_active_admin(&member)? {
            return Ok(MemberChange::LastAdmin);
        }
        diesel::update(self.scope.users().filter(users::id.eq(id)))
            .set((users::role.eq(role), users::updated_at.eq(crate::db::now())))
            .execute(self.conn)?;
        Ok(MemberChange::Changed)
    }

    /// Deactivates a member; their sessions stop working on their next request,
    /// since every request re-reads the member. The last active admin is kept.
    pub fn deactivate_member(&mut self, id: &MemberId) -> QueryResult<MemberChange> {
        let Some(member) = self.find_member(id)? else {
            return Ok(MemberChange::NotFound);
        };
        if self.is_last_active_admin(&member)? {
            return Ok(MemberChange::LastAdmin);
        }
        diesel::update(self.scope.users().filter(users::id.eq(id)))
            .set((
                users::active.eq(false),
                users::updated_at.eq(crate::db::now()),
            ))
            .execute(self.conn)?;
        self.unlist_from_directory(&member.email)?;
        // Every session ends with it, not just on its next request.
        self.delete_member_sessions(id, None)?;
        Ok(MemberChange::Changed)
    }

    /// Replaces a member's password hash.
    pub fn set_password(&mut self, id: &MemberId, password_hash: &str) -> QueryResult<bool> {
        let updated = diesel::update(self.scope.users().filter(users::id.eq(id)))
            .set((
                users::password_hash.eq(password_hash),
                users::updated_at.eq(crate::db::now()),
            ))
            .execute(self.conn)?;
        Ok(updated == 1)
    }

    /// Renames this organisation (the directory row of this scope's tenant only;
    /// for a tenant placed elsewhere, its store's copy, copied on to the directory).
    pub fn rename_organization(&mut self, name: &str) -> QueryResult<()> {
        let tenant_id: &TenantId = self.scope.tenant_id();
        diesel::update(tenants::table.filter(tenants::id.eq(tenant_id)))
            .set((
                tenants::name.eq(name),
                tenants::updated_at.eq(crate::db::now()),
            ))
            .execute(self.conn)?;
        self.effects.renamed = Some(name.to_owned());
        Ok(())
    }
}
