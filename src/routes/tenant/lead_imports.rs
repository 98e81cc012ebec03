//! The import history (`GET /leads/imports`) and undo
//! (`POST /leads/imports/{id}/undo`): what each import created is deleted and
//! what it updated gets its earlier fields back, unless any of those leads
//! changed since; then nothing changes and the page says which.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use crate::auth::csrf::NoFields;
use crate::auth::{CsrfForm, CurrentMember, SignedIn, TypedSession};
use crate::db::audit::{NewAuditEvent, actor_of};
use crate::db::imports::{ImportEntry, UndoRefusal};
use crate::db::{Db, QueryError};
use crate::domain::{AuditAction, LeadNumber, RequestMeta};
use crate::error::AppResult;
use crate::http::see_other;
use crate::render::{PageContext, render};

#[derive(Template)]
#[template(path = "leads/imports.html")]
struct ImportsPage {
    ctx: PageContext,
    imports: Vec<ImportEntry>,
    /// Why an undo was refused.
    refusal: Option<Refusal>,
}

/// An undo refused because leads changed since.
struct Refusal {
    message: String,
    changed: Vec<(LeadNumber, String)>,
}

async fn imports_page(
    db: &Db,
    me: &CurrentMember,
    session: &TypedSession,
    refusal: Option<Refusal>,
) -> AppResult<HttpResponse> {
    let imports = db.read(&me.tenant.scope, |tx| tx.list_imports()).await?;
    let status = if refusal.is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    render(
        status,
        &ImportsPage {
            ctx: PageContext::app(session, me, "leads"),
            imports,
            refusal,
        },
    )
}

pub(super) async fn list_imports(
    visitor: SignedIn,
    session: TypedSession,
) -> AppResult<HttpResponse> {
    let (me, imports) = visitor.read(|tx, _| tx.list_imports()).await?;
    render(
        StatusCode::OK,
        &ImportsPage {
            ctx: PageContext::app(&session, &me, "leads"),
            imports,
            refusal: None,
        },
    )
}

#[tracing::instrument(name = "undo import", skip_all)]
pub(super) async fn undo_import(
    meta: RequestMeta,
    me: CurrentMember,
    session: TypedSession,
    db: web::Data<Db>,
    path: web::Path<String>,
    _form: CsrfForm<NoFields>,
) -> AppResult<HttpResponse> {
    let id = path.into_inner();
    let actor = me.member.id.clone();
    let audit_actor = actor_of(&me.member);
    let undone = db
        .write(&me.tenant.scope, move |tx| {
            let outcome = tx.undo_import(&id, &actor)?.ok_or(QueryError::NotFound)?;
            if let Ok(o) = &outcome {
                tx.record_audit(
                    &NewAuditEvent::new(audit_actor, AuditAction::ImportUndone, &meta)
                        .target("leads")
                        .detail(format!(
                            "{{\"import\":\"{id}\",\"deleted\":{},\"restored\":{}}}",
                            o.deleted, o.restored
                        )),
                )?;
            }
            Ok(outcome)
        })
        .await?;
    match undone {
        Ok(o) => {
            tracing::info!(deleted = o.deleted, restored = o.restored, "import undone");
            session.flash(
                "success",
                format!(
                    "Import undone: {} lead(s) deleted, {} restored.",
                    o.deleted, o.restored
                ),
            );
            Ok(see_other("/leads/imports"))
        }
        Err(UndoRefusal::AlreadyUndone) => {
            session.flash("success", "That import was undone already.");
            Ok(see_other("/leads/imports"))
        }
        Err(UndoRefusal::ChangedSince {
            changed,
            total,
            deleted,
        }) => {
            let mut message = format!(
                "Nothing was undone: {total} lead(s) this import created or updated changed since"
            );
            if deleted > 0 {
                message.push_str(&format!(" ({deleted} of them deleted)"));
            }
            message.push_str(". Undoing it would lose those changes.");
            let refusal = Refusal { message, changed };
            imports_page(&db, &me, &session, Some(refusal)).await
        }
    }
}
