-- Follow-up tasks on leads: a title, a due date and the member who is to do
-- it. Open until done; done ones stay, with who did them and when.
CREATE TABLE tasks (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    lead_id TEXT NOT NULL,
    title TEXT NOT NULL,
    due_on DATE NOT NULL,
    assignee_id TEXT NOT NULL,
    created_by TEXT,
    created_at TIMESTAMP NOT NULL,
    done_at TIMESTAMP,
    done_by TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, lead_id) REFERENCES leads (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, assignee_id) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, done_by) REFERENCES users (tenant_id, id)
);
-- A member's open tasks by due date (GET /tasks, the dashboard).
CREATE INDEX tasks_open_by_assignee ON tasks (tenant_id, assignee_id, done_at, due_on);
-- A lead's tasks.
CREATE INDEX tasks_by_lead ON tasks (tenant_id, lead_id, due_on);

-- A lead's activity records more than status changes: what kind of entry it
-- is, and a line about it (a task's title, a note's opening, the new owner).
-- `to_status` stays the lead's status at that moment.
ALTER TABLE lead_activities ADD COLUMN kind TEXT NOT NULL DEFAULT 'status'
    CHECK (kind IN ('status', 'note', 'task', 'task_done', 'owner', 'import'));
ALTER TABLE lead_activities ADD COLUMN detail TEXT;

ALTER TABLE tasks ENABLE ROW LEVEL SECURITY;
ALTER TABLE tasks FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tasks
    USING (tenant_id = current_setting('app.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
