//! Tenantry: a server-rendered, multi-tenant CRM.
//!
//! The modules, from the outside in:
//! - `cli`, `config`, `telemetry`, `startup`: the process and its server;
//! - `tenancy`: which tenant a request's host names;
//! - `auth`: sessions, CSRF, passwords, and the extractors handlers ask for;
//! - `routes`: the handlers, per area (apex, tenant);
//! - `render`, `error`: how pages and failures become responses;
//! - `domain`: validated values;
//! - `db`: the only place that talks to the database, tenant-scoped by construction;
//! - `mail`: composing mail and the worker that delivers the outbox.

pub mod auth;
pub mod cli;
pub mod client;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod http;
pub mod mail;
pub mod ratelimit;
pub mod render;
pub mod routes;
pub mod secret;
pub mod startup;
pub mod telemetry;
pub mod tenancy;
