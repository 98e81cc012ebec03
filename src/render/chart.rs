//! The dashboard's charts as geometry: bars of leads per status and columns of
//! leads created per week. Pure arithmetic from the numbers to positions,
//! lengths and labels; `templates/_charts.html` draws the SVG, so Askama escapes
//! every piece of text. Lengths are integers in the drawing's own units (its
//! `viewBox`), proportional to the counts, and a chart of zeros draws no bar.

use chrono::{Datelike, Days, NaiveDate};

use crate::db::leads::StatusSummary;
use crate::domain::{display_money, group_thousands};

/// Weeks the weekly chart shows, the current one last.
pub const WEEKS: u32 = 12;

// The bar chart: a label column, a track per row, the figures after the tracks
// (room for "16,632 leads · 415,070,035.55").
const BAR_WIDTH: i64 = 640;
const BAR_X: i64 = 96;
const BAR_FULL: i64 = 300;
const ROW: i64 = 34;
const BAR_H: i64 = 22;
const PAD: i64 = 6;

// The column chart: a figure above each column, its date below.
const COL_WIDTH: i64 = 560;
const COL_STEP: i64 = COL_WIDTH / WEEKS as i64;
const COL_W: i64 = 30;
const COL_TOP: i64 = 22;
const COL_FULL: i64 = 150;
const COL_LABELS: i64 = 26;

/// `n` of `max` as a length of at most `full`, rounded to the nearest unit; no
/// length when the maximum is zero (or a count is not positive).
pub fn scaled(n: i64, max: i64, full: i64) -> i64 {
    if n <= 0 || max <= 0 {
        return 0;
    }
    let n = i128::from(n.min(max));
    let (max, full) = (i128::from(max), i128::from(full));
    i64::try_from((n * full * 2 + max) / (max * 2)).unwrap_or(0)
}

/// A count with thousands separators: "16,632" (a negative count, which
/// counters never hold, as zero). Takes a reference too, as templates pass one.
pub fn figure(n: impl std::borrow::Borrow<i64>) -> String {
    group_thousands((*n.borrow()).max(0).unsigned_abs())
}

/// "1 lead", "1,200 leads".
fn leads(n: i64) -> String {
    let figure = figure(n);
    if n == 1 {
        format!("{figure} lead")
    } else {
        format!("{figure} leads")
    }
}

/// What one bar shows.
pub struct BarInput {
    /// The row's label, drawn left of the bar.
    pub label: String,
    /// The CSS class that colours the bar.
    pub class: String,
    /// The count the bar's length stands for.
    pub count: i64,
    /// Text drawn after the bar (the count, and the value).
    pub figure: String,
    /// The bar's tooltip (its `<title>`).
    pub title: String,
}

/// One bar of a [`BarChart`], placed.
pub struct Bar {
    /// What it shows.
    pub input: BarInput,
    /// Top of the row.
    pub y: i64,
    /// Top of the bar.
    pub bar_y: i64,
    /// Baseline of the row's text.
    pub text_y: i64,
    /// The bar's length.
    pub length: i64,
}

/// A horizontal bar chart, one row per bar.
pub struct BarChart {
    /// The rows, top to bottom.
    pub bars: Vec<Bar>,
    /// Height of the drawing.
    pub height: i64,
    /// What the chart says, for screen readers (its `<desc>`).
    pub desc: String,
}

impl BarChart {
    /// Places `inputs`, top to bottom, each as long as its share of the largest.
    pub fn new(inputs: Vec<BarInput>, desc: String) -> Self {
        let max = inputs.iter().map(|b| b.count).max().unwrap_or(0);
        let bars = inputs
            .into_iter()
            .zip(0..)
            .map(|(input, i)| {
                let y = PAD + i * ROW;
                Bar {
                    length: scaled(input.count, max, BAR_FULL),
                    input,
                    y,
                    bar_y: y + (ROW - BAR_H) / 2,
                    text_y: y + ROW / 2 + 5,
                }
            })
            .collect::<Vec<_>>();
        let rows = i64::try_from(bars.len()).unwrap_or(0);
        Self {
            bars,
            height: PAD * 2 + rows * ROW,
            desc,
        }
    }

