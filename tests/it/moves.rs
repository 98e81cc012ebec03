//! `tenantry tenants move`, run as the operator runs it (the real binary) while
//! the server serves the tenant: a client writes leads through the form every
//! few milliseconds and another tenant works beside it. Every write that got
//! 303 is there afterwards, the moving tenant's writes got 503 with
//! `Retry-After` and nothing else, the other tenant never saw a 503, and the
//! report's rows and checksums match on both sides. Then the move is killed
//! (SIGKILL) at each of its steps, and a rerun ends with the tenant served from
//! one place with all its rows.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use tenantry::domain::Placement;

use crate::direct::TenantHome;
use crate::helpers::{Backend, Browser, TestApp, new_client, postgres_enabled, spawn_app_with};
use crate::placements::{tenantry, tenantry_command, text};

/// An app whose host cache lasts a second, as the operator's command is told.
async fn app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |config| {
        config.tenant_cache_ttl = Duration::from_secs(1);
    })
    .await
}

/// The placements a tenant visits from `start` and back, on `backend`.
fn tour(backend: Backend, start: Placement) -> Vec<Placement> {
    let all: &[Placement] = match backend {
        Backend::Sqlite => &[Placement::Shared, Placement::Dedicated],
        Backend::Postgres => &[Placement::Shared, Placement::Schema, Placement::Dedicated],
    };
    let at = all.iter().position(|p| *p == start).unwrap_or(0);
    (1..=all.len()).map(|i| all[(at + i) % all.len()]).collect()
}

fn placement_of(app: &TestApp, slug: &str) -> Placement {
    TenantHome::of(app, slug).placement.parse().unwrap()
}

/// What a writer saw.
#[derive(Default)]
struct Tally {
    saved: Vec<String>,
    paused: usize,
    failures: Vec<String>,
}

/// Posts a new lead every few milliseconds until `stop`.
async fn keep_writing(app: &TestApp, client: &Browser, slug: &str, stop: &AtomicBool) -> Tally {
    let mut tally = Tally::default();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let name = format!("{slug} writer {n}");
        let token = app.csrf_with(client, slug).await;
        let r = app
            .post_raw(
                client,
                slug,
                "/leads",
                &[("csrf_token", &token), ("name", &name)],
            )
            .await;
        match r.status() {
            StatusCode::SEE_OTHER => tally.saved.push(name),
            StatusCode::SERVICE_UNAVAILABLE if r.headers().contains_key("retry-after") => {
                tally.paused += 1;
            }
            status => tally
                .failures
                .push(format!("{status}: {}", r.text().await.unwrap_or_default())),
        }
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    tally
}

/// Every lead name the tenant's own CSV export lists.
async fn lead_names(app: &TestApp, client: &Browser, slug: &str) -> Vec<String> {
    let mut r = app.get_with(client, slug, "/leads/export.csv").await;
    // Right after a move, a server whose host cache still names the old place
    // is told there to come back in a second, and looks the tenant up again.
    for _ in 0..3 {
        if r.status() != StatusCode::SERVICE_UNAVAILABLE || r.headers()["retry-after"] != "1" {
            break;
        }
        r = app.get_with(client, slug, "/leads/export.csv").await;
    }
    if r.status() != StatusCode::OK {
        let retry = r.headers().get("retry-after").cloned();
        panic!(
            "{} {retry:?} {}",
            r.status(),
            r.text().await.unwrap_or_default()
        );
    }
    let body = r.bytes().await.unwrap();
    let mut reader = csv::Reader::from_reader(&body[..]);
    let name = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "name")
        .expect("a name column");
    reader
        .records()
        .map(|r| r.unwrap()[name].to_owned())
        .collect()
}

