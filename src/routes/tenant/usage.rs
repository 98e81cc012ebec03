//! `GET /settings/usage` (admin): each quota and the request budget with its use.

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use askama::Template;

use crate::auth::{AdminMember, TypedSession};
use crate::budget::{Allowance, TenantBudgets};
use crate::db::Db;
use crate::db::plans::UsageDay;
use crate::domain::{Quota, group_thousands};
use crate::error::AppResult;
use crate::render::{PageContext, render};

/// One bar: what is counted, how much is used, and the limit.
pub(super) struct Bar {
    label: &'static str,
    used: u64,
    limit: u64,
    note: &'static str,
}

impl Bar {
    fn used_text(&self) -> String {
        group_thousands(self.used)
    }

    fn limit_text(&self) -> String {
        group_thousands(self.limit)
    }

    fn percent(&self) -> u64 {
        self.used
            .saturating_mul(100)
            .checked_div(self.limit)
            .map_or(100, |p| p.min(100))
    }

    /// Past 80%: shown as a warning.
    fn high(&self) -> u64 {
        self.limit.saturating_mul(8) / 10
    }
}

#[derive(Template)]
#[template(path = "usage.html")]
struct UsagePage {
    ctx: PageContext,
    plan: String,
    bars: Vec<Bar>,
    stored: String,
    requests_today: String,
    days: Vec<UsageDay>,
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

pub(super) async fn show_usage(
    AdminMember(me): AdminMember,
    session: TypedSession,
    req: HttpRequest,
    db: web::Data<Db>,
    budgets: web::Data<TenantBudgets>,
) -> AppResult<HttpResponse> {
    let sizes = db.read(&me.tenant.scope, |tx| tx.usage_sizes()).await?;
    let mut days = db.usage_days(me.tenant.scope.tenant_id().clone()).await?;
    let today = crate::db::now().date();
    let recorded_today = days
        .iter()
        .find(|d| d.day == today)
        .map_or(0, |d| d.requests);
    let requests_today = recorded_today + budgets.unflushed_requests(me.tenant.scope.tenant_id());
    days.truncate(14);
    let limits = &me.tenant.limits;
    let allowance = req.extensions().get::<Allowance>().copied();
    let per_minute = u64::from(limits.requests_per_minute);
    let mut bars = vec![Bar {
        label: "Requests this minute",
        used: allowance.map_or(0, |a| per_minute - u64::from(a.remaining).min(per_minute)),
        limit: per_minute,
        note: "Every page and download counts; past the limit, requests wait a moment (429).",
    }];
    for (quota, used, note) in [
        (
            Quota::Members,
            sizes.members,
            "Active members; deactivated ones do not count.",
        ),
        (Quota::Leads, sizes.leads, ""),
        (Quota::Companies, sizes.companies, ""),
        (
            Quota::MailsPerDay,
            sizes.mails_today,
            "Invitations and password resets since midnight (UTC).",
        ),
    ] {
        bars.push(Bar {
            label: match quota {
                Quota::Members => "Members",
                Quota::Leads => "Leads",
                Quota::Companies => "Companies",
                Quota::ImportRows => "Rows per import",
                Quota::MailsPerDay => "Mails today",
            },
            used: count(used),
            limit: u64::from(limits.of(quota)),
            note,
        });
    }
    render(
        actix_web::http::StatusCode::OK,
        &UsagePage {
            ctx: PageContext::app(&session, &me, "settings"),
            plan: limits.plan_title.clone(),
            bars,
            stored: human_bytes(sizes.stored_bytes),
            requests_today: group_thousands(count(requests_today)),
            days,
        },
    )
}

fn human_bytes(n: i64) -> String {
    let n = count(n) as f64;
    if n < 1024.0 * 1024.0 {
        format!("{:.1} KiB", n / 1024.0)
    } else {
        format!("{:.1} MiB", n / (1024.0 * 1024.0))
    }
}
