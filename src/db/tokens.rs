//! Single-use tokens for links: the signup hand-off and password resets, and the
//! [`LinkToken`] that every link (invites too) is made of.
//!
//! The raw token goes into the link and is never stored; the table keeps its SHA-256,
//! a [`TokenHash`], which only a raw token can be turned into.
//! A token is looked up inside the tenant of the request, so a link is void on any
//! other tenant's host by construction.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::schema::auth_tokens;
use super::scope::TenantTx;
use crate::domain::{MemberId, TenantId, text_enum};
use crate::secret::{hash_token, random_token};

/// Random bytes in a token: 256 bits, well over the 128 the spec asks.
pub const TOKEN_BYTES: usize = 32;

/// What is stored of a link token: its SHA-256, hex.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenHash(String);

impl TokenHash {
    /// The hash of a raw token (to store it, or to look it up).
    pub fn of(raw: &str) -> Self {
        Self(hash_token(raw))
    }

    /// The hash as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A fresh link token: the raw value goes into one link, only its hash is stored.
/// No `Debug`, so the raw value cannot end up in a log line by accident.
pub struct LinkToken {
    raw: String,
    hash: TokenHash,
}

impl LinkToken {
    /// A new random token.
    pub fn mint() -> Self {
        let raw = random_token(TOKEN_BYTES);
        let hash = TokenHash::of(&raw);
        Self { raw, hash }
    }

    /// The raw token, for the link.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// Its hash, for the database.
    pub fn hash(&self) -> &TokenHash {
        &self.hash
    }

    /// The raw token, for the link, giving up the hash.
    pub fn into_raw(self) -> String {
        self.raw
    }
}

text_enum! {
    /// What a token is for; each kind has its own lifetime.
    pub enum TokenPurpose {
        /// Carries a new admin from the apex to their new host after signup.
        Handoff = "handoff",
        /// A password reset link.
        PasswordReset = "password_reset",
    }
}

impl TokenPurpose {
    /// How long a token of this kind stays valid.
    pub fn lifetime(self) -> Duration {
        match self {
            TokenPurpose::Handoff => Duration::minutes(2),
            TokenPurpose::PasswordReset => Duration::hours(1),
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = auth_tokens)]
struct NewToken<'a> {
    tenant_id: &'a TenantId,
    id: String,
    user_id: &'a MemberId,
    purpose: TokenPurpose,
    token_hash: &'a str,
    expires_at: NaiveDateTime,
    created_at: NaiveDateTime,
}

impl TenantTx<'_> {
    /// Issues a token for `member`; returns the raw token for the link.
    pub fn issue_token(&mut self, member: &MemberId, purpose: TokenPurpose) -> QueryResult<String> {
        let token = LinkToken::mint();
        self.store_token(member, purpose, token.hash())?;
        Ok(token.into_raw())
    }

    /// Stores a token minted elsewhere (the mail worker mints a reset link's token
    /// when it sends the mail), valid for its purpose's lifetime from now.
    pub fn store_token(
        &mut self,
        member: &MemberId,
        purpose: TokenPurpose,
        hash: &TokenHash,
    ) -> QueryResult<()> {
        let now = crate::db::now();
        let tenant_id = self.scope.tenant_id().clone();
        diesel::insert_into(auth_tokens::table)
            .values(NewToken {
                tenant_id: &tenant_id,
                id: uuid::Uuid::new_v4().to_string(),
                user_id: member,
                purpose,
                token_hash: hash.as_str(),
                expires_at: now + purpose.lifetime(),
                created_at: now,
            })
            .execute(self.conn)?;
        Ok(())
    }

    /// The id and member of a token that is of this tenant, of this purpose,
    /// unused and unexpired at `now`.
    fn find_usable_token(
        &mut self,
        raw: &str,
        purpose: TokenPurpose,
        now: NaiveDateTime,
    ) -> QueryResult<Option<(String, MemberId)>> {
        self.scope
            .auth_tokens()
            .filter(auth_tokens::token_hash.eq(TokenHash::of(raw).as_str()))
            .filter(auth_tokens::purpose.eq(purpose))
            .filter(auth_tokens::used_at.is_null())
            .filter(auth_tokens::expires_at.gt(now))
            .select((auth_tokens::id, auth_tokens::user_id))
            .first(self.conn)
            .optional()
    }

    /// Whether a token could be used now, without using it (to decide whether to
    /// show a form).
    pub fn token_is_valid(&mut self, raw: &str, purpose: TokenPurpose) -> QueryResult<bool> {
        let now = crate::db::now();
        Ok(self.find_usable_token(raw, purpose, now)?.is_some())
    }

    /// Uses a token: returns its member if the token is of this tenant, of this
    /// purpose, unused and unexpired, and the member is active; marks it and the
    /// member's other tokens of this purpose used. The `used_at IS NULL`
    /// condition on the update makes a race between two uses end with one winner.
    pub fn consume_token(
        &mut self,
        raw: &str,
        purpose: TokenPurpose,
    ) -> QueryResult<Option<MemberId>> {
        let now = crate::db::now();
        let Some((id, member)) = self.find_usable_token(raw, purpose, now)? else {
            return Ok(None);
        };
        let updated = diesel::update(
            self.scope
                .auth_tokens()
                .filter(auth_tokens::id.eq(&id))
                .filter(auth_tokens::used_at.is_null()),
        )
        .set(auth_tokens::used_at.eq(Some(now)))
        .execute(self.conn)?;
        if updated != 1 {
            return Ok(None);
        }
        // One use spends every outstanding link of this kind for the member (a
        // second reset mail, a retried one), and a member deactivated since the
        // mail went out cannot use it.
        diesel::update(
            self.scope
                .auth_tokens()
                .filter(auth_tokens::user_id.eq(&member))
                .filter(auth_tokens::purpose.eq(purpose))
                .filter(auth_tokens::used_at.is_null()),
        )
        .set(auth_tokens::used_at.eq(Some(now)))
        .execute(self.conn)?;
        match self.find_member(&member)? {
            Some(m) if m.active => Ok(Some(member)),
            _ => Ok(None),
        }
    }
}
