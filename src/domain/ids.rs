//! Id newtypes. Ids are random UUIDs made in Rust, so no global sequence leaks the
//! number of tenants or users, and no backend-specific `RETURNING` is needed.
//! Leads and companies also have a per-tenant number, the id their URLs show; it
//! is a newtype too, so a lead's number cannot be passed where a company's goes.

use std::fmt;
use std::num::ParseIntError;
use std::str::FromStr;

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::{BigInt, Text};
use serde::Deserialize;

macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, AsExpression, FromSqlRow)]
        #[diesel(sql_type = Text)]
        pub struct $name(String);

        impl $name {
            /// A new random id.
            pub fn generate() -> Self {
                Self(uuid::Uuid::new_v4().to_string())
            }

            /// Wraps an id read from a trusted place (the session, a URL already
            /// checked against the scope).
            pub fn from_string(s: String) -> Self {
                Self(s)
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<DB: Backend> ToSql<Text, DB> for $name
        where
            str: ToSql<Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
                self.0.as_str().to_sql(out)
            }
        }

        impl<DB: Backend> FromSql<Text, DB> for $name
        where
            String: FromSql<Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                String::from_sql(bytes).map(Self)
            }
        }
    };
}

text_id!(
    /// An organisation's internal id. Never shown in a URL.
    TenantId
);
text_id!(
    /// A member's id within their organisation.
    MemberId
);
text_id!(
    /// An invitation's id within its organisation.
    InviteId
);
text_id!(
    /// A login session's id (the cookie carries a token, never this id).
    SessionId
);
text_id!(
    /// An outgoing mail's id (tenant outbox or platform outbox).
    OutboxId
);
text_id!(
    /// A company's internal id; URLs use its per-tenant number instead.
    CompanyId
);
text_id!(
    /// A lead's internal id; URLs use its per-tenant number instead.
    LeadId
);
text_id!(
    /// A note's internal id.
    NoteId
);
text_id!(
    /// A task's id; its URLs use it, checked against the tenant's scope.
    TaskId
);

macro_rules! number_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, AsExpression, FromSqlRow,
            Deserialize,
        )]
        #[diesel(sql_type = BigInt)]
        // A path segment or query value deserializes as the bare number.
        #[serde(transparent)]
        pub struct $name(i64);

        impl $name {
            /// Wraps a number read from a trusted place (a row, a count).
            pub const fn new(n: i64) -> Self {
                Self(n)
            }

            /// The number itself (for logs).
            pub const fn get(self) -> i64 {
                self.0
            }

            /// The number after this one, as the next row of the tenant gets.
            pub const fn next(self) -> Self {
                Self(self.0 + 1)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = ParseIntError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }

        impl<DB: Backend> ToSql<BigInt, DB> for $name
        where
            i64: ToSql<BigInt, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
                <i64 as ToSql<BigInt, DB>>::to_sql(&self.0, out)
            }
        }

        impl<DB: Backend> FromSql<BigInt, DB> for $name
        where
            i64: FromSql<BigInt, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
                i64::from_sql(bytes).map(Self)
            }
        }
    };
}

number_id!(
    /// A lead's number within its tenant: `/leads/{number}`.
    LeadNumber
);
number_id!(
    /// A company's number within its tenant: `/companies/{number}`.
    CompanyNumber
);
