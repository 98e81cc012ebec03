//! The mail outbox: mail is written here in the transaction that caused it, and the
//! worker in `crate::mail` delivers it with retries.
//!
//! Tenant mail lives in `outbox`, a tenant table under row-level security. The
//! worker finds due jobs through `mail_queue`, which holds only tenant id, outbox
//! id and due time; each job therefore names its tenant, and the worker reads and
//! updates the mail inside that tenant's scope. Mail that belongs to no tenant
//! (the workspace finder's list) lives in `platform_outbox`.
//!
//! A mail with a link has [`TOKEN_PLACEHOLDER`] where the link's token goes. The
//! token is minted when the mail is claimed for sending, so a raw token is never
//! stored, and a retried or resent mail carries a fresh one.

use std::time::Duration;

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use super::schema::{mail_queue, outbox, platform_outbox};
use super::scope::{PlatformTx, TenantScope, TenantTx};
use crate::db::tokens::TokenPurpose;
use crate::domain::{InviteId, MemberId, OutboxId, TenantId};

/// Stands for the link token in a queued mail's bodies and link.
pub const TOKEN_PLACEHOLDER: &str = "TENANTRY-LINK-TOKEN";
/// Longest failure reason kept on a mail.
const MAX_ERROR_LEN: usize = 500;

/// A rendered mail, ready to queue or to send.
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

/// What a tenant mail is for; decides which token is minted at send time.
#[derive(Clone, Debug)]
pub enum MailPurpose {
    /// An invite; its token is rotated when the mail is sent.
    Invite(InviteId),
    /// A password reset for a member; a reset token is issued when the mail is sent.
    PasswordReset(MemberId),
}

/// One due mail: which tenant it belongs to (none for platform mail) and its id.
#[derive(Clone, Debug)]
pub struct MailJob {
    /// The tenant whose outbox holds the mail; `None` for the platform outbox.
    pub scope: Option<TenantScope>,
    /// The mail's id.
    pub id: OutboxId,
}

