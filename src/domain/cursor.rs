//! A keyset cursor over rows ordered newest first by `(created_at, id)`, as it
//! travels in a "show older" link: `{microseconds since 1970}.{id}`.

use chrono::NaiveDateTime;

/// Where an older page starts: rows strictly older than this one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Before {
    /// The last shown row's time.
    pub at: NaiveDateTime,
    /// The last shown row's id (ties on time are broken by id).
    pub id: String,
}

impl Before {
    /// The cursor after a row.
    pub fn after_row(at: NaiveDateTime, id: String) -> Self {
        Self { at, id }
    }

    /// Reads a cursor from a query value; anything else is refused.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let (micros, id) = raw.split_once('.').ok_or("not a cursor")?;
        let micros: i64 = micros.parse().map_err(|_| "not a cursor")?;
        let at = chrono::DateTime::from_timestamp_micros(micros)
            .ok_or("not a cursor")?
            .naive_utc();
        let id_ok = !id.is_empty()
            && id.len() <= 64
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !id_ok {
            return Err("not a cursor");
        }
        Ok(Self {
            at,
            id: id.to_owned(),
        })
    }

    /// The cursor as it goes into a link.
    pub fn to_query_value(&self) -> String {
        format!("{}.{}", self.at.and_utc().timestamp_micros(), self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_junk() {
        let at = chrono::DateTime::from_timestamp_micros(1_764_620_000_123_456)
            .unwrap()
            .naive_utc();
        let c = Before::after_row(at, "0f3c-9a".to_owned());
        assert_eq!(Before::parse(&c.to_query_value()), Ok(c));
        for bad in [
            "",
            "x.y",
            "12",
            "12.",
            "12.a b",
            "99999999999999999999.a",
            "1.'--",
        ] {
            assert!(Before::parse(bad).is_err(), "{bad}");
        }
    }
}
