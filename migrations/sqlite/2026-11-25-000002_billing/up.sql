-- Billing: payment methods, bills and their lines, and the subscription lifecycle's dates.
CREATE TABLE payment_methods (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    holder TEXT NOT NULL CHECK (length(holder) BETWEEN 1 AND 120),
    brand TEXT NOT NULL,
    last4 TEXT NOT NULL CHECK (length(last4) = 4),
    exp_month INTEGER NOT NULL CHECK (exp_month BETWEEN 1 AND 12),
    exp_year INTEGER NOT NULL CHECK (exp_year BETWEEN 2000 AND 2200),
    -- What the payment gateway needs to charge the card again; never the card number.
    gateway_token TEXT NOT NULL,
    is_default BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    removed_at TIMESTAMP
);
CREATE INDEX payment_methods_tenant ON payment_methods (tenant_id);

ALTER TABLE subscriptions ADD COLUMN payment_method_id INTEGER REFERENCES payment_methods(id);
ALTER TABLE subscriptions ADD COLUMN past_due_since TIMESTAMP;
ALTER TABLE subscriptions ADD COLUMN disabled_at TIMESTAMP;
ALTER TABLE subscriptions ADD COLUMN ended_at TIMESTAMP;

CREATE TABLE bills (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    number TEXT NOT NULL UNIQUE,
    issued_at TIMESTAMP NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('purchase', 'renewal', 'change', 'refund', 'invoice')),
    state TEXT NOT NULL CHECK (state IN ('paid', 'failed', 'due', 'credited')),
    total_cents BIGINT NOT NULL,
    payment_method TEXT NOT NULL DEFAULT ''
);
CREATE INDEX bills_tenant ON bills (tenant_id, issued_at);

CREATE TABLE bill_lines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bill_id INTEGER NOT NULL REFERENCES bills(id),
    subscription_id INTEGER REFERENCES subscriptions(id),
    description TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    amount_cents BIGINT NOT NULL
);
CREATE INDEX bill_lines_bill ON bill_lines (bill_id);
