-- Sessions kept on the server, so they can be ended: the cookie carries a random token and
-- only its SHA-256 is stored here. A session belongs to a tenant user or a staff member and
-- to one door (admin center or portal).
CREATE TABLE sessions (
    -- SHA-256 (hex) of the cookie's 256-bit token: the database never holds a usable session.
    id TEXT PRIMARY KEY CHECK (length(id) = 64),
    -- Set for a tenant user's session (every table a tenant owns carries tenant_id).
    tenant_id BIGINT REFERENCES tenants(id),
    user_id BIGINT REFERENCES users(id),
    staff_id BIGINT REFERENCES staff(id),
    door TEXT NOT NULL CHECK (door IN ('admin_center', 'portal')),
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    -- The absolute end (ALLOT_SESSION_MAX_HOURS after sign-in), whatever the activity.
    expires_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP,
    ended_reason TEXT CHECK (ended_reason IN ('signed_out', 'signed_out_everywhere',
        'password_reset', 'blocked', 'deleted', 'role_changed', 'idle', 'expired', 'refused')),
    CHECK ((user_id IS NULL) <> (staff_id IS NULL)),
    CHECK ((user_id IS NULL) = (tenant_id IS NULL)),
    CHECK ((ended_at IS NULL) = (ended_reason IS NULL))
);
-- Ending all of an account's sessions reads only its live ones.
CREATE INDEX sessions_user ON sessions (user_id) WHERE ended_at IS NULL;
CREATE INDEX sessions_staff ON sessions (staff_id) WHERE ended_at IS NULL;
CREATE INDEX sessions_tenant ON sessions (tenant_id);
-- tick forgets sessions long over.
CREATE INDEX sessions_last_seen ON sessions (last_seen_at);
