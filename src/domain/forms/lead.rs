//! The lead form, shared by the HTML form and each row of a CSV import.

use serde::Deserialize;
use validator::Validate;

use super::FormErrors;
use crate::domain::{
    CompanyNumber, Email, LeadStatus, MemberId, parse_money, parse_name, parse_optional_text,
};

/// The lead form as typed; every field is kept as text so it can be shown again.
#[derive(Debug, Default, Deserialize, Validate, Clone)]
#[serde(default)]
pub struct LeadForm {
    /// The person's name.
    #[validate(length(max = 200, message = "Must be at most 200 characters."))]
    pub name: String,
    /// Email, may be blank.
    #[validate(length(max = 254, message = "Must be at most 254 characters."))]
    pub email: String,
    /// Phone, may be blank.
    #[validate(length(max = 200, message = "Must be at most 200 characters."))]
    pub phone: String,
    /// The chosen company's number, or blank.
    pub company_id: String,
    /// A status name; blank is "new".
    pub status: String,
    /// An amount such as `1250.50`; blank is zero.
    #[validate(length(max = 40, message = "Enter an amount such as 1250.50."))]
    pub value: String,
    /// The chosen owner's member id, or blank.
    pub owner_id: String,
    /// Where the lead came from, may be blank.
    #[validate(length(max = 200, message = "Must be at most 200 characters."))]
    pub source: String,
}

/// A validated lead form. `company` and `owner` are not trusted yet: they are
/// looked up in this tenant before anything is written.
#[derive(Clone, Debug)]
pub struct LeadInput {
    /// Name, trimmed, 1 to 200 characters.
    pub name: String,
    /// Email, normalised, or blank.
    pub email: String,
    /// Phone, or blank.
    pub phone: String,
    /// The company's number, if one was chosen.
    pub company: Option<CompanyNumber>,
    /// Status.
    pub status: LeadStatus,
    /// Value in minor units, not negative.
    pub value: i64,
    /// The owner's member id, if one was chosen.
    pub owner: Option<MemberId>,
    /// Source, or blank.
    pub source: String,
}

/// Why a lead form that parsed could still not be saved: a reference that does
/// not resolve in this tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeadRefusal {
    /// No such company in this tenant.
    UnknownCompany,
    /// No such active member in this tenant.
    UnknownOwner,
}

impl LeadRefusal {
    /// The form field it concerns.
    pub fn field(self) -> &'static str {
        match self {
            LeadRefusal::UnknownCompany => "company_id",
            LeadRefusal::UnknownOwner => "owner_id",
        }
    }

    /// A message to show beside it.
    pub fn message(self) -> &'static str {
        match self {
            LeadRefusal::UnknownCompany => "Choose a company of this workspace.",
            LeadRefusal::UnknownOwner => "Choose an active member of this workspace.",
        }
    }

    /// The refusal as form errors, to show the form again with.
    pub fn to_errors(self) -> FormErrors {
        let mut errors = FormErrors::default();
        errors.add(self.field(), self.message());
        errors
    }
}

impl LeadForm {
    /// Parses into a lead, or the messages to show beside each field.
    pub fn parse(&self) -> Result<LeadInput, FormErrors> {
        let mut errors = FormErrors::default();
        if let Err(e) = self.validate() {
            errors.extend_from_validation(&e);
        }
        let name = parse_name(&self.name)
            .map_err(|e| errors.add("name", e))
            .ok();
        let email = if self.email.trim().is_empty() {
            Some(String::new())
        } else {
            Email::parse(&self.email)
                .map(|e| e.as_str().to_owned())
                .map_err(|e| errors.add("email", e))
                .ok()
        };
        let phone = parse_optional_text(&self.phone)
            .map_err(|e| errors.add("phone", e))
            .ok();
        let source = parse_optional_text(&self.source)
            .map_err(|e| errors.add("source", e))
            .ok();
        let status = if self.status.trim().is_empty() {
            Some(LeadStatus::New)
        } else {
            self.status
                .parse::<LeadStatus>()
                .map_err(|e| errors.add("status", e))
                .ok()
        };
        let value = parse_money(&self.value)
            .map_err(|e| errors.add("value", e))
            .ok();
        let company = match self.company_id.trim() {
            "" => Some(None),
            n => n
                .parse::<CompanyNumber>()
                .map(Some)
                .map_err(|_| errors.add("company_id", LeadRefusal::UnknownCompany.message()))
                .ok(),
        };
        let owner = match self.owner_id.trim() {
            "" => None,
            id => Some(MemberId::from_string(id.to_owned())),
        };
        match (name, email, phone, source, status, value, company) {
            (
                Some(name),
                Some(email),
                Some(phone),
                Some(source),
                Some(status),
                Some(value),
                Some(company),
            ) if errors.is_empty() => Ok(LeadInput {
                name,
                email,
                phone,
                company,
                status,
                value,
                owner,
                source,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_with_every_mistake_gets_every_message() {
        let form = LeadForm {
            name: " ".into(),
            email: "nope".into(),
            phone: "x".repeat(201),
            company_id: "abc".into(),
            status: "open".into(),
            value: "-3".into(),
            owner_id: String::new(),
            source: String::new(),
        };
        let errors = form.parse().err().unwrap_or_default();
        for field in ["name", "email", "phone", "company_id", "status", "value"] {
            assert!(errors.has(field), "{field}");
        }
    }

    #[test]
    fn a_good_form_parses_money_exactly() {
        let form = LeadForm {
            name: "Ada".into(),
            value: "1250.50".into(),
            ..LeadForm::default()
        };
        let input = form.parse().ok();
        assert_eq!(
            input.map(|i| (i.value, i.status)),
            Some((125_050, LeadStatus::New))
        );
    }
}
