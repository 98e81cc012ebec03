//! Invitations to join a tenant (the `invites` table).
//!
//! An invite has no link until its mail is sent: the mail worker mints the token
//! then and hands its hash to [`TenantTx::set_invite_link`]. The outbox therefore
//! never holds a raw token, and each mail sent voids the link of every earlier one.
//! The token is looked up inside the tenant of the request, so a link is void on any
//! other tenant's host by construction.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::dsl;
use diesel::prelude::*;

use super::outbox::{OutgoingMail, TenantMail};
use super::schema::{invites, outbox};
use super::scope::{TenantScope, TenantTx};
use super::tokens::TokenHash;
use crate::domain::{Email, InviteId, MailStatus, MemberId, Role, TenantId};

/// How long an invite link stays valid, counted from when its mail is sent (SPEC:
/// 7 days). The one copy: the invite's expiry and the mail's wording both use it.
pub const INVITE_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// The `token_hash` of an invite whose mail has not gone out yet. The column is
/// required and unique per tenant, so the marker carries the invite's id; it
/// contains a `:`, which no hex SHA-256 does, so no link can ever match it.
fn no_link_yet(id: &InviteId) -> String {
    format!("unsent:{id}")
}

/// When an invite made or mailed at `now` stops working.
fn expiry_from(now: NaiveDateTime) -> NaiveDateTime {
    super::after(now, INVITE_TTL)
}

/// An invite that can still be accepted, as the acceptance page shows it.
#[derive(Clone, Debug)]
pub struct OpenInvite {
    /// Its id.
    pub id: InviteId,
    /// The invited address.
    pub email: String,
    /// The role the new member gets.
    pub role: Role,
}

/// A not yet accepted, not revoked invite, for the team page.
#[derive(Clone, Debug)]
pub struct PendingInvite {
    /// Its id.
    pub id: InviteId,
    /// The invited address.
    pub email: String,
    /// The role offered.
    pub role: Role,
    /// When the link stops working.
    pub expires_at: NaiveDateTime,
    /// When the invite was made.
    pub created_at: NaiveDateTime,
    /// Status of its latest mail, if it has one.
    pub mail_status: Option<MailStatus>,
    /// Why the latest mail failed, if it did.
    pub mail_error: Option<String>,
}

/// Whether an address may be invited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InviteCheck {
    /// Nobody with that address here yet.
    Free,
    /// A member (active or not) already has it.
    AlreadyMember,
    /// An open invite to it exists.
    AlreadyInvited,
}

/// The outcome of accepting an invite.
#[derive(Debug)]
pub enum AcceptOutcome {
    /// The member was created.
    Accepted(MemberId),
    /// The link is unknown, used, revoked or expired.
    Invalid,
}

#[derive(Insertable)]
#[diesel(table_name = invites)]
struct NewInvite<'a> {
    tenant_id: &'a TenantId,
    id: &'a InviteId,
    email: &'a str,
    role: Role,
    token_hash: String,
    invited_by: &'a MemberId,
    expires_at: NaiveDateTime,
    created_at: NaiveDateTime,
}

/// This tenant's invites that are neither accepted nor revoked (expired ones
/// included: callers that care compare `expires_at`).
type OpenInvites = dsl::Filter<
    dsl::Filter<
        dsl::Filter<invites::table, dsl::Eq<invites::tenant_id, TenantId>>,
        dsl::IsNull<invites::accepted_at>,
    >,
    dsl::IsNull<invites::revoked_at>,
>;

impl TenantScope {
    fn open_invites(&self) -> OpenInvites {
        self.invites()
            .filter(invites::accepted_at.is_null())
            .filter(invites::revoked_at.is_null())
    }
}