    /// Width of the drawing.
    pub fn width(&self) -> i64 {
        BAR_WIDTH
    }

    /// Where bars start (labels end a little before).
    pub fn bar_x(&self) -> i64 {
        BAR_X
    }

    /// Where labels end.
    pub fn label_x(&self) -> i64 {
        BAR_X - 8
    }

    /// The longest bar's length (the track behind each bar).
    pub fn bar_full(&self) -> i64 {
        BAR_FULL
    }

    /// Where the figures after the tracks start.
    pub fn figure_x(&self) -> i64 {
        BAR_X + BAR_FULL + 10
    }

    /// Height of a bar.
    pub fn bar_h(&self) -> i64 {
        BAR_H
    }
}

/// The pipeline by status: a bar per status in pipeline order, with its count
/// and value.
pub fn status_chart(summary: &[StatusSummary]) -> BarChart {
    let parts: Vec<String> = summary
        .iter()
        .map(|s| {
            format!(
                "{} {} ({})",
                s.status.as_str(),
                figure(s.count),
                display_money(s.value)
            )
        })
        .collect();
    let desc = format!(
        "Horizontal bars, one per status, each as long as its share of the largest: {}.",
        parts.join(", ")
    );
    let inputs = summary
        .iter()
        .map(|s| {
            let (count, value) = (leads(s.count), display_money(s.value));
            BarInput {
                label: s.status.as_str().to_owned(),
                class: format!("chart-bar-{}", s.status.as_str()),
                count: s.count,
                figure: format!("{count} · {value}"),
                title: format!("{}: {count}, {value}", s.status.as_str()),
            }
        })
        .collect();
    BarChart::new(inputs, desc)
}

/// The Monday (UTC) that starts the first of the `weeks` weeks ending with the
/// ISO week of `today`.
pub fn first_week(today: NaiveDate, weeks: u32) -> NaiveDate {
    let monday = today
        .checked_sub_days(Days::new(u64::from(today.weekday().num_days_from_monday())))
        .unwrap_or(today);
    monday
        .checked_sub_days(Days::new(u64::from(weeks.saturating_sub(1)) * 7))
        .unwrap_or(monday)
}

/// One column of a [`ColumnChart`], placed.
pub struct Column {
    /// The Monday that starts the week.
    pub week: NaiveDate,
    /// Leads created that week.
    pub count: i64,
    /// Left edge of the column.
    pub x: i64,
    /// Top of the column.
    pub y: i64,
    /// Its height.
    pub height: i64,
    /// Middle of the column's slot, where its texts are centred.
    pub mid: i64,
}

impl Column {
    /// The short date under the column: "30 Nov".
    pub fn label(&self) -> String {
        self.week.format("%-d %b").to_string()
    }

    /// The full date: "2026-11-30".
    pub fn date(&self) -> String {
        self.week.format("%Y-%m-%d").to_string()
    }

    /// The count, with thousands separators.
    pub fn figure(&self) -> String {
        figure(self.count)
    }

    /// The column's tooltip: "Week of 2026-11-30: 3 leads".
    pub fn title(&self) -> String {
        format!("Week of {}: {}", self.date(), leads(self.count))
    }
}

/// A column chart of leads created per week, oldest week first.
pub struct ColumnChart {
    /// The columns, left to right.
    pub columns: Vec<Column>,
    /// What the chart says, for screen readers (its `<desc>`).
    pub desc: String,
    /// Leads over all the weeks shown.
    pub total: i64,
}

