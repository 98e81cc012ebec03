//! Bulk changes from the lead list (`POST /leads/bulk`): the selected leads
//! (`lead_ids`, their numbers) get a status, an owner, or are deleted, all in
//! one transaction and each recorded in the lead's activity (deletions in the
//! audit log). Deleting first shows a page naming how many; bad input shows
//! the selection again with the message, and changes nothing.

use std::collections::BTreeSet;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use crate::auth::{CsrfForm, CurrentMember, TypedSession};
use crate::db::audit::{NewAuditEvent, actor_of};
use crate::db::leads::{BulkChange, Lead, MAX_LEAD_LIST_PAGE_SIZE};
use crate::db::{Db, QueryError};
use crate::domain::forms::{FormErrors, LeadRefusal};
use crate::domain::{AuditAction, LeadNumber, LeadStatus, MemberId, RequestMeta};
use crate::error::AppResult;
use crate::http::{safe_next, see_other};
use crate::render::{PageContext, render};

/// The bulk form as typed: every field kept, to show again if refused.
#[derive(Debug, Default, Clone)]
pub(super) struct BulkForm {
    action: String,
    status: String,
    owner_id: String,
    /// The selected leads' numbers, as sent.
    lead_ids: Vec<String>,
    /// The list (with its filters) to come back to.
    next: String,
    /// `yes` once a deletion was confirmed.
    confirm: String,
}

impl BulkForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut form = BulkForm::default();
        for (name, value) in pairs {
            match name.as_str() {
                "action" => form.action = value,
                "status" => form.status = value,
                "owner_id" => form.owner_id = value,
                "lead_ids" => form.lead_ids.push(value),
                "next" => form.next = value,
                "confirm" => form.confirm = value,
                _ => {}
            }
        }
        form
    }

    /// The change and the selected numbers, or the messages by field.
    fn parse(&self) -> Result<(BulkChange, Vec<LeadNumber>), FormErrors> {
        let mut errors = FormErrors::default();
        let mut numbers = BTreeSet::new();
        for raw in &self.lead_ids {
            match raw.trim().parse::<LeadNumber>() {
                Ok(n) => {
                    numbers.insert(n);
                }
                Err(_) => errors.add(
                    "lead_ids",
                    "The selection holds something that is not a lead.",
                ),
            }
        }
        if numbers.is_empty() {
            errors.add("lead_ids", "Select at least one lead.");
        } else if numbers.len() as i64 > MAX_LEAD_LIST_PAGE_SIZE {
            errors.add(
                "lead_ids",
                format!("Select at most {MAX_LEAD_LIST_PAGE_SIZE} leads at a time."),
            );
        }
        let change = match self.action.as_str() {
            "status" => match self.status.trim().parse::<LeadStatus>() {
                Ok(s) => Some(BulkChange::Status(s)),
                Err(_) => {
                    errors.add("status", "Choose the status to give them.");
                    None
                }
            },
            "owner" => {
                let owner = self.owner_id.trim();
                Some(BulkChange::Owner(
                    Some(owner)
                        .filter(|o| !o.is_empty())
                        .map(|o| MemberId::from_string(o.to_owned())),
                ))
            }
            "delete" => Some(BulkChange::Delete),
            _ => {
                errors.add("action", "Choose what to do with them.");
                None
            }
        };
        match change {
            Some(change) if errors.is_empty() => Ok((change, numbers.into_iter().collect())),
            _ => Err(errors),
        }
    }

    fn next(&self) -> String {
        if self.next.is_empty() {
            "/leads".to_owned()
        } else {
            safe_next(Some(&self.next))
        }
    }
}

#[derive(Template)]
#[template(path = "leads/bulk.html")]
struct BulkPage {
    ctx: PageContext,
    form: BulkForm,
    errors: FormErrors,
    /// The selected leads of this tenant.
    leads: Vec<Lead>,
    /// Selected numbers that are no lead here.
    missing: usize,
    members: Vec<(MemberId, String, bool)>,
    statuses: [LeadStatus; 6],
    /// Whether this asks to confirm a deletion (else: the form, refused).
    confirming: bool,
    back: String,
}

