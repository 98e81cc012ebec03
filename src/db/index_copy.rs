//! What the main database indexes of tenants placed elsewhere.
//!
//! Three things about every tenant are read across tenants from the main
//! database: its name (the directory), its active members' addresses (`/find`),
//! and whether its mail is due (the mail worker). For a shared tenant they are
//! written in the tenant's own transaction. A tenant in a schema or database of
//! its own keeps the originals beside its rows, in its own transaction; a copy of
//! what changed is read in that transaction and written to the main database
//! right after commit, and every copy is redone when the server starts, so a
//! crash between the two leaves the main database behind only until then.
//!
//! The mail worker clears a tenant's `mail_due` hint only if nobody changed it
//! since the worker read it (its `stamp`), so a mail queued while the worker was
//! busy with that tenant keeps its hint.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{mail_due, mail_queue, member_directory, tenants};
use super::scope::{PlatformTx, TenantScope, TenantTx};
use super::{Db, DbResult, Home};
use crate::domain::{Placement, TenantId};

/// A directory row's placement, store name and given server.
type HomeColumns = (Placement, Option<String>, Option<String>);

/// What a tenant transaction changed that the main database indexes.
#[derive(Debug, Default)]
pub(super) struct Effects {
    /// An address was listed or unlisted in the finder's index.
    pub directory: bool,
    /// A mail was queued, due then.
    pub mail_due: Option<NaiveDateTime>,
    /// The organisation was renamed.
    pub renamed: Option<String>,
}

/// What the main database should hold of one tenant placed elsewhere.
#[derive(Debug)]
pub struct IndexCopy {
    /// Every active member's address, when the listing changed.
    directory: Option<Vec<String>>,
    /// `Some(Some(at))`: mail is due at `at`; `Some(None)`: none is queued;
    /// `None`: unchanged.
    mail_due: Option<Option<NaiveDateTime>>,
    /// The organisation's new name.
    renamed: Option<String>,
}

impl TenantTx<'_> {
    /// For a tenant outside the main database, reads what its changes mean for
    /// the main database's indexes (in this same transaction, so the copy matches
    /// what commits).
    pub(super) fn copy_for_main(&mut self) -> QueryResult<Option<IndexCopy>> {
        let effects = std::mem::take(&mut self.effects);
        if self.scope.home().is_main()
            || (!effects.directory && effects.mail_due.is_none() && effects.renamed.is_none())
        {
            return Ok(None);
        }
        let directory = if effects.directory {
            Some(self.listed_addresses()?)
        } else {
            None
        };
        Ok(Some(IndexCopy {
            directory,
            mail_due: effects.mail_due.map(Some),
            renamed: effects.renamed,
        }))
    }

    /// Everything the main database indexes of this tenant (start-up).
    pub(super) fn full_copy(&mut self) -> QueryResult<IndexCopy> {
        let name = tenants::table
            .filter(tenants::id.eq(self.scope.tenant_id()))
            .select(tenants::name)
            .first::<String>(self.conn)
            .optional()?;
        Ok(IndexCopy {
            directory: Some(self.listed_addresses()?),
            mail_due: Some(self.next_mail_due()?),
            renamed: name,
        })
    }

    /// When this tenant's next queued mail is due.
    pub(super) fn next_mail_due(&mut self) -> QueryResult<Option<NaiveDateTime>> {
        mail_queue::table
            .filter(mail_queue::tenant_id.eq(self.scope.tenant_id()))
            .select(diesel::dsl::min(mail_queue::due_at))
            .first(self.conn)
    }

    fn listed_addresses(&mut self) -> QueryResult<Vec<String>> {
        member_directory::table
            .filter(member_directory::tenant_id.eq(self.scope.tenant_id()))
            .select(member_directory::email)
            .order(member_directory::email.asc())
            .load(self.conn)
    }
}

/// A tenant placed elsewhere whose mail is due, as the main database's hint says.
#[derive(Debug)]
pub struct MailDue {
    /// The tenant.
    pub scope: TenantScope,
    /// The hint's stamp when read.
    stamp: String,
}