impl ColumnChart {
    /// Places one column per `(week start, count)`, each as tall as its share of
    /// the largest.
    pub fn new(weeks: &[(NaiveDate, i64)]) -> Self {
        let max = weeks.iter().map(|w| w.1).max().unwrap_or(0);
        let base = COL_TOP + COL_FULL;
        let columns: Vec<Column> = weeks
            .iter()
            .zip(0..)
            .map(|(&(week, count), i)| {
                let height = scaled(count, max, COL_FULL);
                let x = i * COL_STEP + (COL_STEP - COL_W) / 2;
                Column {
                    week,
                    count,
                    x,
                    y: base - height,
                    height,
                    mid: x + COL_W / 2,
                }
            })
            .collect();
        let total = weeks.iter().map(|w| w.1).fold(0i64, i64::saturating_add);
        let desc = match (columns.first(), columns.last()) {
            (Some(first), Some(last)) => format!(
                "Columns, one per week (UTC, starting on Monday), oldest first, from the week of {} to this week, of {}, each as tall as its share of the busiest: {}. {} in all.",
                first.date(),
                last.date(),
                columns
                    .iter()
                    .map(Column::figure)
                    .collect::<Vec<_>>()
                    .join(", "),
                leads(total)
            ),
            _ => "No weeks to show.".to_owned(),
        };
        Self {
            columns,
            desc,
            total,
        }
    }

    /// Width of the drawing.
    pub fn width(&self) -> i64 {
        COL_WIDTH
    }

    /// Height of the drawing.
    pub fn height(&self) -> i64 {
        COL_TOP + COL_FULL + COL_LABELS
    }

    /// The baseline the columns stand on.
    pub fn base(&self) -> i64 {
        COL_TOP + COL_FULL
    }

    /// Width of a column.
    pub fn col_w(&self) -> i64 {
        COL_W
    }

    /// Baseline of the date labels.
    pub fn label_y(&self) -> i64 {
        COL_TOP + COL_FULL + 18
    }
}

#[cfg(test)]
mod tests {
    use askama::Template;
    use chrono::NaiveDate;

    use super::*;
    use crate::domain::LeadStatus;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn summary(counts: [i64; 6]) -> Vec<StatusSummary> {
        LeadStatus::ALL
            .into_iter()
            .zip(counts)
            .map(|(status, count)| StatusSummary {
                status,
                count,
                value: count * 10_000,
            })
            .collect()
    }

    #[test]
    fn lengths_are_proportional_to_counts() {
        assert_eq!(scaled(10, 10, 300), 300);
        assert_eq!(scaled(5, 10, 300), 150);
        assert_eq!(scaled(1, 3, 300), 100);
        assert_eq!(scaled(2, 3, 100), 67, "rounded to the nearest unit");
        assert_eq!(scaled(0, 10, 300), 0);
        assert_eq!(scaled(i64::MAX, i64::MAX, 300), 300, "no overflow");

        let chart = status_chart(&summary([4, 2, 1, 0, 8, 0]));
        let lengths: Vec<i64> = chart.bars.iter().map(|b| b.length).collect();
        assert_eq!(lengths, [150, 75, 38, 0, 300, 0]);
        let tops: Vec<i64> = chart.bars.iter().map(|b| b.y).collect();
        assert!(tops.windows(2).all(|w| w[1] - w[0] == ROW), "{tops:?}");
        assert_eq!(chart.height, 2 * PAD + 6 * ROW);
    }

    #[test]
    fn all_zero_draws_no_bars_and_does_not_divide_by_zero() {
        assert_eq!(scaled(0, 0, 300), 0);
        assert_eq!(scaled(-3, -1, 300), 0);
        let chart = status_chart(&summary([0; 6]));
        assert!(chart.bars.iter().all(|b| b.length == 0));
        let weeks: Vec<(NaiveDate, i64)> = (0..12).map(|i| (day(2026, 1, 5 + i), 0)).collect();
        let columns = ColumnChart::new(&weeks);
        assert!(columns.columns.iter().all(|c| c.height == 0));
        assert!(columns.columns.iter().all(|c| c.y == columns.base()));
        assert_eq!(ColumnChart::new(&[]).desc, "No weeks to show.");
    }

