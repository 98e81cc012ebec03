//! Integration tests: the real application over real HTTP, on SQLite and on
//! PostgreSQL (see `helpers::both_backends!`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod direct;
mod helpers;
mod pg;
mod smtp;

mod api;
mod audit;
mod auth;
mod bulk;
mod bundle;
mod companies;
mod dashboard;
mod erase;
mod export_zip;
mod headers;
mod hosts;
mod import_load;
mod imports;
mod lead_csv;
mod lead_history;
mod leads;
mod limits;
mod moves;
mod nul;
mod pipeline;
mod placements;
mod plans;
mod process;
mod proxies;
mod races;
mod rls;
mod seed;
mod sessions;
mod signup;
mod storage;
mod tasks;
mod team;
mod write_pause;
