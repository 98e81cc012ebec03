//! `Placement`: how far a tenant's data lives from other tenants'.

use std::fmt;
use std::str::FromStr;

use super::text_enum::text_enum;

text_enum! {
    /// Where a tenant's rows live. Every placement keeps the same pages, ids and
    /// rules; they differ in what the tenant shares with others.
    pub enum Placement {
        /// The main database, beside other tenants' rows.
        Shared = "shared",
        /// A schema of its own in the main PostgreSQL database.
        Schema = "schema",
        /// A database (or SQLite file) of its own.
        Dedicated = "dedicated",
    }
}

text_enum! {
    /// Whether a tenant's writes may go to the store that holds this state.
    pub enum WriteState {
        /// Writes go here.
        Open = "open",
        /// The tenant is being moved: writes wait (503), reads go on.
        Paused = "paused",
        /// The tenant lives elsewhere now: nothing is written here.
        Moved = "moved",
    }
}

impl Placement {
    /// Every placement, in order of distance from the others.
    pub const ALL: [Placement; 3] = [Placement::Shared, Placement::Schema, Placement::Dedicated];

    /// What the placement means, in a sentence a customer would understand.
    pub fn explain(self) -> &'static str {
        match self {
            Placement::Shared => {
                "Your data sits in the same database as other workspaces, each row marked as yours and walled off by the database itself; the least costly, and plenty for most teams."
            }
            Placement::Schema => {
                "Your data has its own set of tables inside our main database server: nothing of yours shares a table with anyone else's."
            }
            Placement::Dedicated => {
                "Your data has a database of its own, which can run on a server of its own: backed up, restored, located and sized for you alone."
            }
        }
    }
}

impl FromStr for Placement {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Placement::from_stored(s).ok_or("use shared, schema or dedicated")
    }
}

impl serde::Serialize for Placement {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl fmt::Display for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for p in Placement::ALL {
            assert_eq!(p.as_str().parse::<Placement>(), Ok(p));
        }
        assert!("sharded".parse::<Placement>().is_err());
    }
}