    #[test]
    fn bars_name_their_status_count_and_value() {
        let chart = status_chart(&summary([1, 0, 0, 12, 0, 0]));
        let proposal = &chart.bars[3].input;
        assert_eq!(proposal.title, "proposal: 12 leads, 1,200.00");
        assert_eq!(proposal.class, "chart-bar-proposal");
        assert_eq!(chart.bars[0].input.title, "new: 1 lead, 100.00");
        assert!(
            chart.desc.contains("proposal 12 (1,200.00)"),
            "{}",
            chart.desc
        );
    }

    #[test]
    fn weeks_start_on_monday_and_end_with_the_current_one() {
        // Thursday 3 December 2026: its week began on Monday 30 November.
        assert_eq!(first_week(day(2026, 12, 3), 1), day(2026, 11, 30));
        assert_eq!(first_week(day(2026, 11, 30), 1), day(2026, 11, 30));
        assert_eq!(first_week(day(2026, 12, 6), 1), day(2026, 11, 30), "Sunday");
        assert_eq!(first_week(day(2026, 12, 3), 12), day(2026, 9, 14));
        // Across a year's end.
        assert_eq!(first_week(day(2027, 1, 1), 2), day(2026, 12, 21));
    }

    #[test]
    fn columns_are_proportional_and_labelled() {
        let weeks = [(day(2026, 11, 23), 2), (day(2026, 11, 30), 4)];
        let chart = ColumnChart::new(&weeks);
        assert_eq!(chart.columns[0].height, COL_FULL / 2);
        assert_eq!(chart.columns[1].height, COL_FULL);
        assert_eq!(chart.columns[1].y, COL_TOP);
        assert!(chart.columns[0].x < chart.columns[1].x);
        assert_eq!(chart.columns[1].label(), "30 Nov");
        assert_eq!(chart.columns[1].title(), "Week of 2026-11-30: 4 leads");
        assert_eq!(chart.total, 6);
        assert!(
            chart.desc.contains("from the week of 2026-11-23"),
            "{}",
            chart.desc
        );
        // Twelve columns fit the drawing.
        let twelve: Vec<(NaiveDate, i64)> = (0..12).map(|i| (day(2026, 1, 5 + i), 1)).collect();
        let chart = ColumnChart::new(&twelve);
        let last = chart.columns.last().unwrap();
        assert!(last.x + COL_W <= chart.width());
    }

    #[derive(Template)]
    #[template(
        source = r#"{% import "_charts.html" as charts %}{% call charts::bar_chart("t", "A title", status_chart) %}{% endcall %}{% call charts::column_chart("w", "Weeks", weekly_chart) %}{% endcall %}"#,
        ext = "html"
    )]
    struct Charts {
        status_chart: BarChart,
        weekly_chart: ColumnChart,
    }

    #[test]
    fn the_drawing_escapes_its_text() {
        let nasty = "<script>alert(\"&\")</script>";
        let chart = BarChart::new(
            vec![BarInput {
                label: nasty.to_owned(),
                class: "chart-bar-new".to_owned(),
                count: 3,
                figure: nasty.to_owned(),
                title: nasty.to_owned(),
            }],
            nasty.to_owned(),
        );
        let html = Charts {
            status_chart: chart,
            weekly_chart: ColumnChart::new(&[(day(2026, 11, 30), 1)]),
        }
        .render()
        .unwrap();
        assert!(!html.contains("<script>"), "{html}");
        assert!(
            html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"),
            "{html}"
        );
        assert!(html.contains("role=\"img\""), "{html}");
        assert!(
            html.contains("aria-labelledby=\"t-title t-desc\""),
            "{html}"
        );
        assert!(
            html.contains("<title>Week of 2026-11-30: 1 lead</title>"),
            "{html}"
        );
    }
}
