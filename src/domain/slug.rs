//! `Slug`: the subdomain that names a tenant.

use std::fmt;

/// Words that can never be a workspace's subdomain: they name our own hosts or could
/// be mistaken for them in a phishing mail.
const RESERVED: &[&str] = &[
    "www",
    "app",
    "api",
    "admin",
    "administrator",
    "mail",
    "email",
    "smtp",
    "imap",
    "pop",
    "static",
    "assets",
    "cdn",
    "media",
    "files",
    "help",
    "support",
    "status",
    "login",
    "logout",
    "signin",
    "signup",
    "register",
    "auth",
    "oauth",
    "sso",
    "account",
    "accounts",
    "billing",
    "dashboard",
    "docs",
    "blog",
    "dev",
    "staging",
    "test",
    "demo",
    "root",
    "system",
    "internal",
    "security",
    "tenantry",
    "ftp",
    "ns1",
    "ns2",
    "localhost",
    "healthz",
];

/// A tenant's subdomain: 3 to 40 characters of `a-z`, `0-9` and `-`, no leading or
/// trailing `-`, not a reserved word. Always lowercase.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Slug(String);

/// Why a string is not a valid slug; the message is shown beside the form field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SlugError {
    /// Fewer than 3 or more than 40 characters.
    #[error("Use 3 to 40 characters.")]
    Length,
    /// Something other than a-z, 0-9 and hyphens.
    #[error("Use only lowercase letters, digits and hyphens.")]
    Characters,
    /// Starts or ends with a hyphen.
    #[error("Must not start or end with a hyphen.")]
    Hyphen,
    /// One of our own host names.
    #[error("That subdomain is reserved. Please choose another.")]
    Reserved,
}

impl Slug {
    /// Parses user input; trims it and compares case-insensitively, as hosts do.
    pub fn parse(raw: &str) -> Result<Self, SlugError> {
        let s = raw.trim().to_ascii_lowercase();
        if s.len() < 3 || s.len() > 40 {
            return Err(SlugError::Length);
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(SlugError::Characters);
        }
        if s.starts_with('-') || s.ends_with('-') {
            return Err(SlugError::Hyphen);
        }
        if RESERVED.contains(&s.as_str()) {
            return Err(SlugError::Reserved);
        }
        Ok(Self(s))
    }

    /// The slug as stored and shown.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A slug reads as the text it is (hosts, links, cache keys).
impl std::ops::Deref for Slug {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_good_slugs() {
        for ok in [
            "acme",
            "a-b",
            "abc",
            "team42",
            "x".repeat(40).as_str(),
            "ACME",
        ] {
            assert!(Slug::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(Slug::parse(" Acme-Co ").map(|s| s.0), Ok("acme-co".into()));
    }

    #[test]
    fn refuses_bad_slugs() {
        assert_eq!(Slug::parse("ab"), Err(SlugError::Length));
        assert_eq!(Slug::parse(&"x".repeat(41)), Err(SlugError::Length));
        assert_eq!(Slug::parse("-abc"), Err(SlugError::Hyphen));
        assert_eq!(Slug::parse("abc-"), Err(SlugError::Hyphen));
        assert_eq!(Slug::parse("a_bc"), Err(SlugError::Characters));
        assert_eq!(Slug::parse("a.bc"), Err(SlugError::Characters));
        assert_eq!(Slug::parse("abç"), Err(SlugError::Characters));
        assert_eq!(Slug::parse("www"), Err(SlugError::Reserved));
        assert_eq!(Slug::parse("Admin"), Err(SlugError::Reserved));
    }
}
