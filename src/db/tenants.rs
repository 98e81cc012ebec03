//! The tenant directory: resolving hosts and creating organisations.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{member_directory, spare_stores, tenants, users};
use super::scope::{PlatformTx, TenantScope};
use super::stores::{Home, StoreName, create_home, drop_home};
use super::{Db, DbConnection, DbError, DbResult};
use crate::config::DbKind;
use crate::domain::{Email, Limits, MemberId, Placement, Role, Slug, TenantId};

/// A tenant as the request sees it: its scope and what pages show.
#[derive(Clone, Debug)]
pub struct Tenant {
    /// Scope for every query of this tenant's data.
    pub scope: TenantScope,
    /// Its subdomain.
    pub slug: Slug,
    /// The organisation's display name.
    pub name: String,
    /// Its plan's limits, with its own overrides applied.
    pub limits: std::sync::Arc<Limits>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = tenants, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct TenantRow {
    id: TenantId,
    slug: String,
    name: String,
    placement: Placement,
    store: Option<String>,
    database_url: Option<String>,
    plan: String,
}

impl TenantRow {
    fn into_tenant(self, limits: Limits) -> QueryResult<Tenant> {
        let row = self;
        // Only parsed slugs are ever written, so this fails only on a corrupt row.
        let slug = Slug::parse(&row.slug).map_err(|e| {
            diesel::result::Error::DeserializationError(format!("tenants.slug: {e}").into())
        })?;
        let home = Home::from_directory(
            row.placement,
            row.store.as_deref(),
            row.database_url.as_deref(),
        )
        .map_err(|e| diesel::result::Error::DeserializationError(format!("tenants: {e}").into()))?;
        Ok(Tenant {
            scope: TenantScope::new(row.id, home),
            slug,
            name: row.name,
            limits: limits.into(),
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
    pub placement: Placement,
    pub store: Option<&'a str>,
    pub database_url: Option<&'a str>,
    pub store_version: Option<&'a str>,
    pub plan: &'a str,
}

impl<'a> NewTenant<'a> {
    /// A directory row for a tenant at `home`, stamped now.
    pub fn at(id: &'a TenantId, slug: &'a str, name: &'a str, home: &'a Home) -> Self {
        let now = crate::db::now();
        Self {
            id,
            slug,
            name,
            created_at: now,
            updated_at: now,
            placement: home.placement(),
            store: home.store_name(),
            database_url: home.server(),
            store_version: None,
            plan: super::plans::FALLBACK_PLAN,
        }
    }
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
#[derive(Clone)]
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
    /// The plan it starts on (`NEW_TENANT_PLAN`).
    pub plan: String,
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
        let Some(row) = tenants::table
            .filter(tenants::slug.eq(slug))
            .select(TenantRow::as_select())
            .first(self.conn)
            .optional()?
        else {
            return Ok(None);
        };
        let limits = super::plans::limits_of(self.conn, &row.id, &row.plan)?;
        row.into_tenant(limits).map(Some)
    }

    /// The limits of a tenant on `plan` without overrides (a new tenant's).
    fn plan_limits(&mut self, plan: &str) -> QueryResult<Limits> {
        let plan = super::plans::plan_or_fallback(self.conn, plan)?;
        Ok(super::plans::effective(&plan, &Default::default()))
    }

    /// Creates the organisation, its first admin and a hand-off token, all in this
    /// transaction: a failure at any step leaves nothing behind.
    pub fn create_organization(&mut self, new: &NewOrganization) -> QueryResult<SignupOutcome> {
        if self.find_tenant_by_slug(new.slug.as_str())?.is_some() {
            return Ok(SignupOutcome::SlugTaken);
        }
        let tenant_id = TenantId::generate();
        let limits = self.plan_limits(&new.plan)?;
        let mut row = NewTenant::at(&tenant_id, new.slug.as_str(), &new.name, &Home::Main);
        row.plan = &limits.plan;
        let inserted = diesel::insert_into(tenants::table)
            .values(row)
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
        let scope = TenantScope::new(tenant_id.clone(), Home::Main);
        let mut tx = self.enter(&scope)?;
        let handoff_token = tx.insert_first_admin(new)?;
        Ok(SignupOutcome::Created {
            tenant: Tenant {
                scope,
                slug: new.slug.clone(),
                name: new.name.clone(),
                limits: limits.into(),
            },
            handoff_token,
        })
    }

    /// Takes a spare store of `placement`, if one is ready (PostgreSQL only).
    fn take_spare(&mut self, placement: Placement) -> QueryResult<Option<String>> {
        let DbConnection::Postgresql(pg) = &mut *self.conn else {
            return Ok(None);
        };
        #[derive(QueryableByName)]
        struct Taken {
            #[diesel(sql_type = diesel::sql_types::Text)]
            name: String,
        }
        // SKIP LOCKED: two sign-ups at once take two different spares.
        let taken: Option<Taken> = diesel::sql_query(
            "DELETE FROM spare_stores WHERE name = (SELECT name FROM spare_stores \
               WHERE placement = $1 ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED) \
             RETURNING name",
        )
        .bind::<diesel::sql_types::Text, _>(placement.as_str())
        .get_result(pg)
        .optional()?;
        Ok(taken.map(|t| t.name))
    }

    /// How many spare stores of `placement` are ready.
    pub fn count_spares(&mut self, placement: Placement) -> QueryResult<i64> {
        spare_stores::table
            .filter(spare_stores::placement.eq(placement.as_str()))
            .count()
            .get_result(self.conn)
    }

    /// Records a tenant placed elsewhere in the directory, with its first admin's
    /// address in the finder's index, in one transaction. `false` when someone
    /// took the slug meanwhile.
    fn list_tenant_elsewhere(
        &mut self,
        tenant: &NewTenant<'_>,
        admin_email: &str,
    ) -> QueryResult<bool> {
        match diesel::insert_into(tenants::table)
            .values(tenant)
            .execute(self.conn)
        {
            Ok(_) => {}
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => return Ok(false),
            Err(e) => return Err(e),
        }
        diesel::insert_into(member_directory::table)
            .values((
                member_directory::email.eq(admin_email),
                member_directory::tenant_id.eq(tenant.id),
            ))
            .execute(self.conn)?;
        Ok(true)
    }
}

impl super::TenantTx<'_> {
    /// Adds the first admin and their hand-off token.
    fn insert_first_admin(&mut self, new: &NewOrganization) -> QueryResult<String> {
        let admin_id = self.insert_member(
            &new.admin_email,
            &new.admin_name,
            &new.admin_password_hash,
            Role::Admin,
        )?;
        self.issue_token(&admin_id, super::tokens::TokenPurpose::Handoff)
    }

    /// Writes the store's own copy of its tenant's directory row (which the
    /// tenant tables' keys reference).
    fn insert_home_row(&mut self, row: &NewTenant<'_>) -> QueryResult<()> {
        diesel::insert_into(tenants::table)
            .values(row)
            .execute(self.conn)?;
        Ok(())
    }
}

impl Db {
    /// Signs an organisation up into `placement`. A shared one is one transaction
    /// in the main database. Any other first gets a store (a spare made ahead, or
    /// a new one), writes the tenant's rows there, and then lists the tenant in
    /// the directory, which is what makes it exist: a failure before that leaves
    /// at most an unlisted store, which serves nobody and is removed.
    pub async fn create_organization(
        &self,
        new: NewOrganization,
        placement: Placement,
    ) -> DbResult<SignupOutcome> {
        if placement == Placement::Shared {
            return self.platform(move |tx| tx.create_organization(&new)).await;
        }
        let slug = new.slug.clone();
        if self
            .platform_read(move |tx| tx.find_tenant_by_slug(slug.as_str()))
            .await?
            .is_some()
        {
            return Ok(SignupOutcome::SlugTaken);
        }
        let tenant_id = TenantId::generate();
        let home = self.new_home(placement, &tenant_id).await?;
        let scope = TenantScope::new(tenant_id.clone(), home.clone());
        let version = super::migrate::latest_version(self.kind());
        let (store_scope, store_new, store_version) = (scope.clone(), new.clone(), version.clone());
        let written = self
            .with_home(&home, move |conn| {
                super::in_transaction(conn, super::TxMode::Write, |conn| {
                    let mut tx = super::TenantTx::enter(conn, &store_scope)?;
                    let mut row = NewTenant::at(
                        store_scope.tenant_id(),
                        store_new.slug.as_str(),
                        &store_new.name,
                        store_scope.home(),
                    );
                    row.store_version = Some(&store_version);
                    tx.insert_home_row(&row)?;
                    let token = tx.insert_first_admin(&store_new)?;
                    // The admin's address reaches the main index with the
                    // directory row below, in the same transaction.
                    tx.effects = Default::default();
                    Ok(token)
                })
            })
            .await;
        let handoff_token = match written {
            Ok(token) => token,
            Err(e) => {
                self.discard_home(home).await;
                return Err(e);
            }
        };
        let (dir_id, dir_home, dir_new) = (tenant_id.clone(), home.clone(), new.clone());
        let listed = self
            .platform(move |tx| {
                let limits = tx.plan_limits(&dir_new.plan)?;
                let mut row =
                    NewTenant::at(&dir_id, dir_new.slug.as_str(), &dir_new.name, &dir_home);
                row.store_version = Some(&version);
                row.plan = &limits.plan;
                let listed = tx.list_tenant_elsewhere(&row, dir_new.admin_email.as_str())?;
                Ok(listed.then_some(limits))
            })
            .await;
        match listed {
            Ok(Some(limits)) => Ok(SignupOutcome::Created {
                tenant: Tenant {
                    scope,
                    slug: new.slug,
                    name: new.name,
                    limits: limits.into(),
                },
                handoff_token,
            }),
            Ok(None) => {
                self.discard_home(home).await;
                Ok(SignupOutcome::SlugTaken)
            }
            Err(e) => {
                self.discard_home(home).await;
                Err(e)
            }
        }
    }

