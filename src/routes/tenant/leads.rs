//! Leads: the filtered list, the lead's page with its notes, create, edit, delete.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use validator::Validate;

use crate::auth::csrf::NoFields;
use crate::auth::{CsrfForm, CurrentMember, TypedSession};
use crate::db::companies::MAX_COMPANY_CHOICES;
use crate::db::leads::{
    Activity, LEAD_PAGE_SIZE, Lead, LeadFilter, LeadInput, LeadPage, LeadRefusal, LeadSort,
};
use crate::db::notes::NoteView;
use crate::db::users::Member;
use crate::db::{Db, QueryError};
use crate::domain::{
    Email, LeadStatus, MAX_NOTE_LEN, MemberId, format_money, parse_money, parse_name,
    parse_optional_text,
};
use crate::error::AppResult;
use crate::http::see_other;
use crate::render::{FormErrors, PageContext, render};

/// [`MAX_NOTE_LEN`] as `validator` wants it.
const NOTE_LIMIT: u64 = MAX_NOTE_LEN as u64;

/// Most companies offered in the list's company filter; a tenant with more
/// filters from a company's page ("Filter leads") instead.
const MAX_COMPANY_FILTER_CHOICES: i64 = 200;

/// The query string of the list (and of the CSV export).
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(default)]
pub(super) struct LeadListQuery {
    pub(super) q: String,
    pub(super) status: String,
    pub(super) owner: String,
    pub(super) company: String,
    pub(super) sort: String,
    pub(super) after: String,
    pub(super) per: String,
}

impl LeadListQuery {
    /// The filter it names; unknown values are ignored rather than refused.
    pub(super) fn filter(&self) -> LeadFilter {
        LeadFilter {
            q: Some(self.q.trim().to_owned()).filter(|q| !q.is_empty()),
            status: self.status.parse::<LeadStatus>().ok(),
            owner: Some(self.owner.trim())
                .filter(|o| !o.is_empty())
                .map(|o| MemberId::from_string(o.to_owned())),
            company: self.company.trim().parse().ok(),
            sort: LeadSort::parse(&self.sort),
        }
    }

