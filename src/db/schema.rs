//! Table definitions, private to `db`. Written by hand to stay portable: only types
//! that both backends and the multi-connection support. Every tenant table's key
//! starts with `tenant_id`, the column a sharded PostgreSQL (Citus) distributes by.

diesel::table! {
    /// The directory of organisations. Not a tenant table: resolving a host reads it.
    tenants (id) {
        id -> Text,
        slug -> Text,
        name -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        placement -> Text,
        store -> Nullable<Text>,
        database_url -> Nullable<Text>,
        store_version -> Nullable<Text>,
        plan -> Text,
        writes -> Text,
        generation -> BigInt,
        limits -> Nullable<Text>,
    }
}

diesel::table! {
    /// Plans: a request budget and quotas each (`free`, `team`, `business` built in).
    plans (name) {
        name -> Text,
        title -> Text,
        requests_per_minute -> Integer,
        max_members -> Integer,
        max_leads -> Integer,
        max_companies -> Integer,
        max_import_rows -> Integer,
        max_mails_per_day -> Integer,
    }
}

diesel::table! {
    /// Usage per tenant and day (kept 90 days), in the main database.
    tenant_usage (tenant_id, day) {
        tenant_id -> Text,
        day -> Date,
        requests -> BigInt,
        mails_sent -> BigInt,
        members -> Nullable<BigInt>,
        leads -> Nullable<BigInt>,
        companies -> Nullable<BigInt>,
        stored_bytes -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// Leads and their value per tenant and status, kept by triggers on `leads`.
    lead_counts (tenant_id, status) {
        tenant_id -> Text,
        status -> Text,
        leads -> BigInt,
        value -> BigInt,
    }
}

diesel::table! {
    /// Which tenants placed outside the main database have mail due, and when.
    mail_due (tenant_id) {
        tenant_id -> Text,
        due_at -> Timestamp,
        stamp -> Text,
    }
}

diesel::table! {
    /// Schemas and databases made ahead of sign-ups.
    spare_stores (name) {
        name -> Text,
        placement -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Moves of tenants between placements: where from, where to, the last step
    /// reached, and the report. The operator's only.
    tenant_moves (id) {
        id -> Text,
        tenant_id -> Text,
        from_placement -> Text,
        from_store -> Nullable<Text>,
        from_server -> Nullable<Text>,
        to_placement -> Text,
        to_store -> Nullable<Text>,
        to_server -> Nullable<Text>,
        step -> Text,
        started_at -> Timestamp,
        paused_at -> Nullable<Timestamp>,
        switched_at -> Nullable<Timestamp>,
        finished_at -> Nullable<Timestamp>,
        report -> Nullable<Text>,
    }
}

diesel::table! {
    /// Members of an organisation, each with their own password.
    users (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        email -> Text,
        name -> Text,
        password_hash -> Text,
        role -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Single-use links: the signup hand-off and password resets. Only a SHA-256 of
    /// the token is stored.
    auth_tokens (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        user_id -> Text,
        purpose -> Text,
        token_hash -> Text,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// The workspace finder's index: an active member's address and their tenant.
    member_directory (email, tenant_id) {
        email -> Text,
        tenant_id -> Text,
    }
}

diesel::table! {
    /// CSV rows staged by an import before it publishes them as leads.
    import_staging (tenant_id, import_id, seq) {
        tenant_id -> Text,
        import_id -> Text,
        seq -> BigInt,
        lead_id -> Text,
        activity_id -> Text,
        name -> Text,
        email -> Text,
        phone -> Text,
        company_name -> Text,
        status -> Text,
        value -> BigInt,
        owner_id -> Nullable<Text>,
        source -> Text,
        staged_at -> Timestamp,
        blank -> Text,
    }
}

diesel::table! {
    /// Login sessions, one per log-in. The cookie carries a random token; only its
    /// SHA-256 is stored, so a copy of this table logs nobody in.
    sessions (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        user_id -> Text,
        token_hash -> Text,
        user_agent -> Text,
        client_addr -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    /// API keys. Only a SHA-256 of the key is stored, beside its first characters
    /// (`prefix`) for telling keys apart.
    api_keys (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        name -> Text,
        prefix -> Text,
        key_hash -> Text,
        scope -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Invitations to join a tenant. Only a SHA-256 of the link token is stored.
    invites (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        email -> Text,
        role -> Text,
        token_hash -> Text,
        invited_by -> Text,
        expires_at -> Timestamp,
        accepted_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// A tenant's outgoing mail, written in the transaction that caused it. The body
    /// holds a placeholder where a link token goes: the token is minted when the mail
    /// is sent, so no raw token is ever stored.
    outbox (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        purpose -> Text,
        invite_id -> Nullable<Text>,
        user_id -> Nullable<Text>,
        recipient -> Text,
        subject -> Text,
        body_text -> Text,
        body_html -> Text,
        link -> Nullable<Text>,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// The mail worker's index of due tenant mail: ids and times only, no content.
    /// Not a tenant table (no row-level security): the worker reads it outside any
    /// tenant to learn which tenant each job belongs to.
    mail_queue (tenant_id, outbox_id) {
        tenant_id -> Text,
        outbox_id -> Text,
        due_at -> Timestamp,
    }
}

diesel::table! {
    /// Mail that belongs to no tenant (the workspace finder's list). Deleted once sent.
    platform_outbox (id) {
        id -> Text,
        recipient -> Text,
        subject -> Text,
        body_text -> Text,
        body_html -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Organisations a tenant sells to. `number` is the id shown in URLs, per tenant.
    companies (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        number -> BigInt,
        name -> Text,
        domain -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// People a tenant may sell to. `number` is the id shown in URLs, per tenant;
    /// `value` is in minor units (cents).
    leads (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        number -> BigInt,
        name -> Text,
        email -> Text,
        phone -> Text,
        company_id -> Nullable<Text>,
        status -> Text,
        value -> BigInt,
        owner_id -> Nullable<Text>,
        source -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    /// Notes that members write on a lead.
    notes (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        lead_id -> Text,
        author_id -> Text,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// A lead's status changes.
    lead_activities (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        lead_id -> Text,
        actor_id -> Nullable<Text>,
        from_status -> Nullable<Text>,
        to_status -> Text,
        created_at -> Timestamp,
        kind -> Text,
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    /// Committed CSV imports, for their history and undo.
    lead_imports (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        on_duplicate -> Text,
        created_count -> BigInt,
        updated_count -> BigInt,
        skipped_count -> BigInt,
        undone_at -> Nullable<Timestamp>,
        undone_by -> Nullable<Text>,
    }
}

diesel::table! {
    /// What each import did to each lead.
    lead_import_changes (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        import_id -> Text,
        lead_id -> Text,
        kind -> Text,
        before -> Nullable<Text>,
        after_at -> Timestamp,
    }
}

diesel::table! {
    /// Follow-up tasks on leads, each for one member, open until done.
    tasks (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        lead_id -> Text,
        title -> Text,
        due_on -> Date,
        assignee_id -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        done_at -> Nullable<Timestamp>,
        done_by -> Nullable<Text>,
    }
}

diesel::table! {
    /// The audit log: security and admin events. Append-only: the app's role may
    /// only insert and select (PostgreSQL grants; SQLite triggers).
    audit_log (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        seq -> BigInt,
        at -> Timestamp,
        actor_kind -> Text,
        actor_id -> Nullable<Text>,
        actor_label -> Text,
        action -> Text,
        target -> Nullable<Text>,
        detail -> Nullable<Text>,
        client_ip -> Nullable<Text>,
        request_id -> Nullable<Text>,
    }
}

diesel::joinable!(users -> tenants (tenant_id));
diesel::joinable!(member_directory -> tenants (tenant_id));
diesel::joinable!(mail_due -> tenants (tenant_id));
diesel::allow_tables_to_appear_in_same_query!(
    tenants,
    mail_due,
    spare_stores,
    tenant_moves,
    member_directory,
    import_staging,
    users,
    auth_tokens,
    sessions,
    api_keys,
    invites,
    outbox,
    mail_queue,
    platform_outbox,
    companies,
    leads,
    lead_counts,
    notes,
    lead_activities,
    tasks,
    lead_imports,
    lead_import_changes,
    audit_log
);

/// Tables that hold tenant data; each has row-level security on PostgreSQL, and
/// start-up checks that it does.
pub const TENANT_TABLES: &[&str] = &[
    "tenant_usage",
    "users",
    "auth_tokens",
    "sessions",
    "api_keys",
    "import_staging",
    "invites",
    "outbox",
    "companies",
    "leads",
    "lead_counts",
    "notes",
    "lead_activities",
    "tasks",
    "lead_imports",
    "lead_import_changes",
    "audit_log",
];

/// Tenant tables the app may add to and read, never change: on PostgreSQL the
/// app's role holds only `SELECT` and `INSERT` on them, on SQLite triggers refuse
/// `UPDATE` and `DELETE` (named `{table}_no_update` and `{table}_no_delete`).
/// The start-up check refuses a database where either is not so.
pub const APPEND_ONLY_TABLES: &[&str] = &["audit_log"];

/// Tables that carry a `tenant_id` but are indexes read across tenants, and so
/// have no row-level security: the mail worker's queue of due jobs (tenant id, mail
/// id, due time), which it must read to know which tenant each job belongs to, and
/// the workspace finder's directory (address, tenant id), which `/find` must read
/// to know which tenants an address belongs to. The start-up check skips exactly
/// these; any other table with a `tenant_id` column must be under RLS.
pub const CROSS_TENANT_INDEX_TABLES: &[&str] = &["mail_queue", "member_directory", "mail_due"];

/// The tables outside any tenant (the directory and the mail queues) and the
/// privileges the app's role needs on each, no more: the start-up check refuses
/// any other. The directory is never deleted from by the app (that is the
/// operator's `tenants delete`, as the owner).
pub const PLATFORM_TABLE_PRIVILEGES: &[(&str, &[&str])] = &[
    ("tenants", &["SELECT", "INSERT", "UPDATE"]),
    ("mail_queue", &["SELECT", "INSERT", "UPDATE", "DELETE"]),
    ("platform_outbox", &["SELECT", "INSERT", "UPDATE", "DELETE"]),
    ("member_directory", &["SELECT", "INSERT", "DELETE"]),
    ("mail_due", &["SELECT", "INSERT", "UPDATE", "DELETE"]),
    ("spare_stores", &["SELECT", "UPDATE", "DELETE"]),
    ("tenant_moves", &[]),
    ("plans", &["SELECT"]),
    ("__diesel_schema_migrations", &["SELECT"]),
];
