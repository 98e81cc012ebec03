//! Reads of single leads and their history, a company's leads, and the
//! dashboard's summary.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::{Activity, Lead, StatusSummary};
use crate::db::schema::{lead_activities, leads};
use crate::db::scope::TenantTx;
use crate::domain::{CompanyId, LeadId, LeadNumber, LeadStatus, MemberId};

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

    /// A lead's status changes, oldest first.
    pub fn list_activity(&mut self, lead: &LeadId) -> QueryResult<Vec<Activity>> {
        let rows: Vec<(
            Option<MemberId>,
            Option<LeadStatus>,
            LeadStatus,
            NaiveDateTime,
        )> = self
            .scope
            .lead_activities()
            .filter(lead_activities::lead_id.eq(lead))
            .order(lead_activities::created_at.asc())
            .select((
                lead_activities::actor_id,
                lead_activities::from_status,
                lead_activities::to_status,
                lead_activities::created_at,
            ))
            .load(self.conn)?;
        let names = self.member_names(rows.iter().filter_map(|r| r.0.clone()).collect())?;
        Ok(rows
            .into_iter()
            .map(|(actor, from_status, to_status, created_at)| Activity {
                actor_name: actor.and_then(|a| names.get(&a).map(|(n, _)| n.clone())),
                from_status,
                to_status,
                created_at,
            })
            .collect())
    }

    /// Count and value of leads per status, every status listed.
    pub fn lead_status_summary(&mut self) -> QueryResult<Vec<StatusSummary>> {
        let rows: Vec<(LeadStatus, i64, i64)> = self
            .scope
            .leads()
            .group_by(leads::status)
            .select((
                leads::status,
                diesel::dsl::count_star(),
                // SUM of BIGINT is NUMERIC on PostgreSQL; both read it back as BIGINT.
                diesel::dsl::sql::<BigInt>("CAST(COALESCE(SUM(value), 0) AS BIGINT)"),
            ))
            .load(self.conn)?;
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
