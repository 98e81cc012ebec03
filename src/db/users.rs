//! Members of a tenant (the `users` table).

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::users;
use super::scope::TenantTx;
use super::tenants::NewUser;
use crate::domain::{Email, MemberId, Role, TenantId};

/// A member as pages and extractors see it (no password hash).
#[derive(Clone, Debug)]
pub struct Member {
    /// Id within the tenant.
    pub id: MemberId,
    /// Login email, lowercase.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Admin or member.
    pub role: Role,
    /// Deactivated members cannot log in, and their sessions stop working.
    pub active: bool,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub(super) struct MemberRow {
    id: MemberId,
    email: String,
    name: String,
    role: Role,
    active: bool,
}

impl From<MemberRow> for Member {
    fn from(row: MemberRow) -> Self {
        Member {
            id: row.id,
            email: row.email,
            name: row.name,
            role: row.role,
            active: row.active,
        }
    }
}

/// What login needs: the member and their hash.
pub struct Credentials {
    /// The member.
    pub member: Member,
    /// Their argon2id PHC string.
    pub password_hash: String,
}

impl TenantTx<'_> {
    /// Adds a member to this tenant.
    pub fn insert_member(
        &mut self,
        email: &Email,
        name: &str,
        password_hash: &str,
        role: Role,
    ) -> QueryResult<MemberId> {
        let now: NaiveDateTime = crate::db::now();
        let id = MemberId::generate();
        let tenant_id: &TenantId = self.scope.tenant_id();
        diesel::insert_into(users::table)
            .values(NewUser {
                tenant_id,
                id: &id,
                email: email.as_str(),
                name,
                password_hash,
                role,
                active: true,
                created_at: now,
                updated_at: now,
            })
            .execute(self.conn)?;
        self.list_in_directory(email.as_str())?;
        Ok(id)
    }

    /// A member by id, active or not.
    pub fn find_member(&mut self, id: &MemberId) -> QueryResult<Option<Member>> {
        self.scope
            .users()
            .filter(users::id.eq(id))
            .select(MemberRow::as_select())
            .first(self.conn)
            .optional()
            .map(|row| row.map(Member::from))
    }

    /// The member with this login email and their password hash, for login.
    pub fn find_credentials_by_email(&mut self, email: &Email) -> QueryResult<Option<Credentials>> {
        let row = self
            .scope
            .users()
            .filter(users::email.eq(email.as_str()))
            .select((MemberRow::as_select(), users::password_hash))
            .first::<(MemberRow, String)>(self.conn)
            .optional()?;
        Ok(row.map(|(member, password_hash)| Credentials {
            member: Member::from(member),
            password_hash,
        }))
    }
}

impl TenantTx<'_> {
    /// Changes a member's display name (their own account page).
    pub fn rename_member(&mut self, id: &MemberId, name: &str) -> QueryResult<()> {
        diesel::update(self.scope.users().filter(users::id.eq(id)))
            .set((users::name.eq(name), users::updated_at.eq(super::now())))
            .execute(self.conn)?;
        Ok(())
    }
}

/// Lookups of members for other tables' pages: names beside leads and notes,
/// drop-downs, and owners matched by email in an import.
impl TenantTx<'_> {
    /// Names and emails of members by id (for lists and notes).
    pub(super) fn member_names(
        &mut self,
        ids: Vec<MemberId>,
    ) -> QueryResult<HashMap<MemberId, (String, String)>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let query = self.scope.users().into_boxed();
        let rows: Vec<(MemberId, String, String)> =
            super::one_of!(query, self.conn, users::id, "users.id", ids)
                .select((users::id, users::name, users::email))
                .load(self.conn)?;
        Ok(rows.into_iter().map(|(id, n, e)| (id, (n, e))).collect())
    }

    /// Every member for the owner filter and drop-down: `(id, name, active)`.
    pub fn member_choices(&mut self) -> QueryResult<Vec<(MemberId, String, bool)>> {
        // On the list's every page: on the backend's own connection (see
        // `on_backend!`).
        let query = self
            .scope
            .users()
            .order((users::name.asc(), users::id.asc()))
            .select((users::id, users::name, users::active));
        crate::db::on_backend!(self.conn, |c| query.load(c))
    }

    /// Every member by login email: `email -> (id, active)`.
    pub(super) fn members_by_email(&mut self) -> QueryResult<HashMap<String, (MemberId, bool)>> {
        Ok(self
            .scope
            .users()
            .select((users::email, users::id, users::active))
            .load::<(String, MemberId, bool)>(self.conn)?
            .into_iter()
            .map(|(email, id, active)| (email, (id, active)))
            .collect())
    }
}
