//! Claiming a due mail for one try: the one path that the tenant and the platform
//! outbox share, and the link a tenant mail gets when it is claimed.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Claim, OutgoingMail, TenantMail};
use crate::db::schema::{outbox, platform_outbox};
use crate::db::scope::{PlatformTx, TenantTx};
use crate::db::tokens::{TokenHash, TokenPurpose};
use crate::domain::{InviteId, MailPurpose, MailStatus, MemberId, OutboxId};

#[derive(Queryable, Selectable)]
#[diesel(table_name = outbox, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct OutboxRow {
    purpose: MailPurpose,
    invite_id: Option<InviteId>,
    user_id: Option<MemberId>,
    recipient: String,
    subject: String,
    body_text: String,
    body_html: String,
    link: Option<String>,
    status: MailStatus,
    attempts: i32,
}

/// A mail found pending, read from either outbox.
struct PendingMail {
    mail: OutgoingMail,
    attempts: i32,
    /// What a tenant mail's link is for (`None` for platform mail, or a tenant
    /// row that names no invite or member).
    link_for: Option<TenantMail>,
}

/// The two steps of a claim whose queries name their outbox table.
trait Outbox {
    /// The mail, if it is still pending.
    fn find_pending(&mut self, id: &OutboxId) -> QueryResult<Option<PendingMail>>;

    /// Takes one try of a mail seen with `seen` attempts: counts it and holds the
    /// mail back until `until`. `false` when another worker got there first.
    fn take_try(
        &mut self,
        id: &OutboxId,
        seen: i32,
        now: NaiveDateTime,
        until: NaiveDateTime,
    ) -> QueryResult<bool>;
}

/// Claims a due mail for one try: counts the attempt and pushes its due time out
/// by `lease` (so a crash mid-send retries later, and nobody else picks it up
/// meanwhile). Returns the mail and which try this is.
///
/// The claim is a conditional update on the attempt count of a mail that is still
/// pending and due, so of two workers that race for one mail (two instances), only
/// one gets it: the other finds the count changed or the due time moved.
fn claim_try(
    outbox: &mut impl Outbox,
    id: &OutboxId,
    lease: Duration,
) -> QueryResult<Option<(PendingMail, u32)>> {
    let Some(pending) = outbox.find_pending(id)? else {
        return Ok(None);
    };
    let now = crate::db::now();
    if !outbox.take_try(id, pending.attempts, now, crate::db::after(now, lease))? {
        return Ok(None);
    }
    let attempt = u32::try_from(pending.attempts.saturating_add(1)).unwrap_or(u32::MAX);
    Ok(Some((pending, attempt)))
}

impl Outbox for TenantTx<'_> {
    fn find_pending(&mut self, id: &OutboxId) -> QueryResult<Option<PendingMail>> {
        let row = self
            .scope
            .outbox()
            .filter(outbox::id.eq(id))
            .select(OutboxRow::as_select())
            .first(self.conn)
            .optional()?;
        let Some(row) = row.filter(|r| r.status == MailStatus::Pending) else {
            // Done with, or gone: the queue entry is stale.
            self.unqueue(id)?;
            return Ok(None);
        };
        let link_for = match (row.purpose, row.invite_id, row.user_id) {
            (MailPurpose::Invite, Some(invite), _) => Some(TenantMail::Invite(invite)),
            (MailPurpose::PasswordReset, _, Some(member)) => {
                Some(TenantMail::PasswordReset(member))
            }
            _ => None,
        };
        Ok(Some(PendingMail {
            mail: OutgoingMail {
                to: row.recipient,
                subject: row.subject,
                text: row.body_text,
                html: row.body_html,
                link: row.link,
            },
            attempts: row.attempts,
            link_for,
        }))
    }

    fn take_try(
        &mut self,
        id: &OutboxId,
        seen: i32,
        now: NaiveDateTime,
        until: NaiveDateTime,
    ) -> QueryResult<bool> {
        let claimed = diesel::update(
            self.scope
                .outbox()
                .filter(outbox::id.eq(id))
                .filter(outbox::status.eq(MailStatus::Pending))
                .filter(outbox::attempts.eq(seen))
                .filter(outbox::next_attempt_at.le(now)),
        )
        .set((
            outbox::attempts.eq(seen.saturating_add(1)),
            outbox::next_attempt_at.eq(until),
        ))
        .execute(self.conn)?;
        if claimed != 1 {
            return Ok(false);
        }
        self.reschedule(id, until)?;
        Ok(true)
    }
}

