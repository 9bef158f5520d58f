-- Card charges, recorded before the gateway is asked and settled after (DESIGN.md, "Sessions,
-- money and crashes"): a card is charged at most once per key, whatever retries or crashes.
CREATE TABLE charges (
    id BIGSERIAL PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    -- What is being paid: licenses added to a subscription, a new subscription, a renewal.
    purpose TEXT NOT NULL CHECK (purpose IN ('add_licenses', 'subscribe', 'renewal')),
    -- The subscription paid for; a new subscription's is set when the charge settles.
    subscription_id BIGINT REFERENCES subscriptions(id),
    product_id BIGINT NOT NULL REFERENCES products(id),
    payment_method_id BIGINT NOT NULL REFERENCES payment_methods(id),
    -- Sent to the gateway with the charge; the gateway answers a repeated key with its first result.
    idempotency_key TEXT NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 8 AND 200),
    amount_cents BIGINT NOT NULL CHECK (amount_cents > 0),
    -- What the bill's line will say: the licenses and the term they pay (a new subscription's
    -- or a renewal's next term; for added licenses, the current one).
    licenses INTEGER NOT NULL CHECK (licenses > 0),
    term_start TIMESTAMP NOT NULL,
    term_end TIMESTAMP NOT NULL CHECK (term_end > term_start),
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'settled', 'declined')),
    -- The gateway's answer: its reference for the charge taken, or why it declined.
    gateway_reference TEXT,
    -- The bill written when it settled (paid), or when a renewal was declined (failed).
    bill_id BIGINT REFERENCES bills(id),
    created_at TIMESTAMP NOT NULL,
    settled_at TIMESTAMP,
    CHECK ((state = 'pending') = (settled_at IS NULL)),
    CHECK (state <> 'settled' OR (bill_id IS NOT NULL AND gateway_reference IS NOT NULL)),
    CHECK (state <> 'declined' OR gateway_reference IN ('declined', 'expired')),
    CHECK (purpose = 'subscribe' OR subscription_id IS NOT NULL)
);
CREATE INDEX charges_pending ON charges (state, created_at);
-- A subscription's term is renewed by one charge at a time.
CREATE UNIQUE INDEX charges_one_pending_renewal ON charges (subscription_id)
    WHERE state = 'pending' AND purpose = 'renewal';
