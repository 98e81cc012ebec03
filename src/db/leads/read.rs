//! Reads of single leads and their history, a company's leads, and the
//! dashboard's summary.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Activity, Lead, StatusSummary};
use crate::db::notes::HistoryPage;
use crate::db::schema::{lead_activities, leads};
use crate::db::scope::TenantTx;
use crate::domain::{ActivityKind, Before, CompanyId, LeadId, LeadNumber, LeadStatus, MemberId};

/// An activity row as read: id, actor, from, to, when, kind, detail.
type ActivityRow = (
    String,
    Option<MemberId>,
    Option<LeadStatus>,
    LeadStatus,
    NaiveDateTime,
    ActivityKind,
    Option<String>,
);

impl TenantTx<'_> {
    /// The lead with this URL number.
    pub fn find_lead_by_number(&mut self, number: LeadNumber) -> QueryResult<Option<Lead>> {
        self.scope
            .leads()
            .filter(leads::number.eq(number))
            .select(Lead::as_select())
            .first(self.conn)
            .optional()
    }

    /// A page of a lead's status changes, newest first: `limit` of them, older
    /// than `before` if given.
    pub fn list_activity(
        &mut self,
        lead: &LeadId,
        before: Option<&Before>,
        limit: i64,
    ) -> QueryResult<HistoryPage<Activity>> {
        let mut query = self
            .scope
            .lead_activities()
            .filter(lead_activities::lead_id.eq(lead))
            .into_boxed();
        if let Some(b) = before {
            query = query.filter(
                lead_activities::created_at
                    .lt(b.at)
                    .or(lead_activities::created_at
                        .eq(b.at)
                        .and(lead_activities::id.lt(b.id.clone()))),
            );
        }
        let rows: Vec<ActivityRow> = query
            .order((
                lead_activities::created_at.desc(),
                lead_activities::id.desc(),
            ))
            .select((
                lead_activities::id,
                lead_activities::actor_id,
                lead_activities::from_status,
                lead_activities::to_status,
                lead_activities::created_at,
                lead_activities::kind,
                lead_activities::detail,
            ))
            .limit(limit.saturating_add(1))
            .load(self.conn)?;
        let names = self.member_names(rows.iter().filter_map(|r| r.1.clone()).collect())?;
        Ok(HistoryPage::from_rows(
            rows,
            limit,
            |(id, _, _, _, at, _, _)| Before::after_row(*at, id.clone()),
            |(_, actor, from_status, to_status, created_at, kind, detail)| Activity {
                kind,
                actor_name: actor.and_then(|a| names.get(&a).map(|(n, _)| n.clone())),
                from_status,
                to_status,
                detail: detail.unwrap_or_default(),
                created_at,
            },
        ))
    }

    /// Count and value of leads per status, every status listed, from the
    /// tenant's counters.
    pub fn lead_status_summary(&mut self) -> QueryResult<Vec<StatusSummary>> {
        let rows = self.lead_counts()?;
        Ok(LeadStatus::ALL
            .into_iter()
            .map(|status| {
                let (count, value) = rows
                    .iter()
                    .find(|r| r.0 == status)
                    .map_or((0, 0), |r| (r.1, r.2));
                StatusSummary {
                    status,
                    count,
                    value,
                }
            })
            .collect())
    }

    /// The leads of a company, most recently changed first, at most `limit`.
    pub fn leads_of_company(&mut self, company: &CompanyId, limit: i64) -> QueryResult<Vec<Lead>> {
        self.scope
            .leads()
            .filter(leads::company_id.eq(company))
            .order((leads::updated_at.desc(), leads::number.desc()))
            .select(Lead::as_select())
            .limit(limit)
            .load(self.conn)
    }

    /// How many leads a company has.
    pub fn count_leads_of_company(&mut self, company: &CompanyId) -> QueryResult<i64> {
        self.scope
            .leads()
            .filter(leads::company_id.eq(company))
            .count()
            .get_result(self.conn)
    }
}
