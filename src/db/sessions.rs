//! Login sessions (the `sessions` table): one row per log-in, so that the server
//! can end a session. The cookie carries a random token; only its hash is here.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{sessions, users};
use super::scope::TenantTx;
use super::users::{Member, MemberRow};
use crate::domain::{MemberId, SessionId};

/// How often a session's last-seen time is written: reading a page is not worth a
/// write each time, and a minute is as precise as the sessions page needs.
pub const LAST_SEEN_PRECISION: std::time::Duration = std::time::Duration::from_secs(60);

/// A new session's facts.
pub struct NewSession<'a> {
    /// Who logged in.
    pub member: &'a MemberId,
    /// SHA-256 of the cookie's token.
    pub token_hash: &'a str,
    /// The browser's `User-Agent`, cut to a sane length.
    pub user_agent: &'a str,
    /// The client address (see the `client` module), or empty.
    pub client_addr: &'a str,
    /// When the session ends whatever happens.
    pub expires_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = sessions)]
struct SessionInsert<'a> {
    tenant_id: &'a crate::domain::TenantId,
    id: &'a SessionId,
    user_id: &'a MemberId,
    token_hash: &'a str,
    user_agent: &'a str,
    client_addr: &'a str,
    created_at: NaiveDateTime,
    last_seen_at: NaiveDateTime,
    expires_at: NaiveDateTime,
}

/// A session as the sessions page shows it.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = sessions, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct SessionInfo {
    /// Its id.
    pub id: SessionId,
    /// The browser's `User-Agent`.
    pub user_agent: String,
    /// The client address at log-in.
    pub client_addr: String,
    /// When it began.
    #[diesel(deserialize_as = super::stamp::Stamp)]
    pub created_at: NaiveDateTime,
    /// When it was last used (to [`LAST_SEEN_PRECISION`]).
    #[diesel(deserialize_as = super::stamp::Stamp)]
    pub last_seen_at: NaiveDateTime,
}

/// The member behind a live session.
#[derive(Clone, Debug)]
pub struct SessionMember {
    /// The session.
    pub session: SessionInfo,
    /// Its member (active or not: the caller decides).
    pub member: Member,
}

impl TenantTx<'_> {
    /// Records a log-in. Expired sessions of the same member are removed on the way.
    pub fn insert_session(&mut self, new: &NewSession<'_>) -> QueryResult<SessionId> {
        let now = super::now();
        diesel::delete(
            self.scope
                .sessions()
                .filter(sessions::user_id.eq(new.member))
                .filter(sessions::expires_at.le(now)),
        )
        .execute(self.conn)?;
        let id = SessionId::generate();
        diesel::insert_into(sessions::table)
            .values(SessionInsert {
                tenant_id: self.scope.tenant_id(),
                id: &id,
                user_id: new.member,
                token_hash: new.token_hash,
                user_agent: new.user_agent,
                client_addr: new.client_addr,
                created_at: now,
                last_seen_at: now,
                expires_at: new.expires_at,
            })
            .execute(self.conn)?;
        Ok(id)
    }

    /// The unexpired session with this token hash and its member, in one query.
    pub fn find_session_member(&mut self, token_hash: &str) -> QueryResult<Option<SessionMember>> {
        // On every page: on the backend's own connection (see `on_backend!`;
        // `as_select` names the backend, so the query is written in each arm).
        let query = self
            .scope
            .sessions()
            .filter(sessions::token_hash.eq(token_hash))
            .filter(sessions::expires_at.gt(super::now()))
            .inner_join(
                users::table.on(users::tenant_id
                    .eq(sessions::tenant_id)
                    .and(users::id.eq(sessions::user_id))),
            );
        let row = super::on_backend!(self.conn, |c| query
            .select((SessionInfo::as_select(), MemberRow::as_select()))
            .first::<(SessionInfo, MemberRow)>(c)
            .optional())?;
        Ok(row.map(|(session, member)| SessionMember {
            session,
            member: Member::from(member),
        }))
    }

    /// Moves a session's last-seen time to now.
    pub fn touch_session(&mut self, id: &SessionId) -> QueryResult<()> {
        diesel::update(self.scope.sessions().filter(sessions::id.eq(id)))
            .set(sessions::last_seen_at.eq(super::now()))
            .execute(self.conn)?;
        Ok(())
    }

    /// Ends the session with this token hash (log-out).
    pub fn delete_session_by_token(&mut self, token_hash: &str) -> QueryResult<usize> {
        diesel::delete(
            self.scope
                .sessions()
                .filter(sessions::token_hash.eq(token_hash)),
        )
        .execute(self.conn)
    }

    /// Ends every session of a member, but `keep` (password change, "log out
    /// everywhere else"); with `None`, all of them (reset, deactivation).
    pub fn delete_member_sessions(
        &mut self,
        member: &MemberId,
        keep: Option<&SessionId>,
    ) -> QueryResult<usize> {
        let mine = self.scope.sessions().filter(sessions::user_id.eq(member));
        match keep {
            Some(keep) => diesel::delete(mine.filter(sessions::id.ne(keep))).execute(self.conn),
            None => diesel::delete(mine).execute(self.conn),
        }
    }

    /// A member's live sessions, most recently used first.
    pub fn list_member_sessions(&mut self, member: &MemberId) -> QueryResult<Vec<SessionInfo>> {
        self.scope
            .sessions()
            .filter(sessions::user_id.eq(member))
            .filter(sessions::expires_at.gt(super::now()))
            .order(sessions::last_seen_at.desc())
            .select(SessionInfo::as_select())
            .load(self.conn)
    }
}