/// The selection shown again: the refused form with its messages (422), or a
/// deletion to confirm (200).
async fn bulk_page(
    db: &Db,
    me: &CurrentMember,
    session: &TypedSession,
    form: BulkForm,
    errors: FormErrors,
) -> AppResult<HttpResponse> {
    let numbers: Vec<LeadNumber> = form
        .lead_ids
        .iter()
        .filter_map(|n| n.trim().parse().ok())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .take(usize::try_from(MAX_LEAD_LIST_PAGE_SIZE).unwrap_or(200))
        .collect();
    let asked = numbers.len();
    let (leads, members) = db
        .read(&me.tenant.scope, move |tx| {
            Ok((tx.leads_by_numbers(&numbers)?, tx.member_choices()?))
        })
        .await?;
    let confirming = errors.is_empty();
    let status = if confirming {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let back = form.next();
    render(
        status,
        &BulkPage {
            ctx: PageContext::app(session, me, "leads"),
            missing: asked - leads.len(),
            form,
            errors,
            leads,
            members,
            statuses: LeadStatus::ALL,
            confirming,
            back,
        },
    )
}

#[tracing::instrument(name = "bulk change", skip_all)]
pub(super) async fn bulk_change(
    meta: RequestMeta,
    me: CurrentMember,
    session: TypedSession,
    db: web::Data<Db>,
    form: CsrfForm<Vec<(String, String)>>,
) -> AppResult<HttpResponse> {
    let form = BulkForm::from_pairs(form.into_inner());
    let (change, numbers) = match form.parse() {
        Ok(parsed) => parsed,
        Err(errors) => return bulk_page(&db, &me, &session, form, errors).await,
    };
    if change == BulkChange::Delete && form.confirm != "yes" {
        return bulk_page(&db, &me, &session, form, FormErrors::default()).await;
    }
    let actor = me.member.id.clone();
    let audit_actor = actor_of(&me.member);
    let asked = numbers.len();
    let outcome = {
        let change = change.clone();
        db.write(&me.tenant.scope, move |tx| {
            let leads = tx.leads_by_numbers(&numbers)?;
            if leads.is_empty() {
                return Err(QueryError::NotFound);
            }
            let found = leads.len();
            let changed = match tx.bulk_change(&leads, &change, &actor)? {
                Ok(n) => n,
                Err(refusal) => return Ok(Err(refusal)),
            };
            if change == BulkChange::Delete {
                for lead in &leads {
                    tx.record_audit(
                        &NewAuditEvent::new(audit_actor.clone(), AuditAction::LeadDeleted, &meta)
                            .target(format!("lead {}", lead.number.get()))
                            .detail(lead.name.clone()),
                    )?;
                }
            }
            Ok(Ok((found, changed)))
        })
        .await?
    };
    let (found, changed) = match outcome {
        Ok(counts) => counts,
        Err(LeadRefusal::UnknownOwner) => {
            let mut errors = FormErrors::default();
            errors.add(
                "owner_id",
                "Choose an active member of this workspace, or nobody.",
            );
            return bulk_page(&db, &me, &session, form, errors).await;
        }
        Err(_) => {
            let mut errors = FormErrors::default();
            errors.add("action", "That change cannot be made to these leads.");
            return bulk_page(&db, &me, &session, form, errors).await;
        }
    };
    tracing::info!(selected = asked, found, changed, "bulk change");
    let what = match &change {
        BulkChange::Status(s) => format!("moved to {}", s.as_str()),
        BulkChange::Owner(Some(_)) => "given a new owner".to_owned(),
        BulkChange::Owner(None) => "left without an owner".to_owned(),
        BulkChange::Delete => "deleted".to_owned(),
    };
    let mut message = format!("{} {what}.", leads_phrase(changed));
    if found > changed {
        message.push_str(&format!(" {} already so.", leads_phrase(found - changed)));
    }
    if asked > found {
        message.push_str(&format!(
            " {} no longer there.",
            leads_phrase(asked - found)
        ));
    }
    session.flash("success", message);
    Ok(see_other(&form.next()))
}

/// "1 lead", "3 leads".
fn leads_phrase(n: usize) -> String {
    if n == 1 {
        "1 lead".to_owned()
    } else {
        format!("{n} leads")
    }
}
