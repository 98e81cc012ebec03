//! The tenant directory: resolving hosts and creating organisations.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{tenants, users};
use super::scope::{PlatformTx, TenantScope};
use crate::domain::{Email, MemberId, Role, Slug, TenantId};

/// A tenant as the request sees it: its scope and what pages show.
#[derive(Clone, Debug)]
pub struct Tenant {
    /// Scope for every query of this tenant's data.
    pub scope: TenantScope,
    /// Its subdomain.
    pub slug: Slug,
    /// The organisation's display name.
    pub name: String,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = tenants, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct TenantRow {
    id: TenantId,
    slug: String,
    name: String,
}

impl TryFrom<TenantRow> for Tenant {
    type Error = diesel::result::Error;

    fn try_from(row: TenantRow) -> Result<Self, Self::Error> {
        // Only parsed slugs are ever written, so this fails only on a corrupt row.
        let slug = Slug::parse(&row.slug).map_err(|e| {
            diesel::result::Error::DeserializationError(format!("tenants.slug: {e}").into())
        })?;
        Ok(Tenant {
            scope: TenantScope::new(row.id),
            slug,
            name: row.name,
        })
    }
}

/// A row of the tenant directory to insert (signup, seed).
#[derive(Insertable)]
#[diesel(table_name = tenants)]
pub(super) struct NewTenant<'a> {
    pub id: &'a TenantId,
    pub slug: &'a str,
    pub name: &'a str,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = users)]
pub(super) struct NewUser<'a> {
    pub tenant_id: &'a TenantId,
    pub id: &'a MemberId,
    pub email: &'a str,
    pub name: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// What signup needs, already validated.
pub struct NewOrganization {
    /// Display name.
    pub name: String,
    /// Subdomain.
    pub slug: Slug,
    /// First admin's name.
    pub admin_name: String,
    /// First admin's email.
    pub admin_email: Email,
    /// First admin's argon2id hash.
    pub admin_password_hash: String,
}

/// The outcome of signup.
pub enum SignupOutcome {
    /// Created; the hand-off token logs the admin in on the new host.
    Created {
        /// The new tenant.
        tenant: Tenant,
        /// Raw hand-off token (only its hash is stored).
        handoff_token: String,
    },
    /// Someone has that subdomain already.
    SlugTaken,
}

impl PlatformTx<'_> {
    /// The tenant at this subdomain, if any.
    pub fn find_tenant_by_slug(&mut self, slug: &str) -> QueryResult<Option<Tenant>> {
        tenants::table
            .filter(tenants::slug.eq(slug))
            .select(TenantRow::as_select())
            .first(self.conn)
            .optional()?
            .map(Tenant::try_from)
            .transpose()
    }

    /// Creates the organisation, its first admin and a hand-off token, all in this
    /// transaction: a failure at any step leaves nothing behind.
    pub fn create_organization(&mut self, new: &NewOrganization) -> QueryResult<SignupOutcome> {
        if self.find_tenant_by_slug(new.slug.as_str())?.is_some() {
            return Ok(SignupOutcome::SlugTaken);
        }
        let now = crate::db::now();
        let tenant_id = TenantId::generate();
        let inserted = diesel::insert_into(tenants::table)
            .values(NewTenant {
                id: &tenant_id,
                slug: new.slug.as_str(),
                name: &new.name,
                created_at: now,
                updated_at: now,
            })
            .execute(self.conn);
        match inserted {
            Ok(_) => {}
            // Two signups raced for the slug; the other one won.
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => return Ok(SignupOutcome::SlugTaken),
            Err(e) => return Err(e),
        }
        let scope = TenantScope::new(tenant_id.clone());
        let mut tx = self.enter(&scope)?;
        let admin_id = tx.insert_member(
            &new.admin_email,
            &new.admin_name,
            &new.admin_password_hash,
            Role::Admin,
        )?;
        let handoff_token = tx.issue_token(&admin_id, super::tokens::TokenPurpose::Handoff)?;
        Ok(SignupOutcome::Created {
            tenant: Tenant {
                scope,
                slug: new.slug.clone(),
                name: new.name.clone(),
            },
            handoff_token,
        })
    }
}
