//! API keys: made and revoked by admins on `/settings/api`, checked on every API
//! request in the request's own transaction (so a revoked key, and every access
//! token minted from it, stops working at once, on every instance).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{api_keys, users};
use super::scope::TenantTx;
use super::users::{Member, MemberRow};
use crate::domain::api_key::{KEY_PREFIX, SHOWN_PREFIX_LEN};
use crate::domain::{KeyScope, MemberId};

/// How often a key's last-used time is written, at most.
pub const LAST_USED_PRECISION: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// A key as admins see it (never the key itself).
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = api_keys, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct ApiKey {
    /// Internal id (the subject of the access tokens minted from it).
    pub id: String,
    /// What the admin called it.
    pub name: String,
    /// Its first characters, e.g. `tnt_AbCd1234`.
    pub prefix: String,
    /// Stored scope text; see [`ApiKey::scope`].
    #[diesel(column_name = scope)]
    pub scope_text: String,
    /// The member who made it, on whose behalf it acts.
    pub created_by: MemberId,
    /// When it was made.
    pub created_at: NaiveDateTime,
    /// When it stops working.
    pub expires_at: NaiveDateTime,
    /// When it was last used (to the minute).
    pub last_used_at: Option<NaiveDateTime>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<NaiveDateTime>,
}

impl ApiKey {
    /// What it may do (an unknown stored value may do nothing but read).
    pub fn scope(&self) -> KeyScope {
        KeyScope::from_stored(&self.scope_text).unwrap_or(KeyScope::Read)
    }

    /// Whether it works at `now`: not revoked, not expired.
    pub fn usable_at(&self, now: NaiveDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

/// A key that works, with the member it acts for.
#[derive(Clone, Debug)]
pub struct KeyHolder {
    /// The key.
    pub key: ApiKey,
    /// The member who made it.
    pub member: Member,
}

/// A key just made: the key itself, shown once, never stored.
pub struct NewKey {
    /// The stored part.
    pub key: ApiKey,
    /// `tnt_` and 43 characters of base64 (256 random bits).
    pub secret: String,
}

impl TenantTx<'_> {
    /// Makes a key for `member`.
    pub fn create_api_key(
        &mut self,
        name: &str,
        scope: KeyScope,
        expires_at: NaiveDateTime,
        member: &MemberId,
    ) -> QueryResult<NewKey> {
        let secret = format!("{KEY_PREFIX}{}", crate::secret::random_token(32));
        let key = ApiKey {
            id: uuid::Uuid::new_v4().to_string(),
            name: name.to_owned(),
            prefix: secret[..SHOWN_PREFIX_LEN].to_owned(),
            scope_text: scope.as_str().to_owned(),
            created_by: member.clone(),
            created_at: super::now(),
            expires_at,
            last_used_at: None,
            revoked_at: None,
        };
        diesel::insert_into(api_keys::table)
            .values((
                api_keys::tenant_id.eq(self.scope.tenant_id().clone()),
                api_keys::id.eq(&key.id),
                api_keys::name.eq(&key.name),
                api_keys::prefix.eq(&key.prefix),
                api_keys::key_hash.eq(crate::secret::hash_token(&secret)),
                api_keys::scope.eq(&key.scope_text),
                api_keys::created_by.eq(&key.created_by),
                api_keys::created_at.eq(key.created_at),
                api_keys::expires_at.eq(key.expires_at),
            ))
            .execute(self.conn)?;
        Ok(NewKey { key, secret })
    }

    /// Every key of the tenant, newest first.
    pub fn list_api_keys(&mut self) -> QueryResult<Vec<ApiKey>> {
        self.scope
            .api_keys()
            .order((api_keys::created_at.desc(), api_keys::id.desc()))
            .select(ApiKey::as_select())
            .load(self.conn)
    }

    /// Revokes the key `id`; `None` if the tenant has no such key, the key as it
    /// was otherwise (revoking twice changes nothing).
    pub fn revoke_api_key(&mut self, id: &str) -> QueryResult<Option<ApiKey>> {
        let Some(key) = self
            .scope
            .api_keys()
            .filter(api_keys::id.eq(id))
            .select(ApiKey::as_select())
            .first(self.conn)
            .optional()?
        else {
            return Ok(None);
        };
        diesel::update(
            self.scope
                .api_keys()
                .filter(api_keys::id.eq(id))
                .filter(api_keys::revoked_at.is_null()),
        )
        .set(api_keys::revoked_at.eq(super::now()))
        .execute(self.conn)?;
        Ok(Some(key))
    }

    /// The working key whose SHA-256 is `hash`, or (for an access token) whose
    /// id is `id`, with its member; `None` if there is none in this tenant, or it
    /// is revoked or expired, or its member is deactivated.
    pub fn usable_api_key(&mut self, by: KeyLookup<'_>) -> QueryResult<Option<KeyHolder>> {
        let query = self.scope.api_keys().inner_join(
            users::table.on(users::tenant_id
                .eq(api_keys::tenant_id)
                .and(users::id.eq(api_keys::created_by))),
        );
        let row = match by {
            KeyLookup::Hash(hash) => query
                .filter(api_keys::key_hash.eq(hash))
                .select((ApiKey::as_select(), MemberRow::as_select()))
                .first::<(ApiKey, MemberRow)>(self.conn)
                .optional()?,
            KeyLookup::Id(id) => query
                .filter(api_keys::id.eq(id))
                .select((ApiKey::as_select(), MemberRow::as_select()))
                .first::<(ApiKey, MemberRow)>(self.conn)
                .optional()?,
        };
        let now = super::now();
        Ok(row
            .map(|(key, member)| KeyHolder {
                key,
                member: Member::from(member),
            })
            .filter(|h| h.key.usable_at(now) && h.member.active))
    }

    /// Brings the key's last-used time up to date. `true` if this was the key's
    /// first use (it had never been used): only one request can find that.
    pub fn touch_api_key(&mut self, id: &str) -> QueryResult<bool> {
        let now = super::now();
        let first = diesel::update(
            self.scope
                .api_keys()
                .filter(api_keys::id.eq(id))
                .filter(api_keys::last_used_at.is_null()),
        )
        .set(api_keys::last_used_at.eq(now))
        .execute(self.conn)?;
        if first == 0 {
            diesel::update(
                self.scope
                    .api_keys()
                    .filter(api_keys::id.eq(id))
                    .filter(api_keys::last_used_at.lt(now - LAST_USED_PRECISION)),
            )
            .set(api_keys::last_used_at.eq(now))
            .execute(self.conn)?;
        }
        Ok(first == 1)
    }
}

/// How a request names its key.
#[derive(Clone, Copy, Debug)]
pub enum KeyLookup<'a> {
    /// The SHA-256 of the key itself (sent as the bearer token).
    Hash(&'a str),
    /// The key's id (the subject of an access token).
    Id(&'a str),
}
