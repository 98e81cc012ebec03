//! Bulk writes of leads from a CSV file, after the rows have been parsed.

use std::collections::HashMap;

use diesel::prelude::*;

use super::leads::Lead;
use super::now;
use super::schema::companies;
use super::scope::TenantTx;
use crate::domain::forms::{CompanyInput, LeadInput};
use crate::domain::{CompanyId, LeadId, LeadNumber};

/// One parsed CSV row whose company and owner are still names.
#[derive(Clone, Debug)]
pub struct ImportRow {
    /// Line in the file (the header is line 1).
    pub line: u64,
    /// The lead's own fields; `company` and `owner` are ignored.
    pub input: LeadInput,
    /// Company name, or blank.
    pub company_name: String,
    /// Owner's email, lowercase, or blank.
    pub owner_email: String,
}

/// What an import did.
#[derive(Clone, Debug, Default)]
pub struct ImportOutcome {
    /// Leads inserted.
    pub imported: usize,
    /// Companies created because no company had the row's name.
    pub companies_created: usize,
    /// Rows refused here (unknown owner), with their line and reason.
    pub refused: Vec<(u64, String)>,
}

impl TenantTx<'_> {
    /// Imports the rows, all or nothing: checks every row's owner (an active member
    /// of this tenant, matched by email) first, and if any row is refused here, or
    /// `refused_before` says the caller refused some already, writes nothing and
    /// returns the refusals. Otherwise creates the companies that do not exist yet
    /// (matched by exact name) and inserts every lead.
    pub fn import_leads(
        &mut self,
        rows: Vec<ImportRow>,
        refused_before: bool,
    ) -> QueryResult<ImportOutcome> {
        let mut outcome = ImportOutcome::default();
        let members = self.members_by_email()?;
        // Owners first, without writing anything: a file with a refused row
        // changes nothing.
        let mut owners = Vec::with_capacity(rows.len());
        for row in &rows {
            if row.owner_email.is_empty() {
                owners.push(None);
                continue;
            }
            match members.get(&row.owner_email) {
                Some((id, true)) => owners.push(Some(id.clone())),
                _ => outcome.refused.push((
                    row.line,
                    format!(
                        "owner_email: no active member of this workspace has the email {}",
                        row.owner_email
                    ),
                )),
            }
        }
        if refused_before || !outcome.refused.is_empty() {
            return Ok(outcome);
        }
        let mut company_ids: HashMap<String, CompanyId> = HashMap::new();
        let mut wanted: Vec<String> = rows
            .iter()
            .map(|r| r.company_name.clone())
            .filter(|n| !n.is_empty())
            .collect();
        wanted.sort();
        wanted.dedup();
        for chunk in wanted.chunks(500) {
            let found: Vec<(String, CompanyId)> = self
                .scope
                .companies()
                .filter(companies::name.eq_any(chunk))
                .order(companies::number.desc())
                .select((companies::name, companies::id))
                .load(self.conn)?;
            // Ordered newest first, so the oldest company of a name wins.
            company_ids.extend(found);
        }
        let at = now();
        let mut batch = Vec::with_capacity(rows.len());
        for (row, owner_id) in rows.into_iter().zip(owners) {
            let company_id = if row.company_name.is_empty() {
                None
            } else if let Some(id) = company_ids.get(&row.company_name) {
                Some(id.clone())
            } else {
                let company = self.insert_company(&CompanyInput {
                    name: row.company_name.clone(),
                    domain: String::new(),
                })?;
                outcome.companies_created += 1;
                company_ids.insert(row.company_name.clone(), company.id.clone());
                Some(company.id)
            };
            let input = row.input;
            batch.push(Lead {
                id: LeadId::generate(),
                // Numbered on insert.
                number: LeadNumber::new(0),
                name: input.name,
                email: input.email,
                phone: input.phone,
                company_id,
                status: input.status,
                value: input.value,
                owner_id,
                source: input.source,
                created_at: at,
                updated_at: at,
            });
        }
        outcome.imported = batch.len();
        self.insert_leads_bulk(batch)?;
        Ok(outcome)
    }
}
