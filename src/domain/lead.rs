//! Lead values: `LeadStatus`, the list's `LeadSort`, and money amounts.

use std::fmt;
use std::str::FromStr;

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Text;

use super::text_enum::text_enum;

/// Where a lead stands in the pipeline. Stored as its lowercase name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, AsExpression, FromSqlRow)]
#[diesel(sql_type = Text)]
pub enum LeadStatus {
    /// Just came in.
    New,
    /// Someone has reached out.
    Contacted,
    /// Worth pursuing.
    Qualified,
    /// An offer is out.
    Proposal,
    /// Closed, won.
    Won,
    /// Closed, lost.
    Lost,
}

impl LeadStatus {
    /// Every status, in pipeline order.
    pub const ALL: [LeadStatus; 6] = [
        LeadStatus::New,
        LeadStatus::Contacted,
        LeadStatus::Qualified,
        LeadStatus::Proposal,
        LeadStatus::Won,
        LeadStatus::Lost,
    ];

    /// The stored and submitted form.
    pub fn as_str(self) -> &'static str {
        match self {
            LeadStatus::New => "new",
            LeadStatus::Contacted => "contacted",
            LeadStatus::Qualified => "qualified",
            LeadStatus::Proposal => "proposal",
            LeadStatus::Won => "won",
            LeadStatus::Lost => "lost",
        }
    }

    /// Whether the lead still counts towards the open pipeline.
    pub fn is_open(self) -> bool {
        !matches!(self, LeadStatus::Won | LeadStatus::Lost)
    }
}

impl FromStr for LeadStatus {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        LeadStatus::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s))
            .ok_or("Choose one of new, contacted, qualified, proposal, won or lost.")
    }
}

impl<DB: Backend> ToSql<Text, DB> for LeadStatus
where
    str: ToSql<Text, DB>,
{
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, DB>) -> serialize::Result {
        self.as_str().to_sql(out)
    }
}

impl<DB: Backend> FromSql<Text, DB> for LeadStatus
where
    String: FromSql<Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> deserialize::Result<Self> {
        let s = String::from_sql(bytes)?;
        s.parse()
            .map_err(|_| format!("unknown lead status `{s}`").into())
    }
}

impl fmt::Display for LeadStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

text_enum! {
    /// What an entry of a lead's activity records. Each entry also keeps the
    /// lead's status at that moment.
    pub enum ActivityKind {
        /// A change of status (or, with no status before, the lead's creation).
        Status = "status",
        /// A note was added; the entry's detail is its opening.
        Note = "note",
        /// A task was added; the detail is its title and due date.
        Task = "task",
        /// A task was done; the detail is its title.
        TaskDone = "task_done",
        /// The owner changed; the detail names the new owner.
        Owner = "owner",
        /// A CSV import changed the lead; the detail says how.
        Import = "import",
    }
}

text_enum! {
    /// What a CSV import does with a row whose email is an existing lead's.
    pub enum OnDuplicate {
        /// Leaves the lead alone and does not import the row.
        Skip = "skip",
        /// Updates the lead from the row (blank cells keep the lead's value).
        Update = "update",
        /// Imports the row as another lead.
        Create = "create",
    }
}

impl OnDuplicate {
    /// Every choice, in the order the form offers them.
    pub const ALL: [OnDuplicate; 3] = [OnDuplicate::Skip, OnDuplicate::Update, OnDuplicate::Create];
}

/// Sort orders of the lead list. How each one orders rows is the data layer's
/// business (`db::leads::list`); here is only what it is called in a URL.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LeadSort {
    /// Most recently changed first (the default).
    #[default]
    Updated,
    /// Newest first.
    Created,
    /// By name, A to Z.
    Name,
    /// Highest value first.
    Value,
}

impl LeadSort {
    /// Every sort with its query value: the one table both directions read.
    const NAMES: [(LeadSort, &'static str); 4] = [
        (LeadSort::Updated, "updated"),
        (LeadSort::Created, "created"),
        (LeadSort::Name, "name"),
        (LeadSort::Value, "value"),
    ];

    /// Parses the `sort` query value; anything unknown is the default.
    pub fn parse(raw: &str) -> Self {
        Self::NAMES
            .into_iter()
            .find(|(_, name)| *name == raw)
            .map_or_else(LeadSort::default, |(sort, _)| sort)
    }

    /// The query value.
    pub fn as_str(self) -> &'static str {
        Self::NAMES
            .into_iter()
            .find(|(sort, _)| *sort == self)
            .map_or("updated", |(_, name)| name)
    }
}

/// Largest amount accepted, in minor units (9,999,999,999.99): more than any deal
/// is worth, and small enough that sums over a tenant's leads stay far inside
/// `i64` (it would take over 900,000 leads, each at this maximum, to overflow).
pub const MAX_MONEY_MINOR: i64 = 999_999_999_999;

/// Whether `whole` groups its digits with commas correctly (`1,250,000`), so that a
/// decimal comma (`1,5`) is refused rather than read as a thousands separator.
fn thousands_grouped(whole: &str) -> bool {
    let mut groups = whole.split(',');
    let first_ok = groups.next().is_some_and(|g| (1..=3).contains(&g.len()));
    first_ok && groups.all(|g| g.len() == 3)
}

