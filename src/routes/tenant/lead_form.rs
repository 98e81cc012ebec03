//! The lead form: new, create, edit, update. Parsing lives in
//! `domain::forms::LeadForm`, which the CSV import shares.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::{CsrfForm, CurrentMember, TypedSession};
use crate::db::companies::MAX_COMPANY_CHOICES;
use crate::db::{Db, QueryError};
use crate::domain::forms::{FormErrors, LeadForm, LeadRefusal};
use crate::domain::{CompanyNumber, LeadNumber, LeadStatus, MemberId, Quota, QuotaHit};
use crate::error::AppResult;
use crate::http::see_other;
use crate::render::{PageContext, render};

#[derive(Template)]
#[template(path = "leads/form.html")]
struct LeadFormPage {
    ctx: PageContext,
    form: LeadForm,
    errors: FormErrors,
    members: Vec<(MemberId, String, bool)>,
    companies: Vec<(CompanyNumber, String)>,
    statuses: [LeadStatus; 6],
    /// `None` for a new lead.
    number: Option<LeadNumber>,
}

impl LeadFormPage {
    fn action(&self) -> String {
        match self.number {
            Some(n) => format!("/leads/{n}"),
            None => "/leads".to_owned(),
        }
    }
}

/// What one showing of the form is: the answer's status, the form as typed, its
/// messages, and the lead it edits (`None` for a new lead).
struct FormView {
    status: StatusCode,
    form: LeadForm,
    errors: FormErrors,
    number: Option<LeadNumber>,
}

impl FormView {
    /// The form shown again with messages (422).
    fn invalid(form: LeadForm, errors: FormErrors, number: Option<LeadNumber>) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            form,
            errors,
            number,
        }
    }

    /// The form shown again because a quota is reached (403): nothing was saved.
    fn over_quota(form: LeadForm, hit: &QuotaHit) -> Self {
        let mut errors = FormErrors::default();
        errors.add("form", hit.to_string());
        Self {
            status: StatusCode::FORBIDDEN,
            form,
            errors,
            number: None,
        }
    }

    /// The form shown for the first time (200).
    fn fresh(form: LeadForm, number: Option<LeadNumber>) -> Self {
        Self {
            status: StatusCode::OK,
            form,
            errors: FormErrors::default(),
            number,
        }
    }
}

async fn form_page(
    db: &Db,
    me: &CurrentMember,
    session: &TypedSession,
    view: FormView,
) -> AppResult<HttpResponse> {
    let chosen = view.form.company_id.trim().parse::<CompanyNumber>().ok();
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
        view.status,
        &LeadFormPage {
            ctx: PageContext::app(session, me, "leads"),
            form: view.form,
            errors: view.errors,
            members,
            companies,
            statuses: LeadStatus::ALL,
            number: view.number,
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
    form_page(&db, &me, &session, FormView::fresh(form, None)).await
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
            return form_page(&db, &me, &session, FormView::invalid(form, errors, None)).await;
        }
    };
    let actor = me.member.id.clone();
    let limits = me.tenant.limits.clone();
    let created = db
        .write(&me.tenant.scope, move |tx| {
            // Counted under the tenant's write lock: two requests cannot both
            // take the last free slot.
            if let Err(hit) = tx.check_quota(&limits, Quota::Leads, 1)? {
                return Ok(Err(Err(hit)));
            }
            Ok(tx.create_lead(&input, &actor)?.map_err(Ok))
        })
        .await?;
    match created {
        Ok(lead) => {
            tracing::info!(lead.number = lead.number.get(), "lead created");
            session.flash("success", "Lead created.");
            Ok(see_other(&format!("/leads/{}", lead.number)))
        }
        Err(Ok(refusal)) => {
            let view = FormView::invalid(form, refusal.to_errors(), None);
            form_page(&db, &me, &session, view).await
        }
        Err(Err(hit)) => {
            let view = FormView::over_quota(form, &hit);
            form_page(&db, &me, &session, view).await
        }
    }
}

pub(super) async fn edit_lead_form(
    me: CurrentMember,
    session: TypedSession,
    db: web::Data<Db>,
    path: web::Path<LeadNumber>,
) -> AppResult<HttpResponse> {
    let number = path.into_inner();
    let form = db
        .read(&me.tenant.scope, move |tx| {
            let lead = tx
                .find_lead_by_number(number)?
                .ok_or(QueryError::NotFound)?;
            let company = match &lead.company_id {
                Some(id) => tx.find_company(id)?.map(|c| c.number),
                None => None,
            };
            Ok(lead.form(company))
        })
        .await?;
    form_page(&db, &me, &session, FormView::fresh(form, Some(number))).await
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
    path: web::Path<LeadNumber>,
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
        Ok(UpdateOutcome::Refused(refusal)) => refusal.to_errors(),
        Err(errors) => errors,
    };
    form_page(
        &db,
        &me,
        &session,
        FormView::invalid(form, errors, Some(number)),
    )
    .await
}
