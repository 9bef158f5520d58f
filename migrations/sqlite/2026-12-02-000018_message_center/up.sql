-- The Message center (issue 15): what needs an admin's eye, posted once each by the jobs and by
-- the changes that cause it, and who has read what.
CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL REFERENCES tenants (id),
    kind TEXT NOT NULL,
    -- What it is about, so the same thing is said once ("renewal:12:2026-12-01:14").
    about TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    link TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (tenant_id, about)
);
CREATE INDEX messages_newest ON messages (tenant_id, id);
CREATE TABLE message_reads (
    tenant_id INTEGER NOT NULL REFERENCES tenants (id),
    user_id INTEGER NOT NULL REFERENCES users (id),
    message_id INTEGER NOT NULL REFERENCES messages (id),
    read_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, user_id, message_id)
);
