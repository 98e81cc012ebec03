//! `Role`: what a member may do in their organisation.

use std::fmt;
use std::str::FromStr;

use super::text_enum::text_enum;

text_enum! {
    /// A member's role. Admins may also manage the team and the organisation's
    /// settings. Stored (and submitted) as its lowercase name.
    pub enum Role {
        /// Full rights in the organisation.
        Admin = "admin",
        /// Works with companies and leads.
        Member = "member",
    }
}

impl FromStr for Role {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::from_stored(s).ok_or("Choose admin or member.")
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for r in [Role::Admin, Role::Member] {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert!("owner".parse::<Role>().is_err());
    }
}