    /// A ready store for a new tenant: a spare if one is waiting, else a new one,
    /// created and migrated now.
    async fn new_home(&self, placement: Placement, tenant: &TenantId) -> DbResult<Home> {
        let layout = self.stores().layout().clone();
        let home_of = |name: StoreName| match placement {
            Placement::Schema => Home::Schema(name),
            _ => Home::Dedicated { name, server: None },
        };
        if self.kind() == DbKind::Postgres
            && let Some(name) = self.platform(move |tx| tx.take_spare(placement)).await?
        {
            self.stores().spares_wanted().notify_one();
            return StoreName::parse(&name)
                .map(home_of)
                .map_err(DbError::StoreUnavailable);
        }
        let home = home_of(layout.new_store_name(placement, Some(tenant)));
        let made = home.clone();
        crate::blocking::spawn_blocking_in_span(move || {
            create_home(&layout, &made)?;
            super::migrate::migrate_home(&layout, &made)?;
            Ok::<_, anyhow::Error>(())
        })
        .await
        .map_err(DbError::Task)?
        .map_err(|e| {
            DbError::StoreUnavailable(format!("could not make the tenant's store: {e:#}"))
        })?;
        Ok(home)
    }

    /// Removes a store no tenant was listed for (a sign-up that failed or lost
    /// its slug). A failure is logged: an unlisted store serves nobody.
    async fn discard_home(&self, home: Home) {
        let layout = self.stores().layout().clone();
        self.stores().forget(&home);
        let dropped =
            crate::blocking::spawn_blocking_in_span(move || drop_home(&layout, &home)).await;
        if let Ok(Err(e)) | Err(e) = dropped.map_err(anyhow::Error::new) {
            tracing::warn!(error = %format!("{e:#}"), "could not remove an unused tenant store");
        }
    }
}
