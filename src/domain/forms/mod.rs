//! Forms as typed, and their parsing into validated inputs. The HTML forms and the
//! CSV import share these, so a row of a file passes the same rules as a form.

mod company;
mod lead;
mod task;

use std::collections::BTreeMap;

pub use company::{CompanyForm, CompanyInput};
pub use lead::{LeadForm, LeadInput, LeadRefusal};
pub use task::{TaskForm, TaskInput};

/// Messages beside form fields, by field name.
#[derive(Default, Debug)]
pub struct FormErrors(BTreeMap<String, String>);

impl FormErrors {
    /// Every field's message, by field name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(f, m)| (f.as_str(), m.as_str()))
    }

    /// Records a message for a field (the first one wins).
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.entry(field.into()).or_insert_with(|| message.into());
    }

    /// The message for a field.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    /// Whether a field has a message.
    pub fn has(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }

    /// Whether there are no messages.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Copies `validator`'s messages in, each under its field's name.
    pub fn extend_from_validation(&mut self, errors: &validator::ValidationErrors) {
        for (field, errs) in errors.field_errors() {
            if let Some(msg) = errs.iter().find_map(|e| e.message.as_ref()) {
                self.add(field.to_string(), msg.to_string());
            }
        }
    }
}
