//! What a plan allows: a request budget and quotas, and the refusal a quota gives.

use std::fmt;

/// A tenant's limits: its plan's, with any per-tenant override applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The plan's name (`free`, `team`, `business`, or one an operator added).
    pub plan: String,
    /// The plan's display name.
    pub plan_title: String,
    /// Requests per minute on the tenant's host (the burst is a minute's worth).
    pub requests_per_minute: u32,
    /// Active members.
    pub members: u32,
    /// Leads.
    pub leads: u32,
    /// Companies.
    pub companies: u32,
    /// Rows in one CSV import.
    pub import_rows: u32,
    /// Mails the tenant may queue per day (UTC).
    pub mails_per_day: u32,
}

impl Limits {
    /// The limit on `quota`.
    pub fn of(&self, quota: Quota) -> u32 {
        match quota {
            Quota::Members => self.members,
            Quota::Leads => self.leads,
            Quota::Companies => self.companies,
            Quota::ImportRows => self.import_rows,
            Quota::MailsPerDay => self.mails_per_day,
        }
    }

    /// A refusal of `wanted` more of `quota` when `used` are taken, if that
    /// passes the limit.
    pub fn check(&self, quota: Quota, used: i64, wanted: i64) -> Result<(), QuotaHit> {
        let limit = self.of(quota);
        if used.saturating_add(wanted) > i64::from(limit) {
            Err(QuotaHit {
                quota,
                limit,
                used,
                plan_title: self.plan_title.clone(),
            })
        } else {
            Ok(())
        }
    }
}

/// What a quota counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quota {
    /// Members of the workspace.
    Members,
    /// Leads.
    Leads,
    /// Companies.
    Companies,
    /// Rows in one import.
    ImportRows,
    /// Mails queued today.
    MailsPerDay,
}

impl Quota {
    /// Every quota, in the order pages list them.
    pub const ALL: [Quota; 5] = [
        Quota::Members,
        Quota::Leads,
        Quota::Companies,
        Quota::ImportRows,
        Quota::MailsPerDay,
    ];

    /// The quota's name in `tenants usage` and its flags.
    pub fn as_str(self) -> &'static str {
        match self {
            Quota::Members => "members",
            Quota::Leads => "leads",
            Quota::Companies => "companies",
            Quota::ImportRows => "import_rows",
            Quota::MailsPerDay => "mails_per_day",
        }
    }

    /// How a page names what is counted (plural).
    pub fn noun(self) -> &'static str {
        match self {
            Quota::Members => "members",
            Quota::Leads => "leads",
            Quota::Companies => "companies",
            Quota::ImportRows => "rows per import",
            Quota::MailsPerDay => "mails a day",
        }
    }
}

/// A quota that a write would pass: nothing was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotaHit {
    /// Which quota.
    pub quota: Quota,
    /// Its limit for this tenant.
    pub limit: u32,
    /// How many are taken now.
    pub used: i64,
    /// The tenant's plan, as pages name it.
    pub plan_title: String,
}

impl fmt::Display for QuotaHit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "This workspace has reached its limit of {} {} on the {} plan. \
             Nothing was saved; an admin can change the plan to raise it.",
            group_thousands(u64::from(self.limit)),
            self.quota.noun(),
            self.plan_title
        )
    }
}

/// `12345` as `12,345`.
pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn free() -> Limits {
        Limits {
            plan: "free".into(),
            plan_title: "Free".into(),
            requests_per_minute: 1200,
            members: 5,
            leads: 2000,
            companies: 500,
            import_rows: 1000,
            mails_per_day: 100,
        }
    }

    #[test]
    fn the_last_free_slot_is_taken_once() {
        let limits = free();
        assert!(limits.check(Quota::Members, 4, 1).is_ok());
        let hit = limits.check(Quota::Members, 5, 1).unwrap_err();
        assert_eq!(hit.limit, 5);
        assert!(
            hit.to_string()
                .contains("limit of 5 members on the Free plan")
        );
        let hit = limits.check(Quota::Leads, 1990, 11).unwrap_err();
        assert!(hit.to_string().contains("2,000 leads"));
    }

    #[test]
    fn groups_thousands() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1000), "1,000");
        assert_eq!(group_thousands(5_000_000), "5,000,000");
    }
}
