//! The lead list: its query string, filters, and pages. A lead's own page is in
//! `lead_show`, its form in `lead_form`, the CSV files in `lead_csv`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::auth::{SignedIn, TypedSession};
use crate::db::leads::{LEAD_PAGE_SIZE, LeadFilter, LeadPage, ListRow, MAX_LEAD_LIST_PAGE_SIZE};
use crate::domain::{CompanyNumber, LeadNumber, LeadSort, LeadStatus, MemberId};
use crate::error::AppResult;
use crate::render::{PageContext, render};

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
    /// `page`: every row of this page starts selected for a bulk change.
    pub(super) select: String,
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
            company: self.company.trim().parse::<CompanyNumber>().ok(),
            sort: LeadSort::parse(&self.sort),
        }
    }

    /// The cursor: the last lead of the previous page.
    fn after(&self) -> Option<LeadNumber> {
        self.after.trim().parse().ok()
    }

    /// Rows per page asked for, within what a visitor may ask.
    fn per_page(&self) -> i64 {
        self.per
            .trim()
            .parse::<i64>()
            .unwrap_or(LEAD_PAGE_SIZE)
            .clamp(1, MAX_LEAD_LIST_PAGE_SIZE)
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
    page: LeadPage<ListRow>,
    members: Vec<(MemberId, String, bool)>,
    /// `None` when the tenant has too many companies for a drop-down.
    companies: Option<Vec<(CompanyNumber, String)>>,
    /// The company filtered by, when there is no drop-down to show it.
    filtered_company: Option<(CompanyNumber, String)>,
    statuses: [LeadStatus; 6],
    next_url: Option<String>,
    first_url: Option<String>,
    export_url: String,
    /// This page's address (with its cursor), where a bulk change comes back to.
    here: String,
    /// Whether every row starts selected.
    select_all: bool,
    select_all_url: String,
    select_none_url: String,
}

pub(super) async fn list_leads(
    visitor: SignedIn,
    session: TypedSession,
    query: web::Query<LeadListQuery>,
) -> AppResult<HttpResponse> {
    let query = query.into_inner();
    let filter = query.filter();
    let after = query.after();
    let per = query.per_page();
    let company_filter = filter.company;
    // The session check and the page's queries in one read.
    let (me, (page, members, companies, filtered_company)) = visitor
        .read(move |tx, _| {
            // Past the limit, a drop-down is no way to choose: `None` says so.
            let companies = tx.company_choices_within(MAX_COMPANY_FILTER_CHOICES)?;
            let filtered = match (company_filter, &companies) {
                (Some(n), None) => tx.find_company_by_number(n)?.map(|c| (c.number, c.name)),
                _ => None,
            };
            Ok((
                tx.shown_lead_page(&filter, after, per)?,
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
    let cursor = after.map(|n| format!("after={n}")).unwrap_or_default();
    let here = with(&cursor);
    let select_all_url = with(&if cursor.is_empty() {
        "select=page".to_owned()
    } else {
        format!("{cursor}&select=page")
    });
    let select_all = query.select == "page";
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
            select_none_url: here.clone(),
            here,
            select_all,
            select_all_url,
        },
    )
}
