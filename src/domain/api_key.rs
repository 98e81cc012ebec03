//! API keys' vocabulary: what a key may do ([`KeyScope`]) and how long it may be
//! asked to live.

use super::text_enum::text_enum;

text_enum! {
    /// What a key may do: `read` keys only read; `write` keys also change.
    pub enum KeyScope {
        /// Reading only.
        Read = "read",
        /// Reading and changing.
        Write = "write",
    }
}

impl KeyScope {
    /// Both scopes, as the form offers them.
    pub const ALL: [KeyScope; 2] = [KeyScope::Read, KeyScope::Write];

    /// Whether a key of this scope may change data.
    pub fn may_write(self) -> bool {
        self == KeyScope::Write
    }
}

impl std::fmt::Display for KeyScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Shortest and longest life a key may be given, in days.
pub const KEY_DAYS: std::ops::RangeInclusive<i64> = 1..=365;

/// What every key starts with, so that a leaked one is recognisable (secret
/// scanners look for such prefixes).
pub const KEY_PREFIX: &str = "tnt_";

/// How many characters of a key are kept in the clear to tell keys apart:
/// `tnt_` and 8 of its random characters (48 bits: not enough to guess the rest).
pub const SHOWN_PREFIX_LEN: usize = 12;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_read_back_and_only_write_writes() {
        for scope in KeyScope::ALL {
            assert_eq!(KeyScope::from_stored(scope.as_str()), Some(scope));
        }
        assert!(KeyScope::Write.may_write());
        assert!(!KeyScope::Read.may_write());
        assert_eq!(KeyScope::from_stored("admin"), None);
    }
}
