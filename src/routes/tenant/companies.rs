//! Companies: list, the company's page with its leads, create, edit, delete.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::csrf::NoFields;
use crate::auth::{CsrfForm, CurrentMember, TypedSession};
use crate::db::audit::{NewAuditEvent, actor_of};
use crate::db::companies::{Company, CompanyPage};
use crate::db::leads::LeadRow;
use crate::db::{Db, QueryError};
use crate::domain::forms::{CompanyForm, FormErrors};
use crate::domain::{AuditAction, CompanyNumber, Quota, RequestMeta};
use crate::error::AppResult;
use crate::http::see_other;
use crate::render::{PageContext, render};

/// Leads shown on a company's page.
const COMPANY_LEADS_SHOWN: i64 = 100;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct CompanyListQuery {
    after: String,
}

#[derive(Template)]
#[template(path = "companies/list.html")]
struct CompanyListPage {
    ctx: PageContext,
    page: CompanyPage,
    first_url: Option<String>,
}

pub(super) async fn list_companies(
    me: CurrentMember,
    session: TypedSession,
    db: web::Data<Db>,
    query: web::Query<CompanyListQuery>,
) -> AppResult<HttpResponse> {
    let after = query.after.trim().parse::<CompanyNumber>().ok();
    let page = db
        .read(&me.tenant.scope, move |tx| tx.list_companies(after))
        .await?;
    render(
        StatusCode::OK,
        &CompanyListPage {
            ctx: PageContext::app(&session, &me, "companies"),
            page,
            first_url: after.map(|_| "/companies".to_owned()),
        },
    )
}

#[derive(Template)]
#[template(path = "companies/form.html")]
struct CompanyFormPage {
    ctx: PageContext,
    form: CompanyForm,
    errors: FormErrors,
    number: Option<CompanyNumber>,
}

impl CompanyFormPage {
    fn action(&self) -> String {
        match self.number {
            Some(n) => format!("/companies/{n}"),
            None => "/companies".to_owned(),
        }
    }
}

fn form_page(
    me: &CurrentMember,
    session: &TypedSession,
    status: StatusCode,
    form: CompanyForm,
    errors: FormErrors,
    number: Option<CompanyNumber>,
) -> AppResult<HttpResponse> {
    render(
        status,
        &CompanyFormPage {
            ctx: PageContext::app(session, me, "companies"),
            form,
            errors,
            number,
        },
    )
}

pub(super) async fn new_company_form(
    me: CurrentMember,
    session: TypedSession,
) -> AppResult<HttpResponse> {
    form_page(
        &me,
        &session,
        StatusCode::OK,
        CompanyForm::default(),
        FormErrors::default(),
        None,
    )
}

#[tracing::instrument(name = "create company", skip_all)]
pub(super) async fn create_company(
    me: CurrentMember,
    session: TypedSession,
    db: web::Data<Db>,
    form: CsrfForm<CompanyForm>,
) -> AppResult<HttpResponse> {
    let form = form.into_inner();
    let input = match form.parse() {
        Ok(input) => input,
        Err(errors) => {
            return form_page(
                &me,
                &session,
                StatusCode::UNPROCESSABLE_ENTITY,
                form,
                errors,
                None,
            );
        }
    };
    let limits = me.tenant.limits.clone();
    let created = db
        .write(&me.tenant.scope, move |tx| {
            if let Err(hit) = tx.check_quota(&limits, Quota::Companies, 1)? {
                return Ok(Err(hit));
            }
            tx.insert_company(&input).map(Ok)
        })
        .await?;
    let company = match created {
        Ok(company) => company,
        Err(hit) => {
            let mut errors = FormErrors::default();
            errors.add("form", hit.to_string());
            return form_page(&me, &session, StatusCode::FORBIDDEN, form, errors, None);
        }
    };
    tracing::info!(company.number = company.number.get(), "company created");
    session.flash("success", "Company created.");
    Ok(see_other(&format!("/companies/{}", company.number)))
}

