//! The company form.

use serde::Deserialize;
use validator::Validate;

use super::FormErrors;
use crate::domain::{parse_name, parse_optional_text};

/// The company form as typed.
#[derive(Debug, Default, Deserialize, Validate, Clone)]
#[serde(default)]
pub struct CompanyForm {
    /// Display name.
    #[validate(length(max = 200, message = "Must be at most 200 characters."))]
    pub name: String,
    /// Web domain, may be blank.
    #[validate(length(max = 200, message = "Must be at most 200 characters."))]
    pub domain: String,
}

/// A validated company form (create and update write the same fields).
#[derive(Clone, Debug)]
pub struct CompanyInput {
    /// Display name, trimmed, 1 to 200 characters.
    pub name: String,
    /// Web domain, lowercase, may be blank.
    pub domain: String,
}

impl CompanyForm {
    /// Parses into a company, or the messages to show beside each field.
    pub fn parse(&self) -> Result<CompanyInput, FormErrors> {
        let mut errors = FormErrors::default();
        if let Err(e) = self.validate() {
            errors.extend_from_validation(&e);
        }
        let name = parse_name(&self.name)
            .map_err(|e| errors.add("name", e))
            .ok();
        let domain = parse_optional_text(&self.domain)
            .map_err(|e| errors.add("domain", e))
            .ok();
        if let Some(d) = &domain {
            if d.contains(char::is_whitespace) {
                errors.add("domain", "A domain has no spaces, e.g. example.com.");
            }
        }
        match (name, domain) {
            (Some(name), Some(domain)) if errors.is_empty() => Ok(CompanyInput {
                name,
                domain: domain.to_lowercase(),
            }),
            _ => Err(errors),
        }
    }
}
