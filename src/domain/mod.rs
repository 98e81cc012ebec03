//! Validated value types. A value of these types has passed its rules, so code that
//! receives one never checks again ("parse, don't validate").

pub mod api_key;
mod audit;
mod cursor;
mod email;
mod ids;
mod lead;
mod limits;
mod mail;
mod placement;
mod role;
mod slug;
pub mod spreadsheet;
mod text_enum;

pub use api_key::KeyScope;
pub use audit::{Actor, ActorKind, AuditAction, RequestMeta};
pub use cursor::Before;
pub use email::Email;
pub use ids::{
    CompanyId, InviteId, LeadId, MemberId, NoteId, OutboxId, SessionId, TaskId, TenantId,
};
pub use lead::{
    ActivityKind, LeadStatus, MAX_MONEY_MINOR, OnDuplicate, display_money, format_money,
    parse_money,
};
pub use limits::{Limits, Quota, QuotaHit, group_thousands};
pub use mail::{MailPurpose, MailStatus};
pub use placement::{Placement, WriteState};
pub use role::Role;
pub use slug::{Slug, SlugError};
pub(crate) use text_enum::text_enum;

pub mod forms;
pub use ids::{CompanyNumber, LeadNumber};
pub use lead::LeadSort;

/// Longest name or title a user may enter (SPEC: "names and titles at most 200").
pub const MAX_NAME_LEN: usize = 200;
/// Longest email address (RFC 5321 path limit, as SPEC says).
pub const MAX_EMAIL_LEN: usize = 254;
/// Longest note body (SPEC: "notes at most 10,000").
pub const MAX_NOTE_LEN: usize = 10_000;
/// Longest phone number or lead source we keep.
pub const MAX_SHORT_TEXT_LEN: usize = 200;

/// Trims an optional short text field (phone, source, domain): at most
/// [`MAX_SHORT_TEXT_LEN`] characters, no control characters; blank is allowed.
pub fn parse_optional_text(raw: &str) -> Result<String, &'static str> {
    let s = raw.trim();
    if s.chars().count() > MAX_SHORT_TEXT_LEN {
        Err("Must be at most 200 characters.")
    } else if s.chars().any(char::is_control) {
        Err("Must not contain control characters.")
    } else {
        Ok(s.to_owned())
    }
}

/// Shortest password we accept.
pub const MIN_PASSWORD_LEN: usize = 8;
/// Longest password we hash; argon2 accepts more, but a megabyte "password" is a DoS.
pub const MAX_PASSWORD_LEN: usize = 256;

/// Trims and checks a human name or title: not blank, at most [`MAX_NAME_LEN`] characters.
pub fn parse_name(raw: &str) -> Result<String, &'static str> {
    let name = raw.trim();
    if name.is_empty() {
        Err("Please enter a name.")
    } else if name.chars().count() > MAX_NAME_LEN {
        Err("Must be at most 200 characters.")
    } else if name.chars().any(char::is_control) {
        Err("Must not contain control characters.")
    } else {
        Ok(name.to_owned())
    }
}

/// Checks a new password's length; the hash itself is made in `auth::password`.
pub fn check_new_password(raw: &str) -> Result<(), &'static str> {
    let len = raw.chars().count();
    if len < MIN_PASSWORD_LEN {
        Err("Use at least 8 characters.")
    } else if len > MAX_PASSWORD_LEN {
        Err("Use at most 256 characters.")
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(parse_name("  Ada  "), Ok("Ada".to_owned()));
        assert!(parse_name("   ").is_err());
        assert!(parse_name(&"é".repeat(200)).is_ok());
        assert!(parse_name(&"é".repeat(201)).is_err());
        assert!(parse_name("a\u{0}b").is_err());
    }

    #[test]
    fn passwords_have_bounds() {
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("long enough").is_ok());
        assert!(check_new_password(&"x".repeat(257)).is_err());
    }
}
