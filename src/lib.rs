//! Tenantry: a server-rendered, multi-tenant CRM.
//!
//! The modules form layers that point one way: each imports only from the layers
//! below it, so each can be read, tested and replaced on its own. Bottom up:
//!
//! 1. leaves, which import nothing from the crate: `domain` (validated values:
//!    `Slug`, `Email`, `Role`, `LeadStatus`, ids and per-tenant numbers, the lead and
//!    company forms' parsing), `secret` (random tokens, their hashes), `http` (the
//!    303 answer, query encoding, the `next` check), `blocking` (work off the async
//!    workers);
//! 2. `config`: every setting, read once; then `client`, the client address that
//!    limits and logs use (it needs `TRUSTED_PROXIES`);
//! 3. `db`: the only place that talks to the database, tenant-scoped by
//!    construction. It returns Diesel's `QueryResult` inside a unit of work and its
//!    own `DbError` for a unit as a whole, and knows nothing of HTTP or pages;
//! 4. `error`: `AppError`, the status of every failure and the error page;
//!    `ratelimit`, whose refusals are `AppError`s; `budget`, each tenant's
//!    request budget and the usage counted in memory; `problem`, the API's
//!    errors as `application/problem+json`;
//! 5. `tenancy` (which tenant a host names) and `auth` (sessions, CSRF, passwords,
//!    and the extractors handlers ask for);
//! 6. `render`: pages, and what every page knows;
//! 7. `routes` (the handlers, per area), `api` (the JSON API: keys and tokens,
//!    its handlers, the OpenAPI document) and `mail` (composing mail, and the
//!    worker that delivers the outbox);
//! 8. `telemetry`, `startup` and `cli`: the process, its server and its commands;
//!    `bundle`, the file that `tenants export` writes and `tenants import` reads.

pub mod api;
pub mod auth;
pub mod blocking;
pub mod budget;
pub mod bundle;
pub mod cli;
pub mod client;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod http;
pub mod mail;
pub mod problem;
pub mod ratelimit;
pub mod render;
pub mod routes;
pub mod secret;
pub mod startup;
pub mod telemetry;
pub mod tenancy;