impl PlatformTx<'_> {
    /// Writes a tenant's copy into the main database's indexes.
    pub(super) fn apply_copy(&mut self, tenant: &TenantId, copy: &IndexCopy) -> QueryResult<()> {
        if let Some(addresses) = &copy.directory {
            diesel::delete(member_directory::table.filter(member_directory::tenant_id.eq(tenant)))
                .execute(self.conn)?;
            for email in addresses {
                diesel::insert_into(member_directory::table)
                    .values((
                        member_directory::email.eq(email),
                        member_directory::tenant_id.eq(tenant),
                    ))
                    .execute(self.conn)?;
            }
        }
        match copy.mail_due {
            None => {}
            Some(None) => {
                diesel::delete(mail_due::table.filter(mail_due::tenant_id.eq(tenant)))
                    .execute(self.conn)?;
            }
            Some(Some(at)) => self.hint_mail_due(tenant, at)?,
        }
        if let Some(name) = &copy.renamed {
            diesel::update(tenants::table.filter(tenants::id.eq(tenant)))
                .set((
                    tenants::name.eq(name),
                    tenants::updated_at.eq(crate::db::now()),
                ))
                .execute(self.conn)?;
        }
        Ok(())
    }

    /// Notes that a tenant's mail is due at `at` (or earlier, if it already was),
    /// with a new stamp.
    fn hint_mail_due(&mut self, tenant: &TenantId, at: NaiveDateTime) -> QueryResult<()> {
        let stamp = crate::secret::random_token(16);
        let existing: Option<NaiveDateTime> = mail_due::table
            .filter(mail_due::tenant_id.eq(tenant))
            .select(mail_due::due_at)
            .first(self.conn)
            .optional()?;
        match existing {
            Some(was) => {
                diesel::update(mail_due::table.filter(mail_due::tenant_id.eq(tenant)))
                    .set((mail_due::due_at.eq(was.min(at)), mail_due::stamp.eq(stamp)))
                    .execute(self.conn)?;
            }
            None => {
                diesel::insert_into(mail_due::table)
                    .values((
                        mail_due::tenant_id.eq(tenant),
                        mail_due::due_at.eq(at),
                        mail_due::stamp.eq(stamp),
                    ))
                    .execute(self.conn)?;
            }
        }
        Ok(())
    }

    /// Tenants placed elsewhere whose mail is due now, soonest first.
    pub fn mail_due_elsewhere(&mut self, limit: i64) -> QueryResult<Vec<MailDue>> {
        let rows: Vec<(TenantId, String, HomeColumns)> = mail_due::table
            .inner_join(tenants::table)
            .filter(mail_due::due_at.le(crate::db::now()))
            .order(mail_due::due_at.asc())
            .limit(limit)
            .select((
                tenants::id,
                mail_due::stamp,
                (tenants::placement, tenants::store, tenants::database_url),
            ))
            .load(self.conn)?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, stamp, (placement, store, server))| {
                let home =
                    Home::from_directory(placement, store.as_deref(), server.as_deref()).ok()?;
                Some(MailDue {
                    scope: TenantScope::new(id, home),
                    stamp,
                })
            })
            .collect())
    }

    /// After the worker's pass over a tenant: the hint moves to the tenant's next
    /// due mail (or goes), unless someone changed it meanwhile.
    fn settle_mail_due(&mut self, due: &MailDue, next: Option<NaiveDateTime>) -> QueryResult<()> {
        let hint = mail_due::table
            .filter(mail_due::tenant_id.eq(due.scope.tenant_id()))
            .filter(mail_due::stamp.eq(&due.stamp));
        match next {
            Some(at) => diesel::update(hint)
                .set(mail_due::due_at.eq(at))
                .execute(self.conn)?,
            None => diesel::delete(hint).execute(self.conn)?,
        };
        Ok(())
    }
}

impl Db {
    /// Writes a tenant's copy into the main database.
    pub(super) async fn publish(&self, scope: &TenantScope, copy: IndexCopy) -> DbResult<()> {
        let tenant = scope.tenant_id().clone();
        self.platform(move |tx| tx.apply_copy(&tenant, &copy)).await
    }

    /// Redoes every copy of a tenant placed elsewhere.
    pub async fn reconcile(&self, scope: &TenantScope) -> DbResult<()> {
        if scope.home().is_main() {
            return Ok(());
        }
        let copy = self.read(scope, |tx| tx.full_copy()).await?;
        self.publish(scope, copy).await
    }

    /// Moves a tenant's mail hint on after the worker's pass over its mail.
    pub async fn settle_mail_due(&self, due: MailDue) -> DbResult<()> {
        let next = self.read(&due.scope, |tx| tx.next_mail_due()).await?;
        self.platform(move |tx| tx.settle_mail_due(&due, next))
            .await
    }

    /// Puts a tenant's mail hint off (its database is not answering now).
    pub async fn postpone_mail_due(&self, due: MailDue, by: std::time::Duration) -> DbResult<()> {
        let at = crate::db::after(crate::db::now(), by);
        self.platform(move |tx| tx.settle_mail_due(&due, Some(at)))
            .await
    }
}

impl PlatformTx<'_> {
    /// Every tenant placed outside the main database.
    pub fn tenants_elsewhere(&mut self) -> QueryResult<Vec<TenantScope>> {
        let rows: Vec<(TenantId, Placement, Option<String>, Option<String>)> = tenants::table
            .filter(tenants::placement.ne(Placement::Shared))
            .select((
                tenants::id,
                tenants::placement,
                tenants::store,
                tenants::database_url,
            ))
            .load(self.conn)?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, placement, store, server)| {
                let home =
                    Home::from_directory(placement, store.as_deref(), server.as_deref()).ok()?;
                Some(TenantScope::new(id, home))
            })
            .collect())
    }
}
