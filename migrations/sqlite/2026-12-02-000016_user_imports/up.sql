-- Add multiple users (a CSV import): the file's rows are kept from the preview on, so Import
-- runs what was previewed; the scheduler and the request run it in steps of a few rows, each
-- its own transaction, and a row's outcome is written with the user it made, so a crash
-- resumes at the first row without one.
CREATE TABLE user_imports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    file_name TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('previewed', 'running', 'finished')),
    total INTEGER NOT NULL CHECK (total >= 0),
    done INTEGER NOT NULL DEFAULT 0 CHECK (done >= 0),
    created INTEGER NOT NULL DEFAULT 0 CHECK (created >= 0),
    -- Who pressed Import: the steps act as them (their audit entries, their rights).
    started_by_user BIGINT REFERENCES users(id),
    previewed_at TIMESTAMP NOT NULL,
    started_at TIMESTAMP,
    finished_at TIMESTAMP,
    -- The generated passwords are given once: erased from the rows at the first download.
    passwords_downloaded_at TIMESTAMP,
    -- ... or erased unread, PASSWORDS_KEPT after the import finished.
    passwords_expired_at TIMESTAMP,
    CHECK ((state = 'finished') = (finished_at IS NOT NULL)),
    CHECK ((state = 'previewed') = (started_at IS NULL))
);
CREATE INDEX user_imports_tenant ON user_imports (tenant_id, id);
CREATE INDEX user_imports_running ON user_imports (state, id);

CREATE TABLE user_import_rows (
    import_id INTEGER NOT NULL REFERENCES user_imports(id) ON DELETE CASCADE,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    -- The row as a spreadsheet numbers it: the header is row 1.
    row_number INTEGER NOT NULL CHECK (row_number >= 2),
    display_name TEXT NOT NULL,
    email TEXT NOT NULL,
    -- The product names as the file gives them, separated by "; ".
    licenses TEXT NOT NULL,
    -- What the preview said would happen, and what did (NULL: not run yet).
    preview TEXT NOT NULL,
    preview_detail TEXT NOT NULL DEFAULT '',
    outcome TEXT,
    outcome_detail TEXT NOT NULL DEFAULT '',
    user_id BIGINT REFERENCES users(id),
    password TEXT,
    PRIMARY KEY (import_id, row_number)
);
CREATE INDEX user_import_rows_tenant ON user_import_rows (tenant_id, import_id);
