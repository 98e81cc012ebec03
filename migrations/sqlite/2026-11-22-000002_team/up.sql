-- Team: invitations, and the mail outbox that delivers invites, password resets
-- and the workspace finder's lists.
--
-- invites and outbox are tenant tables. mail_queue is the worker's index of due
-- tenant mail: only (tenant_id, outbox_id, due_at), no content, so the worker can
-- find its jobs without reading any tenant's rows. platform_outbox holds mail that
-- belongs to no tenant (the /find list): a recipient and the rendered message, which
-- names the workspaces of that one address and nothing else; a row is deleted once
-- delivered.
CREATE TABLE invites (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    email TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    token_hash TEXT NOT NULL,
    invited_by TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    accepted_at TIMESTAMP,
    revoked_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, invited_by) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX invites_email ON invites (tenant_id, email);

CREATE TABLE outbox (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    purpose TEXT NOT NULL CHECK (purpose IN ('invite', 'password_reset')),
    invite_id TEXT,
    user_id TEXT,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    link TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'cancelled')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, invite_id) REFERENCES invites (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX outbox_invite ON outbox (tenant_id, invite_id);

CREATE TABLE mail_queue (
    tenant_id TEXT NOT NULL,
    outbox_id TEXT NOT NULL,
    due_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, outbox_id),
    FOREIGN KEY (tenant_id, outbox_id) REFERENCES outbox (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX mail_queue_due ON mail_queue (due_at);

CREATE TABLE platform_outbox (
    id TEXT NOT NULL PRIMARY KEY,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'cancelled')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX platform_outbox_due ON platform_outbox (status, next_attempt_at);