/// Checks a move's report: every table's line says both sides match.
fn assert_report(out: &std::process::Output) {
    let said = text(out);
    assert!(out.status.success(), "the move failed:\n{said}");
    let tables: Vec<&str> = said
        .lines()
        .skip_while(|l| !l.starts_with("table "))
        .skip(1)
        .take_while(|l| !l.starts_with("moved "))
        .collect();
    assert_eq!(tables.len(), 14, "{said}");
    for line in tables {
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cells[1], cells[2], "rows differ: {line}");
        assert_eq!(cells.last(), Some(&"yes"), "{line}");
    }
    assert!(said.contains("writes paused "), "{said}");
}

async fn moves_while_the_tenant_works(backend: Backend) {
    let app = app(backend).await;
    let acme = new_client();
    app.sign_up_with(&acme, "acme").await;
    let globex = new_client();
    app.sign_up_with(&globex, "globex").await;
    for i in 0..20 {
        app.post_with(&acme, "acme", "/leads", &[("name", &format!("Before {i}"))])
            .await;
    }
    let r = app
        .post_with(&acme, "acme", "/leads", &[("name", "Ada Lovelace")])
        .await;
    let lead = crate::helpers::number_in_location(&r, "/leads/");
    let token = app.csrf_with(&acme, "acme").await;
    app.post_raw(
        &acme,
        "acme",
        &format!("/leads/{lead}/notes"),
        &[
            ("csrf_token", &token),
            ("body", "Prefers Tuesdays — ünïcode"),
        ],
    )
    .await;
    // An API key, which must keep working wherever the tenant goes.
    let r = app
        .post_with(
            &acme,
            "acme",
            "/settings/api/keys",
            &[
                ("name", "Integration"),
                ("scope", "read"),
                ("expires_in_days", "7"),
            ],
        )
        .await;
    let page = r.text().await.unwrap();
    let at = page.find("value=\"tnt_").expect("a new key") + "value=\"".len();
    let key = page[at..at + page[at..].find('"').unwrap()].to_owned();

    let stop = AtomicBool::new(false);
    let start = placement_of(&app, "acme");
    let tour = tour(backend, start);
    let moves = async {
        let mut reports = Vec::new();
        for to in &tour {
            tokio::time::sleep(Duration::from_millis(150)).await;
            let out = tenantry(
                &app.config,
                &["tenants", "move", "acme", "--to", to.as_str()],
            )
            .await;
            assert_report(&out);
            assert_eq!(placement_of(&app, "acme"), *to);
            reports.push(text(&out));
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
        stop.store(true, Ordering::Relaxed);
        reports
    };
    let other = async {
        let mut failures = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let r = app
                .post_with(&globex, "globex", "/leads", &[("name", "Grace")])
                .await;
            if r.status() != StatusCode::SEE_OTHER {
                failures.push(format!("POST {}", r.status()));
            }
            let r = app.get_with(&globex, "globex", "/leads").await;
            if r.status() != StatusCode::OK {
                failures.push(format!("GET {}", r.status()));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        failures
    };
    let (reports, tally, other_failures) =
        tokio::join!(moves, keep_writing(&app, &acme, "acme", &stop), other);

    assert!(
        tally.failures.is_empty(),
        "writes failed: {:?}",
        tally.failures
    );
    assert!(
        other_failures.is_empty(),
        "the other tenant saw {other_failures:?}"
    );
    assert!(
        tally.saved.len() > 20,
        "only {} writes got through",
        tally.saved.len()
    );
    let names = lead_names(&app, &acme, "acme").await;
    for saved in &tally.saved {
        assert!(names.contains(saved), "{saved} got 303 and is missing");
    }
    assert_eq!(names.len(), 21 + tally.saved.len(), "unexpected leads");
    // The counters came with it: each store's triggers counted the leads that
    // arrived, and those that left were taken off.
    let list = app
        .get_with(&acme, "acme", "/leads")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        list.contains(&format!(
            "{} leads match",
            tenantry::domain::group_thousands(names.len() as u64)
        )),
        "{list}"
    );
    // The note came along, and the member is still logged in (sessions move).
    let (status, page) = {
        let r = app.get_with(&acme, "acme", &format!("/leads/{lead}")).await;
        (r.status(), r.text().await.unwrap())
    };
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Prefers Tuesdays — ünïcode"), "{page}");
    // The API key came along.
    let me = new_client()
        .get(app.url("acme", "/api/v1/me"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK, "the key after the moves");
    // Back where it started, and nothing of it left in the other places.
    assert_eq!(placement_of(&app, "acme"), start);
    assert_eq!(reports.len(), tour.len());
    eprintln!(
        "{} writes saved, {} paused (503)\n{}",
        tally.saved.len(),
        tally.paused,
        reports.join("\n")
    );
}

/// SQLite: shared -> dedicated -> shared.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moves_while_the_tenant_works_on_sqlite() {
    moves_while_the_tenant_works(Backend::Sqlite).await;
}

/// PostgreSQL: shared -> schema -> dedicated -> shared.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moves_while_the_tenant_works_on_postgres() {
    if postgres_enabled() {
        moves_while_the_tenant_works(Backend::Postgres).await;
    }
}

