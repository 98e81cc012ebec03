//! The mail outbox: mail is written here in the transaction that caused it, and the
//! mail worker (the `mail` module) delivers it with retries.
//!
//! Tenant mail lives in `outbox`, a tenant table under row-level security. The
//! worker finds due jobs through `mail_queue`, which holds only tenant id, outbox
//! id and due time; each job therefore names its tenant, and the worker reads and
//! updates the mail inside that tenant's scope. Mail that belongs to no tenant
//! (the workspace finder's list) lives in `platform_outbox`.
//!
//! A mail with a link is stored as the mail module composed it, with a placeholder
//! where the token goes. When a tenant mail is claimed for a try, the worker hands
//! in the hash of a token it has just minted, and the claim stores it where the
//! mail's purpose looks for it (the invite, or a new reset token): a raw token is
//! never stored, and a retried or resent mail voids the links of earlier ones.
//! The tenant and the platform outbox share one claim path (`claim`); only the
//! queries that name their table differ.

mod claim;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::Home;
use super::schema::{mail_queue, outbox, platform_outbox};
use super::scope::{PlatformTx, TenantScope, TenantTx};
use crate::domain::{InviteId, MailPurpose, MailStatus, MemberId, OutboxId, TenantId};

/// Longest failure reason kept on a mail.
const MAX_ERROR_LEN: usize = 500;

/// A rendered mail, ready to queue or to send. A queued mail's bodies and link may
/// hold the mail module's token placeholder; this layer stores them as given.
#[derive(Clone, Debug)]
pub struct OutgoingMail {
    /// Recipient address.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
    /// The link the mail carries (logged when mail goes to files in development).
    pub link: Option<String>,
}

/// Which tenant mail this is, with the row its link is for.
#[derive(Clone, Debug)]
pub enum TenantMail {
    /// An invite; sending the mail gives the invite its link.
    Invite(InviteId),
    /// A password reset for a member; sending the mail issues a reset token.
    PasswordReset(MemberId),
}

impl TenantMail {
    fn purpose(&self) -> MailPurpose {
        match self {
            TenantMail::Invite(_) => MailPurpose::Invite,
            TenantMail::PasswordReset(_) => MailPurpose::PasswordReset,
        }
    }
}

/// One due mail, in the outbox it lives in.
#[derive(Clone, Debug)]
pub enum MailJob {
    /// A mail in a tenant's outbox, read and updated inside that tenant's scope.
    Tenant {
        /// The tenant whose outbox holds the mail.
        scope: TenantScope,
        /// The mail's id.
        id: OutboxId,
    },
    /// A mail in the platform outbox (the workspace finder's list).
    Platform {
        /// The mail's id.
        id: OutboxId,
    },
}

impl MailJob {
    /// The mail's id, in whichever outbox.
    pub fn id(&self) -> &OutboxId {
        match self {
            MailJob::Tenant { id, .. } | MailJob::Platform { id } => id,
        }
    }
}

/// What claiming a job found.
#[derive(Debug)]
pub enum Claim {
    /// Send this; it is the `attempt`-th try.
    Ready {
        /// The mail as queued (a placeholder where a link's token goes).
        mail: OutgoingMail,
        /// 1 for the first try.
        attempt: u32,
    },
    /// Nothing to send (already done, or its invite was revoked or accepted).
    Nothing,
}

/// The result of one delivery try.
#[derive(Debug)]
pub enum Delivery {
    /// Handed to the relay.
    Sent,
    /// Failed; try again at this time.
    RetryAt(NaiveDateTime, String),
    /// Failed for the last time.
    Failed(String),
}

#[derive(Insertable)]
#[diesel(table_name = outbox)]
struct NewOutboxRow<'a> {
    tenant_id: &'a TenantId,
    id: &'a OutboxId,
    purpose: MailPurpose,
    invite_id: Option<&'a InviteId>,
    user_id: Option<&'a MemberId>,
    recipient: &'a str,
    subject: &'a str,
    body_text: &'a str,
    body_html: &'a str,
    link: Option<&'a str>,
    status: MailStatus,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = platform_outbox)]