impl Outbox for PlatformTx<'_> {
    fn find_pending(&mut self, id: &OutboxId) -> QueryResult<Option<PendingMail>> {
        let row = platform_outbox::table
            .filter(platform_outbox::id.eq(id))
            .filter(platform_outbox::status.eq(MailStatus::Pending))
            .select((
                platform_outbox::recipient,
                platform_outbox::subject,
                platform_outbox::body_text,
                platform_outbox::body_html,
                platform_outbox::attempts,
            ))
            .first::<(String, String, String, String, i32)>(self.conn)
            .optional()?;
        Ok(row.map(|(to, subject, text, html, attempts)| PendingMail {
            mail: OutgoingMail {
                to,
                subject,
                text,
                html,
                link: None,
            },
            attempts,
            link_for: None,
        }))
    }

    fn take_try(
        &mut self,
        id: &OutboxId,
        seen: i32,
        now: NaiveDateTime,
        until: NaiveDateTime,
    ) -> QueryResult<bool> {
        let claimed = diesel::update(
            platform_outbox::table
                .filter(platform_outbox::id.eq(id))
                .filter(platform_outbox::status.eq(MailStatus::Pending))
                .filter(platform_outbox::attempts.eq(seen))
                .filter(platform_outbox::next_attempt_at.le(now)),
        )
        .set((
            platform_outbox::attempts.eq(seen.saturating_add(1)),
            platform_outbox::next_attempt_at.eq(until),
        ))
        .execute(self.conn)?;
        Ok(claimed == 1)
    }
}

impl TenantTx<'_> {
    /// Claims a due mail for one try (see [`claim_try`]) and gives its link the
    /// token that hashes to `link`: the invite's link is replaced, or a reset token
    /// is issued. An invite revoked or accepted meanwhile, or a member who left,
    /// cancels the mail instead.
    pub fn claim_mail(
        &mut self,
        id: &OutboxId,
        lease: Duration,
        link: &TokenHash,
    ) -> QueryResult<Claim> {
        let Some((pending, attempt)) = claim_try(self, id, lease)? else {
            return Ok(Claim::Nothing);
        };
        let linked = match &pending.link_for {
            Some(TenantMail::Invite(invite)) => self.set_invite_link(invite, link)?,
            Some(TenantMail::PasswordReset(member)) => match self.find_member(member)? {
                Some(m) if m.active => {
                    self.store_token(member, TokenPurpose::PasswordReset, link)?;
                    true
                }
                _ => false,
            },
            None => false,
        };
        if !linked {
            // Nobody is left to receive the link: nothing to say.
            self.finish_mail(id, MailStatus::Cancelled, None)?;
            return Ok(Claim::Nothing);
        }
        Ok(Claim::Ready {
            mail: pending.mail,
            attempt,
        })
    }
}

impl PlatformTx<'_> {
    /// Claims a due platform mail for one try (see [`claim_try`]); it carries no
    /// link.
    pub fn claim_platform_mail(&mut self, id: &OutboxId, lease: Duration) -> QueryResult<Claim> {
        Ok(match claim_try(self, id, lease)? {
            Some((pending, attempt)) => Claim::Ready {
                mail: pending.mail,
                attempt,
            },
            None => Claim::Nothing,
        })
    }
}
