//! Timestamps read from SQLite without `strftime`-style parsing.
//!
//! SQLite stores a timestamp as the text Diesel wrote, `YYYY-MM-DD HH:MM:SS` with
//! up to nine digits of fraction. Diesel reads it back by trying chrono's
//! `parse_from_str` with each of 18 formats, which parses the format string as
//! well as the value: on the lead list (two timestamps a row, 50 rows) that was 5%
//! of the server's CPU. [`Stamp`] reads that one shape directly and hands
//! anything else to Diesel's own conversion, so what it accepts is unchanged.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::pg::Pg;
use diesel::sql_types::Timestamp;
use diesel::sqlite::{Sqlite, SqliteType};

/// A `Timestamp` column read as a `NaiveDateTime`: for `#[diesel(deserialize_as =
/// Stamp)]` on a struct's `NaiveDateTime` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromSqlRow)]
pub struct Stamp(pub NaiveDateTime);

impl From<Stamp> for NaiveDateTime {
    fn from(s: Stamp) -> Self {
        s.0
    }
}

/// `YYYY-MM-DD HH:MM:SS[.f]` (1 to 9 digits of fraction), or `None`.
fn parse(text: &str) -> Option<NaiveDateTime> {
    let b = text.as_bytes();
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let nanos = match &b[19..] {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            let n = num(20..b.len())?;
            n * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?;
    let time = NaiveTime::from_hms_nano_opt(num(11..13)?, num(14..16)?, num(17..19)?, nanos)?;
    Some(date.and_time(time))
}

impl FromSql<Timestamp, Sqlite> for Stamp {
    fn from_sql(mut value: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        if value.value_type() == Some(SqliteType::Text) {
            if let Some(t) = parse(value.read_text()) {
                return Ok(Stamp(t));
            }
        }
        <NaiveDateTime as FromSql<Timestamp, Sqlite>>::from_sql(value).map(Stamp)
    }
}

impl FromSql<Timestamp, Pg> for Stamp {
    fn from_sql(value: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, Pg>>::from_sql(value).map(Stamp)
    }
}

impl FromSql<Timestamp, super::DbBackend> for Stamp {
    fn from_sql(value: <super::DbBackend as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        value.from_sql::<Self, Timestamp>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every shape Diesel writes, and what chrono makes of it.
    #[test]
    fn reads_what_chrono_reads() {
        for text in [
            "2026-12-04 18:09:44",
            "2026-12-04 18:09:44.1",
            "2026-12-04 18:09:44.123456",
            "2026-12-04 18:09:44.123456789",
            "2000-02-29 00:00:00.000001",
            "2999-12-31 23:59:59.999999",
        ] {
            let chrono = NaiveDateTime::parse_from_str(text, "%F %T%.f").unwrap();
            assert_eq!(parse(text), Some(chrono), "{text}");
        }
    }

    /// Anything else is left to Diesel's own conversion.
    #[test]
    fn leaves_other_shapes_alone() {
        for text in [
            "",
            "2026-12-04T18:09:44",
            "2026-12-04 18:09",
            "2026-12-04 18:09:44Z",
            "2026-12-04 18:09:44.",
            "2026-12-04 18:09:44.1234567890",
            "2026-02-30 18:09:44",
            "2026-12-04 24:09:44",
            "2026-1x-04 18:09:44",
            "2460650.5",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }
}