/// What claiming a job found.
#[derive(Debug)]
pub enum Claim {
    /// Send this; it is the `attempt`-th try.
    Ready {
        /// The mail with its token in place.
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
    purpose: &'static str,
    invite_id: Option<&'a InviteId>,
    user_id: Option<&'a MemberId>,
    recipient: &'a str,
    subject: &'a str,
    body_text: &'a str,
    body_html: &'a str,
    link: Option<&'a str>,
    status: &'static str,
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
    status: &'static str,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = outbox, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct OutboxRow {
    purpose: String,
    invite_id: Option<InviteId>,
    user_id: Option<MemberId>,
    recipient: String,
    subject: String,
    body_text: String,
    body_html: String,
    link: Option<String>,
    status: String,
    attempts: i32,
}

fn truncate(reason: &str) -> String {
    reason.chars().take(MAX_ERROR_LEN).collect()
}

impl TenantTx<'_> {
    /// Queues a mail in this tenant's outbox, due now.
    pub fn enqueue_mail(
        &mut self,
        purpose: &MailPurpose,
        mail: &OutgoingMail,
    ) -> QueryResult<OutboxId> {
        let now = Utc::now().naive_utc();
        let id = OutboxId::generate();
        let tenant_id = self.scope.tenant_id().clone();
        let (name, invite_id, user_id) = match purpose {
            MailPurpose::Invite(invite) => ("invite", Some(invite), None),
            MailPurpose::PasswordReset(member) => ("password_reset", None, Some(member)),
        };
        diesel::insert_into(outbox::table)
            .values(NewOutboxRow {
                tenant_id: &tenant_id,
                id: &id,
                purpose: name,
                invite_id,
                user_id,
                recipient: &mail.to,
                subject: &mail.subject,
                body_text: &mail.text,
                body_html: &mail.html,
                link: mail.link.as_deref(),
                status: "pending",
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
        Ok(id)
    }

    /// Cancels the not yet delivered mails of an invite (before a resend, so that
    /// only the newest mail's link is live).
    pub fn cancel_pending_invite_mails(&mut self, invite: &InviteId) -> QueryResult<()> {
        let pending = self
            .scope
            .outbox()
            .filter(outbox::invite_id.eq(invite))
            .filter(outbox::status.eq("pending"))
            .select(outbox::id)
            .load::<OutboxId>(self.conn)?;
        for id in pending {
            self.finish_mail(&id, "cancelled", None)?;
        }
        Ok(())
    }

    /// Claims a due mail for one try: counts the attempt, pushes its due time out by
    /// `lease` (so a crash mid-send retries later, and nobody else picks it up
    /// meanwhile), and mints the link token its purpose needs.
    ///
    /// The claim is a conditional update on the attempt count of a mail that is
    /// still due, so of two workers that race for one mail (two instances), only
    /// one gets it: the other finds the count changed or the due time moved.
    pub fn claim_mail(
        &mut self,
        id: &OutboxId,
        lease: Duration,
        invite_ttl: Duration,
    ) -> QueryResult<Claim> {
        let now = Utc::now().naive_utc();
        let row = self
            .scope
            .outbox()
            .filter(outbox::id.eq(id))
            .select(OutboxRow::as_select())
            .first(self.conn)
            .optional()?;
        let Some(row) = row.filter(|r| r.status == "pending") else {
            self.unqueue(id)?;
            return Ok(Claim::Nothing);
        };
        let attempt = row.attempts.saturating_add(1);
        let claimed = diesel::update(
            self.scope
                .outbox()
                .filter(outbox::id.eq(id))
                .filter(outbox::status.eq("pending"))
                .filter(outbox::attempts.eq(row.attempts))
                .filter(outbox::next_attempt_at.le(now)),
        )
        .set((
            outbox::attempts.eq(attempt),
            outbox::next_attempt_at.eq(super::after(now, lease)),
        ))
        .execute(self.conn)?;
        if claimed != 1 {
            return Ok(Claim::Nothing);
        }
        self.reschedule(id, super::after(now, lease))?;
        let token = match (row.purpose.as_str(), &row.invite_id, &row.user_id) {
            ("invite", Some(invite), _) => self.rotate_invite_token(invite, invite_ttl)?,
            ("password_reset", _, Some(member)) => match self.find_member(member)? {
                Some(m) if m.active => Some(self.issue_token(member, TokenPurpose::PasswordReset)?),
                _ => None,
            },
            _ => None,
        };
        let Some(token) = token else {
            // The invite was revoked or accepted, or the member left: nothing to say.
            self.finish_mail(id, "cancelled", None)?;
            return Ok(Claim::Nothing);
        };
        Ok(Claim::Ready {
            mail: OutgoingMail {
                to: row.recipient,
                subject: row.subject,
                text: row.body_text.replace(TOKEN_PLACEHOLDER, &token),
                html: row.body_html.replace(TOKEN_PLACEHOLDER, &token),
                link: row.link.map(|l| l.replace(TOKEN_PLACEHOLDER, &token)),
            },
            attempt: u32::try_from(attempt).unwrap_or(u32::MAX),
        })
    }

    /// Records how a try went.
    pub fn record_delivery(&mut self, id: &OutboxId, delivery: &Delivery) -> QueryResult<()> {
        match delivery {
            Delivery::Sent => self.finish_mail(id, "sent", None),
            Delivery::Failed(reason) => self.finish_mail(id, "failed", Some(reason)),
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
        status: &str,
        reason: Option<&str>,
    ) -> QueryResult<()> {
        let now = Utc::now().naive_utc();
        let sent_at = (status == "sent").then_some(now);
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
        let now = Utc::now().naive_utc();
        let id = OutboxId::generate();
        diesel::insert_into(platform_outbox::table)
            .values(NewPlatformRow {
                id: &id,
                recipient: &mail.to,
                subject: &mail.subject,
                body_text: &mail.text,
                body_html: &mail.html,
                status: "pending",
                attempts: 0,
                next_attempt_at: now,
                created_at: now,
            })
            .execute(self.conn)?;
        Ok(id)
    }

    /// Up to `limit` due jobs, each naming its tenant (or none for platform mail).
    pub fn due_mail_jobs(&mut self, limit: i64) -> QueryResult<Vec<MailJob>> {
        let now = Utc::now().naive_utc();
        let tenant_jobs = mail_queue::table
            .filter(mail_queue::due_at.le(now))
            .order(mail_queue::due_at.asc())
            .limit(limit)
            .select((mail_queue::tenant_id, mail_queue::outbox_id))
            .load::<(TenantId, OutboxId)>(self.conn)?;
        let platform_jobs = platform_outbox::table
            .filter(platform_outbox::status.eq("pending"))
            .filter(platform_outbox::next_attempt_at.le(now))
            .order(platform_outbox::next_attempt_at.asc())
            .limit(limit)
            .select(platform_outbox::id)
            .load::<OutboxId>(self.conn)?;
        Ok(tenant_jobs
            .into_iter()
            .map(|(tenant, id)| MailJob {
                scope: Some(TenantScope::new(tenant)),
                id,
            })
            .chain(
                platform_jobs
                    .into_iter()
                    .map(|id| MailJob { scope: None, id }),
            )
            .collect())
    }

    /// Claims a due platform mail for one try (see [`TenantTx::claim_mail`]).
    pub fn claim_platform_mail(&mut self, id: &OutboxId, lease: Duration) -> QueryResult<Claim> {
        let row = platform_outbox::table
            .filter(platform_outbox::id.eq(id))
            .filter(platform_outbox::status.eq("pending"))
            .select((
                platform_outbox::recipient,
                platform_outbox::subject,
                platform_outbox::body_text,
                platform_outbox::body_html,
                platform_outbox::attempts,
            ))
            .first::<(String, String, String, String, i32)>(self.conn)
            .optional()?;
        let Some((to, subject, text, html, attempts)) = row else {
            return Ok(Claim::Nothing);
        };
        let now = Utc::now().naive_utc();
        let attempt = attempts.saturating_add(1);
        let claimed = diesel::update(
            platform_outbox::table
                .filter(platform_outbox::id.eq(id))
                .filter(platform_outbox::status.eq("pending"))
                .filter(platform_outbox::attempts.eq(attempts))
                .filter(platform_outbox::next_attempt_at.le(now)),
        )
        .set((
            platform_outbox::attempts.eq(attempt),
            platform_outbox::next_attempt_at.eq(super::after(now, lease)),
        ))
        .execute(self.conn)?;
        if claimed != 1 {
            return Ok(Claim::Nothing);
        }
        Ok(Claim::Ready {
            mail: OutgoingMail {
                to,
                subject,
                text,
                html,
                link: None,
            },
            attempt: u32::try_from(attempt).unwrap_or(u32::MAX),
        })
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
                        platform_outbox::status.eq("failed"),
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