/// Parses an amount in currency units (`1250.50`, `1250`, `1,250.5`) into minor
/// units (cents), exactly: no floating point. Blank is zero; negatives are refused;
/// commas are accepted only as thousands separators.
pub fn parse_money(raw: &str) -> Result<i64, &'static str> {
    const MSG: &str = "Enter an amount such as 1250.50 (at most two decimals).";
    let trimmed = raw.trim();
    let whole_part = trimmed.split('.').next().unwrap_or_default();
    if whole_part.contains(',') && !thousands_grouped(whole_part) {
        return Err(MSG);
    }
    if trimmed.split('.').skip(1).any(|f| f.contains(',')) {
        return Err(MSG);
    }
    let s: String = trimmed.chars().filter(|c| *c != ',').collect();
    if s.is_empty() {
        return Ok(0);
    }
    if s.starts_with('-') {
        return Err("Must not be negative.");
    }
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, f),
        None => (s.as_str(), ""),
    };
    if (whole.is_empty() && frac.is_empty())
        || frac.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || whole.len() > 13
    {
        return Err(MSG);
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| MSG)?
    };
    let cents: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().map_err(|_| MSG)? * 10,
        _ => frac.parse().map_err(|_| MSG)?,
    };
    let total = whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(cents))
        .ok_or(MSG)?;
    if total > MAX_MONEY_MINOR {
        return Err("That amount is too large.");
    }
    Ok(total)
}

/// Formats minor units as an amount that [`parse_money`] reads back: `1250.50`.
pub fn format_money(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Formats minor units for display, with thousands separators: `1,250.50`.
/// Takes a reference too, as templates pass one. Written digit by digit into
/// the page, with no string of its own: the lead list shows one per row, and the
/// formatting it replaced (four allocations each) was 7% of the list's work.
pub fn display_money(minor: impl std::borrow::Borrow<i64>) -> Money {
    Money(*minor.borrow())
}

/// An amount in minor units as the pages show it (see [`display_money`]).
#[derive(Clone, Copy, Debug)]
pub struct Money(i64);

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The longest: "-92,233,720,368,547,758.08", 26 bytes.
        let mut buf = [0u8; 32];
        let mut at = buf.len();
        let mut put = |b: u8| {
            at -= 1;
            buf[at] = b;
        };
        let abs = self.0.unsigned_abs();
        let (mut whole, cents) = (abs / 100, abs % 100);
        put(b'0' + (cents % 10) as u8);
        put(b'0' + (cents / 10) as u8);
        put(b'.');
        let mut digits = 0;
        loop {
            if digits > 0 && digits % 3 == 0 {
                put(b',');
            }
            put(b'0' + (whole % 10) as u8);
            digits += 1;
            whole /= 10;
            if whole == 0 {
                break;
            }
        }
        if self.0 < 0 {
            put(b'-');
        }
        // Only ASCII digits, separators and a sign were written.
        f.write_str(std::str::from_utf8(&buf[at..]).map_err(|_| fmt::Error)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip() {
        for s in LeadStatus::ALL {
            assert_eq!(s.as_str().parse::<LeadStatus>(), Ok(s));
        }
        assert!("open".parse::<LeadStatus>().is_err());
    }

    #[test]
    fn sorts_round_trip_and_unknown_sorts_fall_back_to_updated() {
        for (sort, _) in LeadSort::NAMES {
            assert_eq!(LeadSort::parse(sort.as_str()), sort);
        }
        assert_eq!(LeadSort::parse("value"), LeadSort::Value);
        assert_eq!(LeadSort::parse("drop table"), LeadSort::Updated);
    }

    #[test]
    fn money_parses_exactly() {
        assert_eq!(parse_money("1250.50"), Ok(125_050));
        assert_eq!(parse_money("1250.5"), Ok(125_050));
        assert_eq!(parse_money("1,250"), Ok(125_000));
        assert_eq!(parse_money("0.07"), Ok(7));
        assert_eq!(parse_money(".5"), Ok(50));
        assert_eq!(parse_money(""), Ok(0));
        assert_eq!(parse_money("0.29"), Ok(29)); // a float would give 28.999...
        assert_eq!(parse_money("1,250,000.5"), Ok(125_000_050));
        assert_eq!(parse_money("9999999999.99"), Ok(MAX_MONEY_MINOR));
        for bad in [
            "-1",
            "1.234",
            "abc",
            "1e5",
            ".",
            "1.2.3",
            "10000000000",
            "1,5",
            "1,50",
            "12,34,567",
            "1.5,0",
            ",5",
            "1_000",
        ] {
            assert!(parse_money(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn money_formats_and_reads_back() {
        for v in [0, 7, 50, 125_050, 10_000_000_001] {
            assert_eq!(parse_money(&format_money(v)), Ok(v));
        }
        assert_eq!(display_money(123_456_789).to_string(), "1,234,567.89");
        assert_eq!(display_money(5).to_string(), "0.05");
    }

    /// The thousands separators as the first version wrote them (from
    /// `format_money`'s text), against the digit-by-digit writer.
    #[test]
    fn money_displays_as_it_always_did() {
        fn grouped(minor: i64) -> String {
            let plain = format_money(minor);
            let (whole, frac) = plain.split_once('.').unwrap();
            let digits: Vec<char> = whole.chars().collect();
            let mut out = String::new();
            for (i, c) in digits.iter().enumerate() {
                if i > 0
                    && c.is_ascii_digit()
                    && (digits.len() - i) % 3 == 0
                    && digits[i - 1] != '-'
                {
                    out.push(',');
                }
                out.push(*c);
            }
            format!("{out}.{frac}")
        }
        let mut values = vec![i64::MIN, i64::MAX, -1, 0, 1];
        for p in 0..19 {
            let v = 10_i64.pow(p);
            values.extend([v - 1, v, v + 1, -v, -v + 1, 7 * v, -(7 * v) - 3]);
        }
        for v in values {
            assert_eq!(display_money(v).to_string(), grouped(v), "{v}");
        }
        assert_eq!(display_money(-123_456).to_string(), "-1,234.56");
        assert_eq!(display_money(-12_345).to_string(), "-123.45");
    }
}