struct NewPlatformRow<'a> {
    id: &'a OutboxId,
    recipient: &'a str,
    subject: &'a str,
    body_text: &'a str,
    body_html: &'a str,
    status: MailStatus,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    created_at: NaiveDateTime,
}

fn truncate(reason: &str) -> String {
    reason.chars().take(MAX_ERROR_LEN).collect()
}

impl TenantTx<'_> {
    /// Queues a mail in this tenant's outbox, due now.
    pub fn enqueue_mail(
        &mut self,
        about: &TenantMail,
        mail: &OutgoingMail,
    ) -> QueryResult<OutboxId> {
        let now = crate::db::now();
        let id = OutboxId::generate();
        let tenant_id = self.scope.tenant_id().clone();
        let (invite_id, user_id) = match about {
            TenantMail::Invite(invite) => (Some(invite), None),
            TenantMail::PasswordReset(member) => (None, Some(member)),
        };
        diesel::insert_into(outbox::table)
            .values(NewOutboxRow {
                tenant_id: &tenant_id,
                id: &id,
                purpose: about.purpose(),
                invite_id,
                user_id,
                recipient: &mail.to,
                subject: &mail.subject,
                body_text: &mail.text,
                body_html: &mail.html,
                link: mail.link.as_deref(),
                status: MailStatus::Pending,
                attempts: 0,
                next_attempt_at: now,
                created_at: now,
            })
            .execute(self.conn)?;
        diesel::insert_into(mail_queue::table)
            .values((
                mail_queue::tenant_id.eq(&tenant_id),
                mail_queue::outbox_id.eq(&id),
                mail_queue::due_at.eq(now),
            ))
            .execute(self.conn)?;
        self.effects.mail_due = Some(now);
        Ok(id)
    }

    /// Up to `limit` of this tenant's due jobs, oldest first: the worker's pass
    /// over a tenant whose queue is in a store of its own.
    pub fn due_mail_jobs_here(&mut self, limit: i64) -> QueryResult<Vec<MailJob>> {
        let ids: Vec<OutboxId> = mail_queue::table
            .filter(mail_queue::tenant_id.eq(self.scope.tenant_id()))
            .filter(mail_queue::due_at.le(crate::db::now()))
            .order(mail_queue::due_at.asc())
            .limit(limit)
            .select(mail_queue::outbox_id)
            .load(self.conn)?;
        Ok(ids
            .into_iter()
            .map(|id| MailJob::Tenant {
                scope: self.scope.clone(),
                id,
            })
            .collect())
    }

    /// Cancels the not yet delivered mails of an invite (before a resend, so that
    /// only the newest mail's link is live).
    pub fn cancel_pending_invite_mails(&mut self, invite: &InviteId) -> QueryResult<()> {
        let pending = self
            .scope
            .outbox()
            .filter(outbox::invite_id.eq(invite))
            .filter(outbox::status.eq(MailStatus::Pending))
            .select(outbox::id)
            .load::<OutboxId>(self.conn)?;
        for id in pending {
            self.finish_mail(&id, MailStatus::Cancelled, None)?;
        }
        Ok(())
    }

    /// Records how a try went.
    pub fn record_delivery(&mut self, id: &OutboxId, delivery: &Delivery) -> QueryResult<()> {
        match delivery {
            Delivery::Sent => self.finish_mail(id, MailStatus::Sent, None),
            Delivery::Failed(reason) => self.finish_mail(id, MailStatus::Failed, Some(reason)),
            Delivery::RetryAt(at, reason) => {
                diesel::update(self.scope.outbox().filter(outbox::id.eq(id)))
                    .set((
                        outbox::next_attempt_at.eq(at),
                        outbox::last_error.eq(Some(truncate(reason))),
                    ))
                    .execute(self.conn)?;
                self.reschedule(id, *at)
            }
        }
    }

    fn finish_mail(
        &mut self,
        id: &OutboxId,
        status: MailStatus,
        reason: Option<&str>,
    ) -> QueryResult<()> {
        let now = crate::db::now();
        let sent_at = (status == MailStatus::Sent).then_some(now);
        diesel::update(self.scope.outbox().filter(outbox::id.eq(id)))
            .set((
                outbox::status.eq(status),
                outbox::sent_at.eq(sent_at),
                outbox::last_error.eq(reason.map(truncate)),
            ))
            .execute(self.conn)?;
        self.unqueue(id)
    }

    fn reschedule(&mut self, id: &OutboxId, at: NaiveDateTime) -> QueryResult<()> {
        diesel::update(
            mail_queue::table
                .filter(mail_queue::tenant_id.eq(self.scope.tenant_id()))
                .filter(mail_queue::outbox_id.eq(id)),
        )
        .set(mail_queue::due_at.eq(at))
        .execute(self.conn)?;
        Ok(())
    }

    fn unqueue(&mut self, id: &OutboxId) -> QueryResult<()> {
        diesel::delete(
            mail_queue::table
                .filter(mail_queue::tenant_id.eq(self.scope.tenant_id()))
                .filter(mail_queue::outbox_id.eq(id)),
        )
        .execute(self.conn)?;
        Ok(())
    }
}

