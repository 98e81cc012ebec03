//! `Email`: a normalised email address.

use std::fmt;

use super::MAX_EMAIL_LEN;

/// An email address, trimmed and lowercased so that lookups are case-insensitive.
/// The check is deliberately modest (one `@`, a dotted domain, no spaces): the real
/// test of an address is the mail we send to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Parses user input, with a message fit to show beside the field.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let s = raw.trim().to_lowercase();
        if s.is_empty() {
            return Err("Please enter an email address.");
        }
        if s.chars().count() > MAX_EMAIL_LEN {
            return Err("Must be at most 254 characters.");
        }
        let valid = match s.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !s.chars().any(|c| c.is_whitespace() || c.is_control())
                    && !s.contains(['<', '>', ',', ';', '"', '(', ')', '[', ']', '\\'])
            }
            None => false,
        };
        if valid {
            Ok(Self(s))
        } else {
            Err("Please enter a valid email address.")
        }
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_and_accepts() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").map(|e| e.0),
            Ok("ada@example.com".into())
        );
        assert!(Email::parse("ünïcode@exämple.de").is_ok());
    }

    #[test]
    fn refuses_malformed() {
        for bad in [
            "",
            "ada",
            "ada@",
            "@x.com",
            "a@b",
            "a b@x.com",
            "a@x.com.",
            "a@@x.com",
            "x<y>@a.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long).is_err());
    }
}