    /// The query string of the same filter, without the cursor.
    pub(super) fn filter_query_string(&self) -> String {
        let pairs: Vec<(&str, &str)> = [
            ("q", self.q.as_str()),
            ("status", self.status.as_str()),
            ("owner", self.owner.as_str()),
            ("company", self.company.as_str()),
            ("sort", self.sort.as_str()),
            ("per", self.per.as_str()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

#[derive(Template)]
#[template(path = "leads/list.html")]
struct LeadListPage {
    ctx: PageContext,
    query: LeadListQuery,
    page: LeadPage,
    members: Vec<(MemberId, String, bool)>,
    /// `None` when the tenant has too many companies for a drop-down.
    companies: Option<Vec<(i64, String)>>,
    /// The company filtered by, when there is no drop-down to show it.
    filtered_company: Option<(i64, String)>,
    statuses: [LeadStatus; 6],
    next_url: Option<String>,
    first_url: Option<String>,
    export_url: String,
}

pub(super) async fn list_leads(
    me: CurrentMember,
    session: TypedSession,
    db: web::Data<Db>,
    query: web::Query<LeadListQuery>,
) -> AppResult<HttpResponse> {
    let query = query.into_inner();
    let filter = query.filter();
    let after = query.after.trim().parse::<i64>().ok();
    let per = query
        .per
        .trim()
        .parse::<i64>()
        .unwrap_or(LEAD_PAGE_SIZE)
        .clamp(1, 200);
    let company_filter = filter.company;
    let (page, members, companies, filtered_company) = db
        .read(&me.tenant.scope, move |tx| {
            // Past the limit, a drop-down is no way to choose: `None` says so.
            let companies = Some(tx.company_choices(MAX_COMPANY_FILTER_CHOICES + 1)?)
                .filter(|c| c.len() as i64 <= MAX_COMPANY_FILTER_CHOICES);
            let filtered = match (company_filter, &companies) {
                (Some(n), None) => tx.find_company_by_number(n)?.map(|c| (c.number, c.name)),
                _ => None,
            };
            Ok((
                tx.lead_page(&filter, after, per)?,
                tx.member_choices()?,
                companies,
                filtered,
            ))
        })
        .await?;
    let qs = query.filter_query_string();
    let with = |extra: &str| {
        let sep = if qs.is_empty() || extra.is_empty() {
            ""
        } else {
            "&"
        };
        let all = format!("{qs}{sep}{extra}");
        if all.is_empty() {
            "/leads".to_owned()
        } else {
            format!("/leads?{all}")
        }
    };
    let next_url = page.next_after.map(|n| with(&format!("after={n}")));
    let first_url = after.is_some().then(|| with(""));
    let export_url = if qs.is_empty() {
        "/leads/export.csv".to_owned()
    } else {
        format!("/leads/export.csv?{qs}")
    };
    render(
        StatusCode::OK,
        &LeadListPage {
            ctx: PageContext::app(&session, &me, "leads"),
            query,
            page,
            members,
            companies,
            filtered_company,
            statuses: LeadStatus::ALL,
            next_url,
            first_url,
            export_url,
        },
    )
}

/// The lead form as typed; every field is kept as text so it can be shown again.
#[derive(Debug, Default, Deserialize, Validate, Clone)]
#[serde(default)]
pub(super) struct LeadForm {
    #[validate(length(max = 200, message = "Must be at most 200 characters."))]
    pub(super) name: String,
    #[validate(length(max = 254, message = "Must be at most 254 characters."))]
    pub(super) email: String,
    #[validate(length(max = 200, message = "Must be at most 200 characters."))]
    pub(super) phone: String,
    pub(super) company_id: String,
    pub(super) status: String,
    #[validate(length(max = 40, message = "Enter an amount such as 1250.50."))]
    pub(super) value: String,
    pub(super) owner_id: String,
    #[validate(length(max = 200, message = "Must be at most 200 characters."))]
    pub(super) source: String,
}

impl LeadForm {
    fn from_lead(lead: &Lead, company_number: Option<i64>) -> Self {
        Self {
            name: lead.name.clone(),
            email: lead.email.clone(),
            phone: lead.phone.clone(),
            company_id: company_number.map(|n| n.to_string()).unwrap_or_default(),
            status: lead.status.as_str().to_owned(),
            value: if lead.value == 0 {
                String::new()
            } else {
                format_money(lead.value)
            },
            owner_id: lead
                .owner_id
                .as_ref()
                .map(|o| o.as_str().to_owned())
                .unwrap_or_default(),
            source: lead.source.clone(),
        }
    }

    /// Parses into a lead, or the messages to show beside each field.
    pub(super) fn parse(&self) -> Result<LeadInput, FormErrors> {
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
                .parse::<i64>()
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

#[derive(Template)]
#[template(path = "leads/form.html")]
struct LeadFormPage {
    ctx: PageContext,
    form: LeadForm,
    errors: FormErrors,
    members: Vec<(MemberId, String, bool)>,
    companies: Vec<(i64, String)>,
    statuses: [LeadStatus; 6],
    /// `None` for a new lead.
    number: Option<i64>,
}

impl LeadFormPage {
    fn action(&self) -> String {
        match self.number {
            Some(n) => format!("/leads/{n}"),
            None => "/leads".to_owned(),
        }
    }
}

async fn form_page(
    db: &Db,
    me: &CurrentMember,
    session: &TypedSession,
    status: StatusCode,
    form: LeadForm,
    errors: FormErrors,
    number: Option<i64>,
) -> AppResult<HttpResponse> {
    let chosen = form.company_id.trim().parse::<i64>().ok();
    let (members, companies) = db
        .read(&me.tenant.scope, move |tx| {
            let mut companies = tx.company_choices(MAX_COMPANY_CHOICES)?;
            // The lead's own company is always a choice, even past the list's limit:
            // otherwise saving the form would silently unlink it.
            if let Some(n) = chosen.filter(|n| !companies.iter().any(|(c, _)| c == n)) {
                if let Some(company) = tx.find_company_by_number(n)? {
                    companies.insert(0, (company.number, company.name));
                }
            }
            Ok((tx.member_choices()?, companies))
        })
        .await?;
    render(
        status,
        &LeadFormPage {
            ctx: PageContext::app(session, me, "leads"),
            form,
            errors,
            members,
            companies,
            statuses: LeadStatus::ALL,
            number,
        },
    )
}

#[derive(Deserialize)]
pub(super) struct NewLeadQuery {
    company: Option<String>,
}

pub(super) async fn new_lead_form(
    me: CurrentMember,
    session: TypedSession,
    db: web::Data<Db>,
    query: web::Query<NewLeadQuery>,
) -> AppResult<HttpResponse> {
    let form = LeadForm {
        status: LeadStatus::New.as_str().to_owned(),
        owner_id: me.member.id.as_str().to_owned(),
        company_id: query.company.clone().unwrap_or_default(),
        ..LeadForm::default()
    };
    form_page(
        &db,
        &me,
        &session,
        StatusCode::OK,
        form,
        FormErrors::default(),
        None,
    )
    .await
}

fn refusal_errors(refusal: LeadRefusal) -> FormErrors {
    let mut errors = FormErrors::default();
    errors.add(refusal.field(), refusal.message());
    errors
}

#[tracing::instrument(name = "create lead", skip_all)]
pub(super) async fn create_lead(
    me: CurrentMember,
    session: TypedSession,
    db: web::Data<Db>,
    form: CsrfForm<LeadForm>,
) -> AppResult<HttpResponse> {
    let form = form.into_inner();
    let input = match form.parse() {
        Ok(input) => input,
        Err(errors) => {
            return form_page(
                &db,
                &me,
                &session,
                StatusCode::UNPROCESSABLE_ENTITY,
                form,
                errors,
                None,
            )
            .await;
        }
    };
    let actor = me.member.id.clone();
    let created = db
        .write(&me.tenant.scope, move |tx| tx.create_lead(&input, &actor))
        .await?;
    match created {
        Ok(lead) => {
            tracing::info!(lead.number = lead.number, "lead created");
            session.flash("success", "Lead created.");
            Ok(see_other(&format!("/leads/{}", lead.number)))
        }
        Err(refusal) => {
            form_page(
                &db,
                &me,
                &session,
                StatusCode::UNPROCESSABLE_ENTITY,
                form,
                refusal_errors(refusal),
                None,
            )
            .await
        }
    }
}

/// Everything a lead's page shows.
struct LeadDetail {
    lead: Lead,
    company: Option<(i64, String)>,
    owner: Option<Member>,
    notes: Vec<NoteView>,
    activity: Vec<Activity>,
}

async fn load_detail(db: &Db, me: &CurrentMember, number: i64) -> AppResult<LeadDetail> {
    db.read(&me.tenant.scope, move |tx| {
        let lead = tx
            .find_lead_by_number(number)?
            .ok_or(QueryError::NotFound)?;
        let company = match &lead.company_id {
            Some(id) => tx.find_company(id)?.map(|c| (c.number, c.name)),
            None => None,
        };
        let owner = match &lead.owner_id {
            Some(id) => tx.find_member(id)?,
            None => None,
        };
        let notes = tx.list_notes(&lead.id)?;
        let activity = tx.list_activity(&lead.id)?;
        Ok(LeadDetail {
            lead,
            company,
            owner,
            notes,
            activity,
        })
    })
    .await
    .map_err(Into::into)
}

#[derive(Template)]
#[template(path = "leads/show.html")]
struct LeadShowPage {
    ctx: PageContext,
    detail: LeadDetail,
    note_body: String,
    errors: FormErrors,
    max_note_len: usize,
}

async fn show_page(
    db: &Db,
    me: &CurrentMember,
    session: &TypedSession,
    number: i64,
    status: StatusCode,
    note_body: String,
    errors: FormErrors,
) -> AppResult<HttpResponse> {
    let detail = load_detail(db, me, number).await?;
    render(
        status,
        &LeadShowPage {
            ctx: PageContext::app(session, me, "leads"),
            detail,
            note_body,
            errors,
            max_note_len: MAX_NOTE_LEN,
        },
    )
}

pub(super) async fn show_lead(
    me: CurrentMember,
    session: TypedSession,
    db: web::Data<Db>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    show_page(
        &db,
        &me,
        &session,
        path.into_inner(),
        StatusCode::OK,
        String::new(),
        FormErrors::default(),
    )
    .await
}

pub(super) async fn edit_lead_form(
    me: CurrentMember,
    session: TypedSession,
    db: web::Data<Db>,
    path: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let number = path.into_inner();
    let detail = load_detail(&db, &me, number).await?;
    let form = LeadForm::from_lead(&detail.lead, detail.company.as_ref().map(|c| c.0));
    form_page(
        &db,
        &me,
        &session,
        StatusCode::OK,
        form,
        FormErrors::default(),
        Some(number),
    )
    .await
}

/// What an update came to.
enum UpdateOutcome {
    Updated,
    Refused(LeadRefusal),
}

#[tracing::instrument(name = "update lead", skip_all)]
pub(super) async fn update_lead(
    me: CurrentMember,
    session: TypedSession,
    db: web::Data<Db>,
    path: web::Path<i64>,
    form: CsrfForm<LeadForm>,
) -> AppResult<HttpResponse> {
    let number = path.into_inner();
    let form = form.into_inner();
    let parsed = form.parse();
    let actor = me.member.id.clone();
    // Look the lead up first, so another tenant's number is a 404 even when the
    // form is invalid.
    let outcome = db
        .write(&me.tenant.scope, move |tx| {
            let lead = tx
                .find_lead_by_number(number)?
                .ok_or(QueryError::NotFound)?;
            match parsed {
                Ok(input) => Ok(Ok(match tx.update_lead(&lead, &input, &actor)? {
                    Ok(()) => UpdateOutcome::Updated,
                    Err(refusal) => UpdateOutcome::Refused(refusal),
                })),
                Err(errors) => Ok(Err(errors)),
            }
        })
        .await?;
    let errors = match outcome {
        Ok(UpdateOutcome::Updated) => {
            session.flash("success", "Lead saved.");
            return Ok(see_other(&format!("/leads/{number}")));
        }
        Ok(UpdateOutcome::Refused(refusal)) => refusal_errors(refusal),
        Err(errors) => errors,
    };
    form_page(
        &db,
        &me,
        &session,
        StatusCode::UNPROCESSABLE_ENTITY,
        form,
        errors,
        Some(number),
    )
    .await
}

#[tracing::instrument(name = "delete lead", skip_all)]
pub(super) async fn delete_lead(
    me: CurrentMember,
    session: TypedSession,
    db: web::Data<Db>,
    path: web::Path<i64>,
    _form: CsrfForm<NoFields>,
) -> AppResult<HttpResponse> {
    let number = path.into_inner();
    db.write(&me.tenant.scope, move |tx| {
        let lead = tx
            .find_lead_by_number(number)?
            .ok_or(QueryError::NotFound)?;
        tx.delete_lead(&lead.id)?;
        Ok(())
    })
    .await?;
    tracing::info!(lead.number = number, "lead deleted");
    session.flash("success", "Lead deleted.");
    Ok(see_other("/leads"))
}

/// The note form.
#[derive(Debug, Default, Deserialize, Validate)]
#[serde(default)]
pub(super) struct NoteForm {
    #[validate(length(max = NOTE_LIMIT, message = "Must be at most 10,000 characters."))]
    body: String,
}

#[tracing::instrument(name = "add note", skip_all)]
pub(super) async fn create_note(
    me: CurrentMember,
    session: TypedSession,
    db: web::Data<Db>,
    path: web::Path<i64>,
    form: CsrfForm<NoteForm>,
) -> AppResult<HttpResponse> {
    let number = path.into_inner();
    let form = form.into_inner();
    let mut errors = FormErrors::default();
    if let Err(e) = form.validate() {
        errors.extend_from_validation(&e);
    }
    if form.body.trim().is_empty() {
        errors.add("body", "Please write something.");
    }
    if !errors.is_empty() {
        return show_page(
            &db,
            &me,
            &session,
            number,
            StatusCode::UNPROCESSABLE_ENTITY,
            form.body,
            errors,
        )
        .await;
    }
    let author = me.member.id.clone();
    let body = form.body.trim_end().to_owned();
    db.write(&me.tenant.scope, move |tx| {
        let lead = tx
            .find_lead_by_number(number)?
            .ok_or(QueryError::NotFound)?;
        tx.add_note(&lead.id, &author, &body)?;
        Ok(())
    })
    .await?;
    session.flash("success", "Note added.");
    Ok(see_other(&format!("/leads/{number}")))
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