impl PlatformTx<'_> {
    /// Queues a mail that belongs to no tenant, due now.
    pub fn enqueue_platform_mail(&mut self, mail: &OutgoingMail) -> QueryResult<OutboxId> {
        let now = crate::db::now();
        let id = OutboxId::generate();
        diesel::insert_into(platform_outbox::table)
            .values(NewPlatformRow {
                id: &id,
                recipient: &mail.to,
                subject: &mail.subject,
                body_text: &mail.text,
                body_html: &mail.html,
                status: MailStatus::Pending,
                attempts: 0,
                next_attempt_at: now,
                created_at: now,
            })
            .execute(self.conn)?;
        Ok(id)
    }

    /// Up to `limit` due jobs, each naming its tenant (or none for platform mail).
    /// Tenants take turns: each tenant's oldest due mail first, then each one's
    /// second, and so on, so one tenant's backlog (a big invite round) delays
    /// another tenant's password reset by one batch at most, not by the backlog.
    pub fn due_mail_jobs(&mut self, limit: i64) -> QueryResult<Vec<MailJob>> {
        #[derive(QueryableByName)]
        struct Due {
            #[diesel(sql_type = diesel::sql_types::Text)]
            tenant_id: TenantId,
            #[diesel(sql_type = diesel::sql_types::Text)]
            outbox_id: OutboxId,
        }
        // `$1`-style parameters read as positional on both engines.
        // Only tenants that live here: a tenant placed elsewhere has its queue in
        // its own store (see `index_copy`).
        const FAIR_DUE: &str = "SELECT tenant_id, outbox_id FROM ( \
                SELECT q.tenant_id, q.outbox_id, q.due_at, \
                       ROW_NUMBER() OVER (PARTITION BY q.tenant_id ORDER BY q.due_at) AS turn \
                FROM mail_queue q JOIN tenants t ON t.id = q.tenant_id \
                WHERE q.due_at <= $1 AND t.placement = 'shared') AS due \
             ORDER BY turn, due_at LIMIT $2";
        let now = crate::db::now();
        let query = diesel::sql_query(FAIR_DUE)
            .bind::<diesel::sql_types::Timestamp, _>(now)
            .bind::<diesel::sql_types::BigInt, _>(limit);
        let due: Vec<Due> = match &mut *self.conn {
            super::DbConnection::Postgresql(c) => query.load(c)?,
            super::DbConnection::Sqlite(c) => query.load(c)?,
        };
        let tenant_jobs: Vec<(TenantId, OutboxId)> = due
            .into_iter()
            .map(|d| (d.tenant_id, d.outbox_id))
            .collect();
        let platform_jobs = platform_outbox::table
            .filter(platform_outbox::status.eq(MailStatus::Pending))
            .filter(platform_outbox::next_attempt_at.le(now))
            .order(platform_outbox::next_attempt_at.asc())
            .limit(limit)
            .select(platform_outbox::id)
            .load::<OutboxId>(self.conn)?;
        Ok(tenant_jobs
            .into_iter()
            .map(|(tenant, id)| MailJob::Tenant {
                scope: TenantScope::new(tenant, Home::Main),
                id,
            })
            .chain(platform_jobs.into_iter().map(|id| MailJob::Platform { id }))
            .collect())
    }

    /// Records how a try of a platform mail went. A delivered one is deleted: it
    /// names workspaces, and nobody needs it any more.
    pub fn record_platform_delivery(
        &mut self,
        id: &OutboxId,
        delivery: &Delivery,
    ) -> QueryResult<()> {
        let row = platform_outbox::table.filter(platform_outbox::id.eq(id));
        match delivery {
            Delivery::Sent => {
                diesel::delete(row).execute(self.conn)?;
            }
            Delivery::Failed(reason) => {
                // Nobody can resend a finder mail, and its body names the workspaces
                // of one address: keep the failure, not the personal data.
                diesel::update(row)
                    .set((
                        platform_outbox::status.eq(MailStatus::Failed),
                        platform_outbox::last_error.eq(Some(truncate(reason))),
                        platform_outbox::recipient.eq(""),
                        platform_outbox::body_text.eq(""),
                        platform_outbox::body_html.eq(""),
                    ))
                    .execute(self.conn)?;
            }
            Delivery::RetryAt(at, reason) => {
                diesel::update(row)
                    .set((
                        platform_outbox::next_attempt_at.eq(at),
                        platform_outbox::last_error.eq(Some(truncate(reason))),
                    ))
                    .execute(self.conn)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::tenants::{NewOrganization, SignupOutcome};
    use crate::db::{Db, run_migrations};
    use crate::domain::{Email, Slug};

    async fn organization(db: &Db, slug: &str) -> TenantScope {
        let new = NewOrganization {
            name: slug.to_owned(),
            slug: Slug::parse(slug).unwrap(),
            admin_name: "Admin".to_owned(),
            admin_email: Email::parse(&format!("admin@{slug}.test")).unwrap(),
            admin_password_hash: "not a real hash".to_owned(),
            plan: "free".to_owned(),
        };
        match db
            .platform(move |tx| tx.create_organization(&new))
            .await
            .unwrap()
        {
            SignupOutcome::Created { tenant, .. } => tenant.scope,
            SignupOutcome::SlugTaken => panic!("taken"),
        }
    }

    fn mail(to: &str) -> OutgoingMail {
        OutgoingMail {
            to: to.to_owned(),
            subject: "s".to_owned(),
            text: "t".to_owned(),
            html: "h".to_owned(),
            link: None,
        }
    }

    #[tokio::test]
    async fn one_tenants_backlog_does_not_hold_back_another_tenants_mail() {
        let dir = tempfile::tempdir().unwrap();
        let url = crate::config::DatabaseUrl::sqlite_file(&dir.path().join("t.db"));
        run_migrations(&url).unwrap();
        let mut config = crate::config::Config::local(url.clone(), url, dir.path());
        config.pool_size = 2;
        let db = Db::connect(&config).unwrap();
        let busy = organization(&db, "busy").await;
        let quiet = organization(&db, "quiet").await;
        let member = |scope: &TenantScope| {
            let scope = scope.clone();
            let db = db.clone();
            async move {
                db.read(&scope, |tx| tx.list_members()).await.unwrap()[0]
                    .id
                    .clone()
            }
        };
        let busy_admin = member(&busy).await;
        let quiet_admin = member(&quiet).await;
        // The busy tenant queues a backlog first; the quiet one's reset comes last.
        db.write(&busy, move |tx| {
            for i in 0..40 {
                tx.enqueue_mail(
                    &TenantMail::PasswordReset(busy_admin.clone()),
                    &mail(&format!("p{i}@busy.test")),
                )?;
            }
            Ok(())
        })
        .await
        .unwrap();
        db.write(&quiet, move |tx| {
            tx.enqueue_mail(
                &TenantMail::PasswordReset(quiet_admin),
                &mail("admin@quiet.test"),
            )
        })
        .await
        .unwrap();

        let first = db.platform_read(|tx| tx.due_mail_jobs(4)).await.unwrap();

        assert!(
            first
                .iter()
                .any(|job| matches!(job, MailJob::Tenant { scope, .. } if *scope == quiet)),
            "the quiet tenant's mail is in the first batch"
        );
    }
}