impl TenantTx<'_> {
    /// Whether `email` is free to invite, a member already, or invited already.
    pub fn check_invitable(&mut self, email: &Email) -> QueryResult<InviteCheck> {
        if self.find_credentials_by_email(email)?.is_some() {
            return Ok(InviteCheck::AlreadyMember);
        }
        let now = crate::db::now();
        let open = self
            .scope
            .open_invites()
            .filter(invites::email.eq(email.as_str()))
            .filter(invites::expires_at.gt(now))
            .select(invites::id)
            .first::<InviteId>(self.conn)
            .optional()?;
        Ok(match open {
            Some(_) => InviteCheck::AlreadyInvited,
            None => InviteCheck::Free,
        })
    }

    /// Records an invite (call [`TenantTx::check_invitable`] first). It gets its
    /// link when its mail goes out; its expiry counts from now until then, so that
    /// the team page and [`TenantTx::check_invitable`] see it as open meanwhile.
    pub fn create_invite(
        &mut self,
        email: &Email,
        role: Role,
        invited_by: &MemberId,
    ) -> QueryResult<InviteId> {
        let now = crate::db::now();
        // Expired invites to the same address are superseded, so the team page
        // lists one invite per address.
        diesel::update(
            self.scope
                .open_invites()
                .filter(invites::email.eq(email.as_str())),
        )
        .set(invites::revoked_at.eq(Some(now)))
        .execute(self.conn)?;
        let id = InviteId::generate();
        let tenant_id = self.scope.tenant_id().clone();
        diesel::insert_into(invites::table)
            .values(NewInvite {
                tenant_id: &tenant_id,
                id: &id,
                email: email.as_str(),
                role,
                token_hash: no_link_yet(&id),
                invited_by,
                expires_at: expiry_from(now),
                created_at: now,
            })
            .execute(self.conn)?;
        Ok(id)
    }

    /// Invites not accepted and not revoked (expired ones included, marked by their
    /// date), newest first, each with the status of its latest mail.
    pub fn list_pending_invites(&mut self) -> QueryResult<Vec<PendingInvite>> {
        let rows = self
            .scope
            .open_invites()
            .order(invites::created_at.desc())
            .select((
                invites::id,
                invites::email,
                invites::role,
                invites::expires_at,
                invites::created_at,
            ))
            .load::<(InviteId, String, Role, NaiveDateTime, NaiveDateTime)>(self.conn)?;
        // The open invites again as a subquery, not as a list of their ids: a
        // workspace with many open invites would otherwise bind one variable each.
        let open_ids = self.scope.open_invites().select(invites::id);
        let mails = self
            .scope
            .outbox()
            .filter(outbox::invite_id.assume_not_null().eq_any(open_ids))
            .order(outbox::created_at.asc())
            .select((outbox::invite_id, outbox::status, outbox::last_error))
            .load::<(Option<InviteId>, MailStatus, Option<String>)>(self.conn)?;
        Ok(rows
            .into_iter()
            .map(|(id, email, role, expires_at, created_at)| {
                // The latest mail wins: they are ordered oldest first.
                let latest = mails
                    .iter()
                    .rev()
                    .find(|(invite, _, _)| invite.as_ref() == Some(&id));
                PendingInvite {
                    role,
                    mail_status: latest.map(|(_, status, _)| *status),
                    mail_error: latest.and_then(|(_, _, error)| error.clone()),
                    id,
                    email,
                    expires_at,
                    created_at,
                }
            })
            .collect())
    }

    /// An invite that is neither accepted nor revoked, by id (for resend).
    pub fn find_unaccepted_invite(&mut self, id: &InviteId) -> QueryResult<Option<OpenInvite>> {
        self.scope
            .open_invites()
            .filter(invites::id.eq(id))
            .select((invites::id, invites::email, invites::role))
            .first::<(InviteId, String, Role)>(self.conn)
            .optional()
            .map(|row| row.map(|(id, email, role)| OpenInvite { id, email, role }))
    }

    /// Revokes an open invite; `false` when there is no such open invite here.
    pub fn revoke_invite(&mut self, id: &InviteId) -> QueryResult<bool> {
        let now = crate::db::now();
        let updated = diesel::update(self.scope.open_invites().filter(invites::id.eq(id)))
            .set(invites::revoked_at.eq(Some(now)))
            .execute(self.conn)?;
        Ok(updated == 1)
    }

    /// Gives an open invite the link whose token hashes to `hash` and restarts its
    /// lifetime; the links of earlier mails stop working. `false` when the invite
    /// was accepted or revoked meanwhile.
    pub fn set_invite_link(&mut self, id: &InviteId, hash: &TokenHash) -> QueryResult<bool> {
        let now = crate::db::now();
        let updated = diesel::update(self.scope.open_invites().filter(invites::id.eq(id)))
            .set((
                invites::token_hash.eq(hash.as_str()),
                invites::expires_at.eq(expiry_from(now)),
            ))
            .execute(self.conn)?;
        Ok(updated == 1)
    }

    /// Queues `mail` for an open invite, first cancelling its unsent mails, so that
    /// only the newest mail's link will work. `false` (and nothing queued) when the
    /// invite is no longer open. Creating and resending an invite both end here.
    pub fn queue_invite_mail(&mut self, id: &InviteId, mail: &OutgoingMail) -> QueryResult<bool> {
        let open = self
            .scope
            .open_invites()
            .filter(invites::id.eq(id))
            .select(invites::id)
            .first::<InviteId>(self.conn)
            .optional()?;
        if open.is_none() {
            return Ok(false);
        }
        self.cancel_pending_invite_mails(id)?;
        self.enqueue_mail(&TenantMail::Invite(id.clone()), mail)?;
        Ok(true)
    }

    /// The open, unexpired invite that this link token belongs to, in this tenant.
    pub fn find_invite_by_token(&mut self, raw: &str) -> QueryResult<Option<OpenInvite>> {
        let now = crate::db::now();
        self.scope
            .open_invites()
            .filter(invites::token_hash.eq(TokenHash::of(raw).as_str()))
            .filter(invites::expires_at.gt(now))
            .select((invites::id, invites::email, invites::role))
            .first::<(InviteId, String, Role)>(self.conn)
            .optional()
            .map(|row| row.map(|(id, email, role)| OpenInvite { id, email, role }))
    }

    /// Accepts an invite: marks it accepted and creates the member, in this one
    /// transaction. The `accepted_at IS NULL` condition makes two racing uses end
    /// with one winner.
    pub fn accept_invite(
        &mut self,
        raw: &str,
        name: &str,
        password_hash: &str,
    ) -> QueryResult<AcceptOutcome> {
        let Some(invite) = self.find_invite_by_token(raw)? else {
            return Ok(AcceptOutcome::Invalid);
        };
        let email = match Email::parse(&invite.email) {
            Ok(email) => email,
            Err(_) => return Ok(AcceptOutcome::Invalid),
        };
        // Someone may have joined with this address since the invite was sent.
        if self.find_credentials_by_email(&email)?.is_some() {
            return Ok(AcceptOutcome::Invalid);
        }
        let now = crate::db::now();
        let updated = diesel::update(
            self.scope
                .invites()
                .filter(invites::id.eq(&invite.id))
                .filter(invites::accepted_at.is_null()),
        )
        .set(invites::accepted_at.eq(Some(now)))
        .execute(self.conn)?;
        if updated != 1 {
            return Ok(AcceptOutcome::Invalid);
        }
        let member = self.insert_member(&email, name, password_hash, invite.role)?;
        Ok(AcceptOutcome::Accepted(member))
    }
}