/// Starts a move that stops at `step`, waits until it gets there, and kills it.
async fn kill_move_at(app: &TestApp, to: Placement, step: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut command = tenantry_command(&app.config, dir.path());
    command
        .args(["tenants", "move", "acme", "--to", to.as_str()])
        .env("TENANTRY_MOVE_HOLD_AT", step)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let step = step.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut child = command.spawn().expect("starting the move");
        let stderr = child.stderr.take().unwrap();
        let mut seen = Vec::new();
        for line in BufReader::new(stderr).lines() {
            let line = line.unwrap();
            if line.contains(&format!("holding at {step}")) {
                child.kill().expect("SIGKILL");
                child.wait().unwrap();
                drop(dir);
                return;
            }
            seen.push(line);
        }
        let _ = child.wait();
        panic!("the move ended before {step}: {}", seen.join("\n"));
    })
    .await
    .unwrap();
}

/// Whether any of the tenant's leads are in the main database's tables.
fn rows_in_main(app: &TestApp, tenant: &str) -> i64 {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = crate::direct::connect(app.backend, &app.config.migration_database_url);
    let q = format!("SELECT count(*) AS n FROM leads WHERE tenant_id = '{tenant}'");
    match &mut conn {
        crate::direct::TestConn::Sqlite(c) => diesel::sql_query(q).get_result::<N>(c).unwrap().n,
        crate::direct::TestConn::Postgresql(c) => {
            // As the owner, inside the tenant (row-level security is forced).
            c.transaction(|c| {
                diesel::sql_query("SELECT set_config('app.tenant_id', $1, true)")
                    .bind::<diesel::sql_types::Text, _>(tenant)
                    .execute(c)?;
                diesel::sql_query(q).get_result::<N>(c)
            })
            .unwrap()
            .n
        }
    }
}

