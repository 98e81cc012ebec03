-- Whether a tenant's writes may go to this store: `open`; `paused` while the
-- tenant is being moved (its write requests answer 503, reads go on); `moved`
-- once it lives elsewhere, so that a server still pointing here writes nothing.
-- Every writing transaction reads it from the tenant's own row in its store (the
-- directory row for a shared tenant, the store's copy otherwise) under the
-- per-tenant write lock, so the switch is seen by every server at once.
-- `generation` counts the moves.
ALTER TABLE tenants ADD COLUMN writes TEXT NOT NULL DEFAULT 'open'
    CHECK (writes IN ('open', 'paused', 'moved'));
ALTER TABLE tenants ADD COLUMN generation BIGINT NOT NULL DEFAULT 0;
