-- Service requests: a tenant's requests to billing support, their threads, and what the
-- cancellation's data-safety note needs (when the tenant last exported its data).
CREATE TABLE service_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    kind TEXT NOT NULL CHECK (kind IN ('cancel_subscription', 'add_licenses', 'remove_licenses',
        'resend_activation_email', 'remap_agreement', 'volume_licensing_invoice',
        'billing_question', 'other')),
    subject TEXT NOT NULL CHECK (length(subject) BETWEEN 1 AND 200),
    description TEXT NOT NULL CHECK (length(description) BETWEEN 1 AND 8000),
    subscription_id INTEGER REFERENCES subscriptions(id),
    quantity INTEGER CHECK (quantity IS NULL OR quantity > 0),
    state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'in_progress',
        'waiting_on_customer', 'resolved', 'closed')),
    -- The admin who filed it; emails about the request go to them.
    requester_id INTEGER NOT NULL REFERENCES users(id),
    assigned_staff_id INTEGER REFERENCES staff(id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX service_requests_tenant ON service_requests (tenant_id, updated_at, id);
CREATE INDEX service_requests_queue ON service_requests (updated_at, id);
CREATE INDEX service_requests_state ON service_requests (state, updated_at, id);
CREATE INDEX service_requests_assigned ON service_requests (assigned_staff_id, updated_at, id);

CREATE TABLE service_request_comments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id INTEGER NOT NULL REFERENCES service_requests(id),
    -- Who wrote it, as the thread shows it: a tenant admin, a staff member, or allot itself.
    author_kind TEXT NOT NULL CHECK (author_kind IN ('customer', 'staff', 'system')),
    author TEXT NOT NULL,
    body TEXT NOT NULL CHECK (length(body) BETWEEN 1 AND 8000),
    -- Internal notes are for staff only: never on a tenant's page, in an email or an export.
    internal BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX service_request_comments_request ON service_request_comments (request_id, id);

ALTER TABLE tenants ADD COLUMN data_exported_at TIMESTAMP;
-- The page an email points to, relative to the server's public address.
ALTER TABLE outbox ADD COLUMN link TEXT;