#[derive(Template)]
#[template(path = "companies/show.html")]
struct CompanyShowPage {
    ctx: PageContext,
    company: Company,
    leads: Vec<LeadRow>,
    lead_count: i64,
}

pub(super) async fn show_company(
    me: CurrentMember,
    session: TypedSession,
    db: web::Data<Db>,
    path: web::Path<CompanyNumber>,
) -> AppResult<HttpResponse> {
    let number = path.into_inner();
    let (company, leads, lead_count) = db
        .read(&me.tenant.scope, move |tx| {
            let company = tx
                .find_company_by_number(number)?
                .ok_or(QueryError::NotFound)?;
            let leads = tx.leads_of_company(&company.id, COMPANY_LEADS_SHOWN)?;
            let leads = tx.describe_leads(leads)?;
            let count = tx.count_leads_of_company(&company.id)?;
            Ok((company, leads, count))
        })
        .await?;
    render(
        StatusCode::OK,
        &CompanyShowPage {
            ctx: PageContext::app(&session, &me, "companies"),
            company,
            leads,
            lead_count,
        },
    )
}

pub(super) async fn edit_company_form(
    me: CurrentMember,
    session: TypedSession,
    db: web::Data<Db>,
    path: web::Path<CompanyNumber>,
) -> AppResult<HttpResponse> {
    let number = path.into_inner();
    let company = db
        .read(&me.tenant.scope, move |tx| {
            tx.find_company_by_number(number)?
                .ok_or(QueryError::NotFound)
        })
        .await?;
    let form = CompanyForm {
        name: company.name,
        domain: company.domain,
    };
    form_page(
        &me,
        &session,
        StatusCode::OK,
        form,
        FormErrors::default(),
        Some(number),
    )
}

#[tracing::instrument(name = "update company", skip_all)]
pub(super) async fn update_company(
    me: CurrentMember,
    session: TypedSession,
    db: web::Data<Db>,
    path: web::Path<CompanyNumber>,
    form: CsrfForm<CompanyForm>,
) -> AppResult<HttpResponse> {
    let number = path.into_inner();
    let form = form.into_inner();
    let parsed = form.parse();
    let outcome = db
        .write(&me.tenant.scope, move |tx| {
            let company = tx
                .find_company_by_number(number)?
                .ok_or(QueryError::NotFound)?;
            match parsed {
                Ok(input) => {
                    tx.update_company(&company.id, &input)?;
                    Ok(Ok(()))
                }
                Err(errors) => Ok(Err(errors)),
            }
        })
        .await?;
    match outcome {
        Ok(()) => {
            session.flash("success", "Company saved.");
            Ok(see_other(&format!("/companies/{number}")))
        }
        Err(errors) => form_page(
            &me,
            &session,
            StatusCode::UNPROCESSABLE_ENTITY,
            form,
            errors,
            Some(number),
        ),
    }
}

#[tracing::instrument(name = "delete company", skip_all)]
pub(super) async fn delete_company(
    meta: RequestMeta,
    me: CurrentMember,
    session: TypedSession,
    db: web::Data<Db>,
    path: web::Path<CompanyNumber>,
    _form: CsrfForm<NoFields>,
) -> AppResult<HttpResponse> {
    let number = path.into_inner();
    let actor = actor_of(&me.member);
    let unlinked = db
        .write(&me.tenant.scope, move |tx| {
            let company = tx
                .find_company_by_number(number)?
                .ok_or(QueryError::NotFound)?;
            let unlinked = tx.delete_company(&company.id)?;
            tx.record_audit(
                &NewAuditEvent::new(actor, AuditAction::CompanyDeleted, &meta)
                    .target(format!("company {}", number.get()))
                    .detail(format!("{}; {unlinked} lead(s) unlinked", company.name)),
            )?;
            Ok(unlinked)
        })
        .await?;
    tracing::info!(
        company.number = number.get(),
        leads.unlinked = unlinked,
        "company deleted"
    );
    session.flash(
        "success",
        format!("Company deleted. Its {unlinked} lead(s) were kept, now without a company."),
    );
    Ok(see_other("/companies"))
}