async fn a_killed_move_is_finished_or_undone(backend: Backend, steps: &[&str]) {
    let app = app(backend).await;
    let acme = new_client();
    app.sign_up_with(&acme, "acme").await;
    for i in 0..30 {
        app.post_with(&acme, "acme", "/leads", &[("name", &format!("Kept {i}"))])
            .await;
    }
    let mut expected = 30;
    for step in steps {
        let from = placement_of(&app, "acme");
        let to = tour(backend, from)[0];
        kill_move_at(&app, to, step).await;
        // Served from one place: the directory names it, and it has every row.
        let during = lead_names(&app, &acme, "acme").await;
        assert_eq!(during.len(), expected, "after a kill at {step}");

        let out = tenantry(
            &app.config,
            &["tenants", "move", "acme", "--to", to.as_str()],
        )
        .await;
        let said = text(&out);
        assert!(
            out.status.success(),
            "the rerun after {step} failed:\n{said}"
        );
        let finished = matches!(*step, "switched" | "cleaned");
        assert!(
            said.contains(if finished {
                "finishing the move"
            } else {
                "undoing the move"
            }),
            "after {step}:\n{said}"
        );
        assert_eq!(placement_of(&app, "acme"), to, "after {step}");
        let home = TenantHome::of(&app, "acme");
        if to != Placement::Shared {
            assert_eq!(
                rows_in_main(&app, &home.id),
                0,
                "rows left in main after {step}"
            );
        }
        if backend == Backend::Sqlite {
            // The only tenant file is the one the directory names, if any.
            let files: Vec<_> = std::fs::read_dir(app.config.data_dir.join("tenants"))
                .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name()).collect())
                .unwrap_or_default();
            let files: Vec<_> = files
                .iter()
                .filter(|f| f.to_string_lossy().ends_with(".db"))
                .collect();
            assert_eq!(
                files.len(),
                usize::from(to == Placement::Dedicated),
                "{files:?}"
            );
        }
        // It writes again (this server's host cache and pools still named the
        // old place: its first requests there are told to come back in a
        // second while it looks the tenant up again), and kept everything.
        let name = format!("After {step}");
        let mut r = app
            .post_with(&acme, "acme", "/leads", &[("name", &name)])
            .await;
        for _ in 0..3 {
            if r.status() != StatusCode::SERVICE_UNAVAILABLE {
                break;
            }
            assert_eq!(r.headers()["retry-after"], "1", "after {step}");
            r = app
                .post_with(&acme, "acme", "/leads", &[("name", &name)])
                .await;
        }
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "writing after {step}");
        expected += 1;
        let names = lead_names(&app, &acme, "acme").await;
        assert_eq!(names.len(), expected, "after the rerun at {step}");
        assert!(names.contains(&"Kept 29".to_owned()));
    }
}

const STEPS: [&str; 6] = [
    "created", "copied", "paused", "verified", "switched", "cleaned",
];

/// SQLite: killed at every step, alternating between shared and dedicated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_move_is_finished_or_undone_on_sqlite() {
    a_killed_move_is_finished_or_undone(Backend::Sqlite, &STEPS).await;
}

/// PostgreSQL: killed at every step, touring shared, schema and dedicated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_move_is_finished_or_undone_on_postgres() {
    if postgres_enabled() {
        a_killed_move_is_finished_or_undone(Backend::Postgres, &STEPS).await;
    }
}

async fn a_dry_run_changes_nothing_and_bad_requests_are_refused(backend: Backend) {
    let app = app(backend).await;
    let acme = new_client();
    app.sign_up_with(&acme, "acme").await;
    app.post_with(&acme, "acme", "/leads", &[("name", "Ada")])
        .await;
    let from = placement_of(&app, "acme");
    let to = tour(backend, from)[0];
    let out = tenantry(
        &app.config,
        &["tenants", "move", "acme", "--to", to.as_str(), "--dry-run"],
    )
    .await;
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("expected write pause: about"), "{said}");
    assert!(said.contains("dry run: nothing changed"), "{said}");
    assert_eq!(placement_of(&app, "acme"), from);

    let same = tenantry(
        &app.config,
        &["tenants", "move", "acme", "--to", from.as_str()],
    )
    .await;
    assert!(!same.status.success());
    assert!(text(&same).contains("nothing to move"), "{}", text(&same));
    let nobody = tenantry(
        &app.config,
        &["tenants", "move", "nobody", "--to", "shared"],
    )
    .await;
    assert!(!nobody.status.success());
    assert!(
        text(&nobody).contains("no tenant has the slug"),
        "{}",
        text(&nobody)
    );
    if backend == Backend::Sqlite {
        let schema = tenantry(&app.config, &["tenants", "move", "acme", "--to", "schema"]).await;
        assert!(!schema.status.success());
        assert!(
            text(&schema).contains("needs PostgreSQL"),
            "{}",
            text(&schema)
        );
    }
    assert_eq!(
        lead_names(&app, &acme, "acme").await,
        vec!["Ada".to_owned()]
    );
}

crate::both_backends!(a_dry_run_changes_nothing_and_bad_requests_are_refused);
