//! `OperatorDb`: the command line's cross-tenant operations. It connects with the
//! owner's URL and is used only by `cli`; request handlers never hold one.

use anyhow::Context;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::tenants;
use super::{DbConnection, establish};
use crate::config::DatabaseUrl;

/// One line of `tenantry tenants list`.
#[derive(Debug, Queryable)]
pub struct TenantSummary {
    /// Subdomain.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// When it signed up.
    pub created_at: NaiveDateTime,
}

/// A direct connection for operator commands.
pub struct OperatorDb {
    pub(super) conn: DbConnection,
}

impl OperatorDb {
    /// Connects as the owner (`MIGRATION_DATABASE_URL`).
    pub fn connect(url: &DatabaseUrl) -> anyhow::Result<Self> {
        Ok(Self {
            conn: establish(url).context("could not connect to the database")?,
        })
    }

    /// Every tenant, by slug.
    pub fn list_tenants(&mut self) -> anyhow::Result<Vec<TenantSummary>> {
        tenants::table
            .select((tenants::slug, tenants::name, tenants::created_at))
            .order(tenants::slug.asc())
            .load(&mut self.conn)
            .context("listing tenants")
    }
}
