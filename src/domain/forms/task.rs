//! The task form: a follow-up on a lead, for a member, by a date.

use chrono::{Datelike, NaiveDate};
use serde::Deserialize;

use super::FormErrors;
use crate::domain::{MemberId, parse_optional_text};

/// Earliest and latest years a due date may have: typing slips (0202, 20266)
/// are refused instead of stored.
const YEARS: std::ops::RangeInclusive<i32> = 2000..=2999;

/// The task form as typed.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(default)]
pub struct TaskForm {
    /// What is to be done.
    pub title: String,
    /// By when, `YYYY-MM-DD`.
    pub due_on: String,
    /// The member who is to do it.
    pub assignee_id: String,
}

/// A validated task form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskInput {
    /// Trimmed, 1 to 200 characters.
    pub title: String,
    /// The due date.
    pub due_on: NaiveDate,
    /// The assignee, still to be checked against the tenant's active members.
    pub assignee: MemberId,
}

impl TaskForm {
    /// Parses into a task, or the messages to show beside each field.
    pub fn parse(&self) -> Result<TaskInput, FormErrors> {
        let mut errors = FormErrors::default();
        let title = match parse_optional_text(&self.title) {
            Ok(t) if t.is_empty() => {
                errors.add("title", "Say what is to be done.");
                None
            }
            Ok(t) => Some(t),
            Err(e) => {
                errors.add("title", e);
                None
            }
        };
        let due_on = NaiveDate::parse_from_str(self.due_on.trim(), "%Y-%m-%d")
            .ok()
            .filter(|d| YEARS.contains(&d.year()));
        if due_on.is_none() {
            errors.add("due_on", "Enter a date as YYYY-MM-DD, e.g. 2026-12-31.");
        }
        let assignee = self.assignee_id.trim();
        if assignee.is_empty() {
            errors.add("assignee_id", "Choose who will do it.");
        }
        match (title, due_on) {
            (Some(title), Some(due_on)) if errors.is_empty() => Ok(TaskInput {
                title,
                due_on,
                assignee: MemberId::from_string(assignee.to_owned()),
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(title: &str, due_on: &str, assignee: &str) -> TaskForm {
        TaskForm {
            title: title.into(),
            due_on: due_on.into(),
            assignee_id: assignee.into(),
        }
    }

    #[test]
    fn a_good_form_parses() {
        let input = form("  Call back ", "2026-12-31", "m1").parse().unwrap();
        assert_eq!(input.title, "Call back");
        assert_eq!(input.due_on, NaiveDate::from_ymd_opt(2026, 12, 31).unwrap());
        assert_eq!(input.assignee.as_str(), "m1");
    }

    #[test]
    fn each_field_says_what_is_wrong() {
        let errors = form(" ", "31/12/2026", "").parse().unwrap_err();
        assert!(errors.has("title") && errors.has("due_on") && errors.has("assignee_id"));
        for due in ["2026-02-30", "0202-01-01", "20266-01-01", "", "tomorrow"] {
            let errors = form("Call", due, "m1").parse().unwrap_err();
            assert!(errors.has("due_on"), "{due}");
        }
        let long = "x".repeat(201);
        assert!(
            form(&long, "2026-12-31", "m1")
                .parse()
                .unwrap_err()
                .has("title")
        );
        assert!(
            form("a\u{7}b", "2026-12-31", "m1")
                .parse()
                .unwrap_err()
                .has("title")
        );
    }
}
