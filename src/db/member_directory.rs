//! The workspace finder's index (`member_directory`): for each active member, their
//! address and tenant. It is written in the same transactions that add and
//! deactivate members, so `/find` answers from one indexed query instead of
//! entering every tenant in turn. A tenant placed outside the main database keeps
//! its own listing and the main database a copy (`index_copy`).

use diesel::prelude::*;

use super::schema::{member_directory, tenants};
use super::scope::{PlatformTx, TenantTx};
use crate::domain::Email;

/// A workspace an address belongs to, for the finder's mail.
#[derive(Clone, Debug, Queryable)]
pub struct Workspace {
    /// The organisation's name.
    pub name: String,
    /// Its subdomain.
    pub slug: String,
}

impl TenantTx<'_> {
    /// Lists an address as an active member of this tenant.
    pub(super) fn list_in_directory(&mut self, email: &str) -> QueryResult<()> {
        diesel::insert_into(member_directory::table)
            .values((
                member_directory::email.eq(email),
                member_directory::tenant_id.eq(self.scope.tenant_id()),
            ))
            .execute(self.conn)?;
        self.effects.directory = true;
        Ok(())
    }

    /// Takes an address out of this tenant's listing (deactivation).
    pub(super) fn unlist_from_directory(&mut self, email: &str) -> QueryResult<()> {
        diesel::delete(
            member_directory::table
                .filter(member_directory::email.eq(email))
                .filter(member_directory::tenant_id.eq(self.scope.tenant_id())),
        )
        .execute(self.conn)?;
        self.effects.directory = true;
        Ok(())
    }
}

impl PlatformTx<'_> {
    /// The workspaces where this address is an active member, by name.
    pub fn find_workspaces_by_email(&mut self, email: &Email) -> QueryResult<Vec<Workspace>> {
        member_directory::table
            .inner_join(tenants::table)
            .filter(member_directory::email.eq(email.as_str()))
            .order(tenants::name.asc())
            .select((tenants::name, tenants::slug))
            .load(self.conn)
    }
}
