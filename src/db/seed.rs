//! Demo data for `tenantry seed`: organisations with members, companies, leads and
//! notes, written in bulk.
//!
//! Each tenant is one transaction that creates the tenant row, then enters it
//! exactly as a request does (on PostgreSQL that sets `app.tenant_id`, so the
//! rows pass row-level security, which is forced even for the owner), and writes
//! its rows with multi-row inserts of [`super::leads::INSERT_CHUNK`] rows.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::companies::NewCompanyRow;
use super::leads::{INSERT_CHUNK, Lead};
use super::migrate::{latest_version, migrate_home};
use super::notes::NewNoteRow;
use super::operator::OperatorDb;
use super::schema::{companies, member_directory, notes, tenants, users};
use super::scope::{TenantScope, TenantTx};
use super::stores::{Home, connect_home, create_home};
use super::tenants::{NewTenant, NewUser};
use super::{insert_many, now};
use crate::domain::{CompanyId, LeadId, LeadStatus, MemberId, NoteId, Placement, Role, TenantId};
use crate::domain::{CompanyNumber, LeadNumber};

/// Demo tenants are on the largest built-in plan: they hold up to a million leads
/// and benchmarks send them thousands of requests.
pub const SEED_PLAN: &str = "business";

/// Members per demo tenant (the first is the admin).
pub const SEED_MEMBERS: usize = 5;
/// The password of every demo member.
pub const SEED_PASSWORD: &str = "demo-password";

const FIRST: [&str; 16] = [
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "John", "Margaret", "Ken",
    "Radia", "Linus", "Zoë", "Søren", "Aiko", "Mateo",
];
const LAST: [&str; 16] = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "McCarthy",
    "Hamilton",
    "Thompson",
    "Perlman",
    "Torvalds",
    "Müller",
    "Kierkegaard",
    "Tanaka",
    "García",
];
const COMPANY_WORDS: [&str; 12] = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Wonka",
];
const SOURCES: [&str; 5] = ["Website", "Referral", "Event", "Cold call", "Partner"];

/// The slug of demo tenant `i` (1-based).
pub fn seed_slug(i: u32) -> String {
    format!("demo-{i}")
}

/// The admin email of a demo tenant.
pub fn seed_admin_email(slug: &str) -> String {
    format!("admin@{slug}.test")
}

impl OperatorDb {
    /// Creates demo tenant `slug` with `leads` leads in `placement`, unless a
    /// tenant has that slug already. Returns whether it was created.
    pub fn seed_tenant(
        &mut self,
        slug: &str,
        leads: u32,
        password_hash: &str,
        seed: u64,
        placement: Placement,
    ) -> anyhow::Result<bool> {
        let exists = tenants::table
            .filter(tenants::slug.eq(slug))
            .count()
            .get_result::<i64>(&mut self.conn)?
            > 0;
        if exists {
            return Ok(false);
        }
        let tenant_id = TenantId::generate();
        let name = format!("Demo {slug}");
        let mut rng = StdRng::seed_from_u64(seed);
        if placement == Placement::Shared {
            self.conn.transaction::<_, anyhow::Error, _>(|conn| {
                let mut row = NewTenant::at(&tenant_id, slug, &name, &Home::Main);
                row.plan = SEED_PLAN;
                diesel::insert_into(tenants::table)
                    .values(row)
                    .execute(conn)?;
                let scope = TenantScope::new(tenant_id.clone(), Home::Main);
                let mut tx = TenantTx::enter(conn, &scope)?;
                tx.seed_rows(slug, leads, password_hash, &mut rng)?;
                Ok(())
            })?;
            return Ok(true);
        }
        // Elsewhere: the store first, then the directory row that makes it exist.
        let home = match placement {
            Placement::Schema => {
                Home::Schema(self.layout.new_store_name(placement, Some(&tenant_id)))
            }
            _ => Home::Dedicated {
                name: self.layout.new_store_name(placement, Some(&tenant_id)),
                server: None,
            },
        };
        create_home(&self.layout, &home)?;
        migrate_home(&self.layout, &home)?;
        let version = latest_version(self.layout.kind());
        let mut row = NewTenant::at(&tenant_id, slug, &name, &home);
        row.store_version = Some(&version);
        row.plan = SEED_PLAN;
        let mut store = connect_home(&self.layout, &home, true)?;
        let addresses = store.transaction::<_, anyhow::Error, _>(|conn| {
            diesel::insert_into(tenants::table)
                .values(&row)
                .execute(conn)?;
            let scope = TenantScope::new(tenant_id.clone(), home.clone());
            let mut tx = TenantTx::enter(conn, &scope)?;
            tx.seed_rows(slug, leads, password_hash, &mut rng)?;
            Ok(member_directory::table
                .select(member_directory::email)
                .load::<String>(tx.conn)?)
        })?;
        self.conn.transaction::<_, anyhow::Error, _>(|conn| {
            diesel::insert_into(tenants::table)
                .values(&row)
                .execute(conn)?;
            for email in &addresses {
                diesel::insert_into(member_directory::table)
                    .values((
                        member_directory::email.eq(email),
                        member_directory::tenant_id.eq(&tenant_id),
                    ))
                    .execute(conn)?;
            }
            Ok(())
        })?;
        Ok(true)
    }
}

