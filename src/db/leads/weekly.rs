//! Leads created per week, for the dashboard's chart.
//!
//! One `COUNT(*)` per week over a range of `leads_by_created` (`tenant_id`,
//! `created_at`, `number`): each is an index-only range scan on both backends,
//! so the whole chart reads only the index entries of the weeks it shows and
//! sends back twelve numbers. A single `GROUP BY` would need a week expression
//! of each backend's own (`date_trunc` on PostgreSQL, `strftime` arithmetic on
//! the text SQLite stores), and loading the timestamps to bucket them here would
//! move every one of them (tens of thousands at 100,000 leads) over the
//! connection for the same answer.

use chrono::{Days, NaiveDate, NaiveDateTime, NaiveTime};
use diesel::prelude::*;

use crate::db::schema::leads;
use crate::db::scope::TenantTx;

/// Most weeks one call counts, whatever the caller asks for: the chart's twelve
/// with room to spare, and a bound on the queries one page sends.
pub const MAX_WEEKS: u32 = 53;

impl TenantTx<'_> {
    /// How many leads were created in each of `weeks` consecutive weeks, the
    /// first starting at midnight (UTC) of `first`: one `(start, count)` per
    /// week, oldest first, a week without leads as zero. `weeks` is capped at
    /// [`MAX_WEEKS`]; weeks past the last date chrono knows are left off.
    pub fn leads_created_per_week(
        &mut self,
        first: NaiveDate,
        weeks: u32,
    ) -> QueryResult<Vec<(NaiveDate, i64)>> {
        let starts: Vec<NaiveDate> = (0..=u64::from(weeks.min(MAX_WEEKS)))
            .map_while(|i| first.checked_add_days(Days::new(i * 7)))
            .collect();
        starts
            .windows(2)
            .map(|w| {
                let count = self
                    .scope
                    .leads()
                    .filter(leads::created_at.ge(midnight(w[0])))
                    .filter(leads::created_at.lt(midnight(w[1])))
                    .count()
                    .get_result(self.conn)?;
                Ok((w[0], count))
            })
            .collect()
    }
}

/// The first instant of `day`, as stored (UTC, naive).
fn midnight(day: NaiveDate) -> NaiveDateTime {
    day.and_time(NaiveTime::MIN)
}
