-- Volume licensing (seed 002): agreements, their orders and invoices, the OSM's activation
-- links, and the agreement subscriptions that pool with a tenant's direct ones.
CREATE TABLE agreements (
    id BIGSERIAL PRIMARY KEY,
    number TEXT NOT NULL UNIQUE CHECK (length(number) BETWEEN 3 AND 40),
    program TEXT NOT NULL CHECK (program IN ('enterprise', 'enterprise_subscription', 'campus_school')),
    customer TEXT NOT NULL CHECK (length(customer) BETWEEN 1 AND 120),
    -- The customer's name in lower case: its agreements share one billing and contract schedule.
    customer_key TEXT NOT NULL,
    osm_email TEXT NOT NULL,
    partner TEXT NOT NULL CHECK (length(partner) BETWEEN 1 AND 120),
    -- The schedule's first day; the anniversary comes back each year on its month and day.
    starts_on TIMESTAMP NOT NULL,
    -- The next anniversary, when the true-up of the year's reservations is billed.
    next_true_up TIMESTAMP NOT NULL,
    -- The tenant the agreement's licenses are attached to, once the OSM activated it.
    tenant_id BIGINT REFERENCES tenants(id),
    attached_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX agreements_customer ON agreements (customer_key);
CREATE INDEX agreements_tenant ON agreements (tenant_id);

CREATE TABLE agreement_orders (
    id BIGSERIAL PRIMARY KEY,
    agreement_id BIGINT NOT NULL REFERENCES agreements(id),
    kind TEXT NOT NULL CHECK (kind IN ('purchase_order', 'reservation')),
    -- A purchase order is pending until processed; an invoiced order's licenses count.
    state TEXT NOT NULL CHECK (state IN ('pending', 'invoiced')),
    placed_by TEXT NOT NULL,
    placed_at TIMESTAMP NOT NULL,
    provision_after TIMESTAMP NOT NULL,
    invoiced_at TIMESTAMP,
    -- A reservation is paid at the true-up after it.
    trued_up_at TIMESTAMP,
    discount_percent INTEGER NOT NULL CHECK (discount_percent BETWEEN 0 AND 100),
    total_cents BIGINT NOT NULL
);
CREATE INDEX agreement_orders_agreement ON agreement_orders (agreement_id);
CREATE INDEX agreement_orders_pending ON agreement_orders (state, provision_after);

CREATE TABLE agreement_order_lines (
    id BIGSERIAL PRIMARY KEY,
    order_id BIGINT NOT NULL REFERENCES agreement_orders(id),
    product_id BIGINT NOT NULL REFERENCES products(id),
    item TEXT NOT NULL CHECK (item IN ('licenses', 'production_instances', 'storage_gb')),
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    amount_cents BIGINT NOT NULL
);
CREATE INDEX agreement_order_lines_order ON agreement_order_lines (order_id);

CREATE TABLE agreement_activations (
    id BIGSERIAL PRIMARY KEY,
    agreement_id BIGINT NOT NULL REFERENCES agreements(id),
    -- SHA-256 of the link's token: the database never holds a usable link.
    token_hash TEXT NOT NULL UNIQUE,
    sent_to TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);

CREATE TABLE agreement_invoices (
    id BIGSERIAL PRIMARY KEY,
    agreement_id BIGINT NOT NULL REFERENCES agreements(id),
    number TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('purchase_order', 'true_up')),
    issued_at TIMESTAMP NOT NULL,
    addressed_to TEXT NOT NULL,
    total_cents BIGINT NOT NULL,
    -- The anniversary a true-up belongs to: one true-up per agreement and year.
    anniversary TIMESTAMP,
    UNIQUE (agreement_id, kind, anniversary)
);

-- An agreement's subscription in its tenant: one per product, "Volume licensing" on Your products.
CREATE TABLE agreement_subscriptions (
    subscription_id BIGINT PRIMARY KEY REFERENCES subscriptions(id),
    agreement_id BIGINT NOT NULL REFERENCES agreements(id),
    product_id BIGINT NOT NULL REFERENCES products(id),
    UNIQUE (agreement_id, product_id)
);

-- Add-ons a subscription carries besides its licenses (the seed's additional production
-- instances and storage): what an agreement must hold at least, or data is at risk.
CREATE TABLE subscription_addons (
    subscription_id BIGINT PRIMARY KEY REFERENCES subscriptions(id),
    production_instances INTEGER NOT NULL DEFAULT 0 CHECK (production_instances >= 0),
    storage_gb INTEGER NOT NULL DEFAULT 0 CHECK (storage_gb >= 0)
);

ALTER TABLE service_requests ADD COLUMN agreement_id BIGINT REFERENCES agreements(id);
-- Remap agreement: the target organization's domain; Resend activation email: the address asked for.
ALTER TABLE service_requests ADD COLUMN target TEXT;