impl TenantTx<'_> {
    fn seed_rows(
        &mut self,
        slug: &str,
        lead_count: u32,
        password_hash: &str,
        rng: &mut StdRng,
    ) -> QueryResult<()> {
        let tenant_id = self.scope.tenant_id().clone();
        let at = now();
        let year_ago = at - Duration::days(365);

        let member_ids: Vec<MemberId> = (0..SEED_MEMBERS).map(|_| MemberId::generate()).collect();
        let member_rows: Vec<(String, String)> = (0..SEED_MEMBERS)
            .map(|i| {
                if i == 0 {
                    (seed_admin_email(slug), format!("Admin of {slug}"))
                } else {
                    (
                        format!("member{i}@{slug}.test"),
                        format!("{} {}", FIRST[i % FIRST.len()], LAST[(i * 7) % LAST.len()]),
                    )
                }
            })
            .collect();
        let users_batch: Vec<NewUser<'_>> = member_rows
            .iter()
            .zip(&member_ids)
            .enumerate()
            .map(|(i, ((email, name), id))| NewUser {
                tenant_id: &tenant_id,
                id,
                email,
                name,
                password_hash,
                role: if i == 0 { Role::Admin } else { Role::Member },
                active: true,
                created_at: at,
                updated_at: at,
            })
            .collect();
        insert_many!(self.conn, users::table, users_batch);
        let listed: Vec<_> = member_rows
            .iter()
            .map(|(email, _)| {
                (
                    member_directory::email.eq(email.as_str()),
                    member_directory::tenant_id.eq(&tenant_id),
                )
            })
            .collect();
        insert_many!(self.conn, member_directory::table, listed);

        let company_count = (lead_count / 20).max(1) as usize;
        let company_ids: Vec<CompanyId> =
            (0..company_count).map(|_| CompanyId::generate()).collect();
        let company_names: Vec<String> = (0..company_count)
            .map(|i| {
                format!(
                    "{} {} {}",
                    COMPANY_WORDS[i % COMPANY_WORDS.len()],
                    ["Ltd", "GmbH", "Inc", "SARL", "KK"][i % 5],
                    i + 1
                )
            })
            .collect();
        for chunk in (0..company_count).collect::<Vec<_>>().chunks(INSERT_CHUNK) {
            let rows: Vec<NewCompanyRow<'_>> = chunk
                .iter()
                .map(|&i| NewCompanyRow {
                    tenant_id: &tenant_id,
                    id: &company_ids[i],
                    number: CompanyNumber::new(i as i64 + 1),
                    name: &company_names[i],
                    domain: "",
                    created_at: at,
                    updated_at: at,
                })
                .collect();
            insert_many!(self.conn, companies::table, rows);
        }

        let mut batch = Vec::with_capacity(lead_count as usize);
        for i in 0..lead_count as usize {
            let first = FIRST[rng.gen_range(0..FIRST.len())];
            let last = LAST[rng.gen_range(0..LAST.len())];
            let created = year_ago + Duration::seconds(rng.gen_range(0..365 * 86_400));
            let updated = created + Duration::seconds(rng.gen_range(0..30 * 86_400));
            batch.push(Lead {
                id: LeadId::generate(),
                // Numbered on insert.
                number: LeadNumber::new(0),
                name: format!("{first} {last}"),
                email: format!(
                    "{}.{}{i}@example.test",
                    first.to_lowercase(),
                    last.to_lowercase()
                ),
                phone: format!("+1 555 {:04}", i % 10_000),
                company_id: (rng.gen_range(0..10) < 8)
                    .then(|| company_ids[rng.gen_range(0..company_count)].clone()),
                status: LeadStatus::ALL[rng.gen_range(0..LeadStatus::ALL.len())],
                value: rng.gen_range(0..5_000_000),
                owner_id: (rng.gen_range(0..10) < 9)
                    .then(|| member_ids[rng.gen_range(0..SEED_MEMBERS)].clone()),
                source: SOURCES[rng.gen_range(0..SOURCES.len())].to_owned(),
                created_at: created.min(at),
                updated_at: updated.min(at),
            });
        }
        // One note on every tenth lead.
        let noted: Vec<(LeadId, NaiveDateTime)> = batch
            .iter()
            .step_by(10)
            .map(|l| (l.id.clone(), l.updated_at))
            .collect();
        self.insert_leads_without_activity(batch)?;
        for chunk in noted.chunks(INSERT_CHUNK) {
            let rows: Vec<NewNoteRow<'_>> = chunk
                .iter()
                .map(|(lead, at)| NewNoteRow {
                    tenant_id: &tenant_id,
                    id: NoteId::generate(),
                    lead_id: lead,
                    author_id: &member_ids[rng.gen_range(0..SEED_MEMBERS)],
                    body: "Spoke on the phone; follow up next week.",
                    created_at: *at,
                })
                .collect();
            insert_many!(self.conn, notes::table, rows);
        }
        Ok(())
    }
}

/// Seeds demo tenants `demo-1` to `demo-{tenants}` with `leads` leads each,
/// skipping those that exist. Every member gets `password_hash` (the argon2 hash of
/// [`SEED_PASSWORD`], made by the caller: hashing is not the data layer's job).
/// Calls `progress(i, created)` after each. Runs as the URL's role (the owner, on
/// PostgreSQL). Returns how many tenants were created.
pub fn seed_demo(
    layout: &super::stores::StoreLayout,
    password_hash: &str,
    tenants: u32,
    leads: u32,
    placement: Placement,
    mut progress: impl FnMut(u32, bool),
) -> anyhow::Result<u32> {
    let hash = password_hash;
    let mut operator = OperatorDb::connect(layout)?;
    let mut created = 0;
    for i in 1..=tenants {
        let made = operator.seed_tenant(&seed_slug(i), leads, hash, u64::from(i), placement)?;
        created += u32::from(made);
        progress(i, made);
    }
    Ok(created)
}
