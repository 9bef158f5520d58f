//! Add multiple users: a CSV of display names, sign-in names and licenses (product names),
//! previewed row by row without creating anything, then imported in the background.
//!
//! The preview keeps the file's rows, each with what would happen; Import runs those rows in
//! steps of `STEP`, each step one transaction under the tenant's license lock, in file order.
//! A row is all or nothing (a savepoint): the user and every license, or nothing and a
//! reason. Every row is checked again when it runs, so a change since the preview is reported.
//! A row's outcome is written in the step that made its user, so running a step twice, or
//! after a crash, never makes anything twice. The generated passwords are given once.

use super::*;
use crate::domain::accounts::Principal;
use crate::domain::schema::{products, staff, user_import_rows, user_imports};
use std::collections::HashMap;

/// The largest file read, and the most rows (users) in one file.
pub const MAX_BYTES: usize = 5 * 1024 * 1024;
pub const MAX_ROWS: usize = 50_000;
/// Rows per step: one transaction each (and a password hash each, made before it).
pub const STEP: usize = 100;
/// A preview or an import that was never started is forgotten after this long.
pub const PREVIEW_KEPT: Duration = Duration::days(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ImportId(pub i64);

crate::domain::text_enum::text_enum! {
    /// Where an import is.
    pub enum ImportState {
        Previewed = "previewed",
        Running = "running",
        Finished = "finished",
    }
}

crate::domain::text_enum::text_enum! {
    /// What happens (or happened) to one row of the file.
    pub enum RowKind {
        Created = "created",
        AlreadyExists = "exists",
        BadEmail = "bad_email",
        BadName = "bad_name",
        ProductUnknown = "unknown_product",
        NotEnoughLicenses = "no_licenses",
        /// The admin who started the import may no longer add users.
        Stopped = "stopped",
    }
}

impl RowKind {
    /// The words of the "What will happen" and "Outcome" columns, before any detail.
    pub fn label(self) -> &'static str {
        match self {
            RowKind::Created => "Created",
            RowKind::AlreadyExists => "Already exists",
            RowKind::BadEmail => "Bad email",
            RowKind::BadName => "Bad display name",
            RowKind::ProductUnknown => "Product unknown",
            RowKind::NotEnoughLicenses => "Not enough licenses",
            RowKind::Stopped => "Not imported",
        }
    }
}

/// One row of the file as read, before any check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRow {
    /// As a spreadsheet numbers it: the header is row 1.
    pub row_number: i32,
    pub display_name: String,
    pub email: String,
    /// Product names, in the file's order.
    pub licenses: Vec<String>,
}

fn file_error(message: impl Into<String>) -> DomainError {
    DomainError::invalid("file", message)
}

/// Reads the uploaded file: a header row naming Display name, Sign-in name and Licenses (any
/// case, any order; Licenses may be left out), then one user a row, licenses separated by
/// ";". Blank rows are skipped. What can't be read is said in one sentence (422).
pub fn read_file(bytes: &[u8]) -> Result<Vec<FileRow>, DomainError> {
    if bytes.len() > MAX_BYTES {
        return Err(file_error(format!(
            "The file is larger than {} MB. Split it into smaller files.",
            MAX_BYTES / (1024 * 1024)
        )));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(file_error(
            "The file is empty. Choose a CSV file with a header row and one user a row.",
        ));
    }
    if std::str::from_utf8(bytes).is_err() || bytes.contains(&0) {
        return Err(file_error(
            "The file is not a CSV file: save it from your spreadsheet as CSV (UTF-8).",
        ));
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| file_error(format!("The header row can't be read: {e}.")))?
        .clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let missing: Vec<&str> = ["Display name", "Sign-in name"]
        .into_iter()
        .filter(|c| column(c).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(file_error(format!(
            "The file has no {} column. Its first row must name the columns: Display name, Sign-in name, Licenses.",
            missing.join(" or ")
        )));
    }
    let (name_at, email_at) = (column("Display name"), column("Sign-in name"));
    let licenses_at = column("Licenses");
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record =
            record.map_err(|e| file_error(format!("Row {} can't be read: {e}.", i + 2)))?;
        if record.iter().all(str::is_empty) {
            continue;
        }
        if rows.len() == MAX_ROWS {
            return Err(file_error(format!(
                "The file has more than {MAX_ROWS} users. Split it into smaller files."
            )));
        }
        let get = |at: Option<usize>| at.and_then(|a| record.get(a)).unwrap_or("").to_owned();
        // One record is one spreadsheet row, even with a line break inside quotes.
        let row_number = i as i32 + 2;
        rows.push(FileRow {
            row_number,
            display_name: get(name_at),
            email: get(email_at),
            licenses: get(licenses_at)
                .split(';')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect(),
        });
    }
    if rows.is_empty() {
        return Err(file_error(
            "The file has a header row but no users. Add one user a row below it.",
        ));
    }
    Ok(rows)
}

/// The tenant's products by lower-case name: the tenant pool's id and its available count
/// (0 for a product of the catalog the tenant has no licenses of).
fn products_by_name(
    conn: &mut DbConnection,
    tenant: TenantId,
) -> Result<HashMap<String, (ProductId, String, i64)>, DomainError> {
    let mut by_name: HashMap<String, (ProductId, String, i64)> = products::table
        .select((products::id, products::name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .map(|(id, name)| (name.to_lowercase(), (ProductId(id), name, 0)))
        .collect();
    for pool in licenses::load_pools(conn, tenant)? {
        if pool.self_service.is_none() {
            if let Some(entry) = by_name.get_mut(&pool.product_name.to_lowercase()) {
                entry.2 = pool.available();
            }
        }
    }
    Ok(by_name)
}

/// The sign-in names among `emails` that are taken (by any tenant's user or the staff).
fn taken_among(
    conn: &mut DbConnection,
    emails: &[String],
) -> Result<BTreeSet<String>, DomainError> {
    let mut taken = BTreeSet::new();
    for chunk in emails.chunks(1000) {
        taken.extend(
            users::table
                .filter(users::email.eq_any(chunk))
                .select(users::email)
                .load::<String>(conn)?,
        );
        taken.extend(
            staff::table
                .filter(staff::email.eq_any(chunk))
                .select(staff::email)
                .load::<String>(conn)?,
        );
    }
    Ok(taken)
}

/// What the checks of one row say before its licenses are counted: its sign-in name, or why not.
fn check_identity(tenant_domain: &str, row: &FileRow) -> Result<EmailAddress, (RowKind, String)> {
    let email = EmailAddress::parse(&row.email).map_err(|_| (RowKind::BadEmail, String::new()))?;
    if email.domain() != tenant_domain {
        return Err((RowKind::BadEmail, format!("must end with @{tenant_domain}")));
    }
    let chars = row.display_name.chars().count();
    if chars == 0
        || chars > 120
        || row
            .display_name
            .chars()
            .any(crate::domain::text::is_control)
    {
        return Err((RowKind::BadName, "1 to 120 characters".into()));
    }
    Ok(email)
}

/// The products of a row: their ids, or the names not known.
fn resolve(
    by_name: &HashMap<String, (ProductId, String, i64)>,
    row: &FileRow,
) -> Result<Vec<ProductId>, (RowKind, String)> {
    let unknown: Vec<&str> = row
        .licenses
        .iter()
        .filter(|p| !by_name.contains_key(&p.to_lowercase()))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err((RowKind::ProductUnknown, unknown.join(", ")));
    }
    let mut ids: Vec<ProductId> = row
        .licenses
        .iter()
        .filter_map(|p| by_name.get(&p.to_lowercase()).map(|e| e.0))
        .collect();
    ids.dedup();
    let mut seen = BTreeSet::new();
    ids.retain(|p| seen.insert(*p));
    Ok(ids)
}

fn tenant_domain(conn: &mut DbConnection, tenant: TenantId) -> Result<String, DomainError> {
    Ok(tenants::table
        .find(tenant.0)
        .select(tenants::domain)
        .first(conn)?)
}

/// Add multiple users > Preview: checks every row as Import would, counting licenses in file
/// order against what the pools have available, and keeps the rows for Import. Creates no
/// user and assigns nothing.
pub fn preview(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    file_name: &str,
    rows: &[FileRow],
) -> Result<ImportId, DomainError> {
    authz::may(actor, Action::ManageUsers, &Target::Tenant(tenant))?;
    if rows.iter().any(|r| !r.licenses.is_empty()) {
        authz::may(actor, Action::AssignLicenses, &Target::Tenant(tenant))?;
    }
    let domain = tenant_domain(conn, tenant)?;
    let mut by_name = products_by_name(conn, tenant)?;
    let emails: Vec<String> = rows.iter().map(|r| r.email.trim().to_lowercase()).collect();
    let taken = taken_among(conn, &emails)?;
    let mut in_file: HashMap<String, i32> = HashMap::new();
    let mut said = Vec::with_capacity(rows.len());
    for row in rows {
        let verdict = (|| {
            let email = check_identity(&domain, row)?;
            if taken.contains(email.as_str()) {
                return Err((RowKind::AlreadyExists, String::new()));
            }
            if let Some(first) = in_file.get(email.as_str()) {
                return Err((RowKind::AlreadyExists, format!("row {first} of this file")));
            }
            let products = resolve(&by_name, row)?;
            let short: Vec<String> = by_name
                .values()
                .filter(|(id, _, available)| products.contains(id) && *available < 1)
                .map(|(_, name, _)| name.clone())
                .collect();
            if !short.is_empty() {
                let mut short = short;
                short.sort();
                return Err((RowKind::NotEnoughLicenses, short.join(", ")));
            }
            for entry in by_name.values_mut() {
                if products.contains(&entry.0) {
                    entry.2 -= 1;
                }
            }
            in_file.insert(email.as_str().to_owned(), row.row_number);
            Ok(())
        })();
        said.push(match verdict {
            Ok(()) => (RowKind::Created, String::new()),
            Err(kind) => kind,
        });
    }
    let file_name: String = file_name.chars().take(200).collect();
    crate::domain::db::transaction(conn, |conn| {
        let id: i64 = diesel::insert_into(user_imports::table)
            .values((
                user_imports::tenant_id.eq(tenant.0),
                user_imports::file_name.eq(&file_name),
                user_imports::state.eq(ImportState::Previewed),
                user_imports::total.eq(rows.len() as i32),
                user_imports::previewed_at.eq(naive(now)),
            ))
            .returning(user_imports::id)
            .get_result(conn)?;
        let values: Vec<_> = rows
            .iter()
            .zip(&said)
            .map(|(row, (kind, detail))| {
                (
                    user_import_rows::import_id.eq(id),
                    user_import_rows::tenant_id.eq(tenant.0),
                    user_import_rows::row_number.eq(row.row_number),
                    user_import_rows::display_name.eq(row
                        .display_name
                        .chars()
                        .take(500)
                        .collect::<String>()),
                    user_import_rows::email.eq(row.email.chars().take(500).collect::<String>()),
                    user_import_rows::licenses.eq(row.licenses.join("; ")),
                    user_import_rows::preview.eq(*kind),
                    user_import_rows::preview_detail.eq(detail.clone()),
                )
            })
            .collect();
        for chunk in values.chunks(1000) {
            crate::domain::db::insert_batch!(conn, user_import_rows::table, chunk)?;
        }
        Ok(ImportId(id))
    })
}

/// Import: the previewed rows start running, as the actor. Pressing it again does nothing more.
pub fn start(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    id: ImportId,
) -> Result<(), DomainError> {
    authz::may(actor, Action::ManageUsers, &Target::Tenant(tenant))?;
    let Actor::Admin { user, .. } = actor else {
        return Err(DomainError::Forbidden);
    };
    let user = *user;
    crate::domain::db::transaction(conn, |conn| {
        let (file_name, total) = job_of(conn, tenant, id)?;
        let started = diesel::update(
            user_imports::table
                .find(id.0)
                .filter(user_imports::state.eq(ImportState::Previewed)),
        )
        .set((
            user_imports::state.eq(ImportState::Running),
            user_imports::started_by_user.eq(Some(user.0)),
            user_imports::started_at.eq(Some(naive(now))),
        ))
        .execute(conn)?;
        if started == 1 {
            audit::record(
                conn,
                actor,
                now,
                Some(tenant),
                "Started importing users",
                &file_name,
                &format!("{total} rows"),
            )?;
        }
        Ok(())
    })
}

fn job_of(
    conn: &mut DbConnection,
    tenant: TenantId,
    id: ImportId,
) -> Result<(String, i32), DomainError> {
    user_imports::table
        .find(id.0)
        .filter(user_imports::tenant_id.eq(tenant.0))
        .select((user_imports::file_name, user_imports::total))
        .first(conn)
        .optional()?
        .ok_or(DomainError::NotFound)
}

#[derive(Debug, Clone, Queryable)]
struct PendingRow {
    row_number: i32,
    display_name: String,
    email: String,
    licenses: String,
}

impl PendingRow {
    fn as_file_row(&self) -> FileRow {
        FileRow {
            row_number: self.row_number,
            display_name: self.display_name.clone(),
            email: self.email.clone(),
            licenses: self
                .licenses
                .split(';')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect(),
        }
    }
}

/// Runs the next step of import `id`: up to `STEP` rows not run yet, in file order, in one
/// transaction; when none is left, the import finishes. Returns whether it still runs.
pub fn step(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    id: ImportId,
) -> Result<bool, DomainError> {
    let Some((tenant, started_by)) = user_imports::table
        .find(id.0)
        .filter(user_imports::state.eq(ImportState::Running))
        .select((user_imports::tenant_id, user_imports::started_by_user))
        .first::<(i64, Option<i64>)>(conn)
        .optional()?
    else {
        return Ok(false);
    };
    let tenant = TenantId(tenant);
    let pending: Vec<PendingRow> = user_import_rows::table
        .filter(user_import_rows::import_id.eq(id.0))
        .filter(user_import_rows::outcome.is_null())
        .order(user_import_rows::row_number)
        .limit(STEP as i64)
        .select((
            user_import_rows::row_number,
            user_import_rows::display_name,
            user_import_rows::email,
            user_import_rows::licenses,
        ))
        .load(conn)?;
    if pending.is_empty() {
        finish(conn, now, tenant, id)?;
        return Ok(false);
    }
    // The steps act as the admin who pressed Import, with the rights they have now.
    let actor = match started_by {
        Some(user) => {
            accounts::admin_center_actor(conn, Principal::User(UserId(user)))?.map(|s| s.actor)
        }
        None => None,
    }
    .filter(|a| {
        authz::can(a, Action::ManageUsers, &Target::Tenant(tenant))
            && authz::can(a, Action::AssignLicenses, &Target::Tenant(tenant))
    });
    let Some(actor) = actor else {
        stop(conn, now, tenant, id)?;
        return Ok(false);
    };
    // Hashing is slow on purpose: done before the transaction, for the rows that may need it.
    let domain = tenant_domain(conn, tenant)?;
    let emails: Vec<String> = pending
        .iter()
        .map(|r| r.email.trim().to_lowercase())
        .collect();
    let taken = taken_among(conn, &emails)?;
    let mut secrets: HashMap<i32, (String, String)> = HashMap::new();
    for row in &pending {
        if let Ok(email) = check_identity(&domain, &row.as_file_row()) {
            if !taken.contains(email.as_str()) {
                let password = passwords::generate();
                let hash = passwords::hash(&password)?;
                secrets.insert(row.row_number, (password, hash));
            }
        }
    }
    let numbers: Vec<i32> = pending.iter().map(|r| r.row_number).collect();
    crate::domain::db::transaction(conn, |conn| {
        licenses::lock(conn, tenant)?;
        // Read again under the lock: another runner may have done these rows meanwhile.
        let still: BTreeSet<i32> = user_import_rows::table
            .filter(user_import_rows::import_id.eq(id.0))
            .filter(user_import_rows::outcome.is_null())
            .filter(user_import_rows::row_number.eq_any(&numbers))
            .select(user_import_rows::row_number)
            .load::<i32>(conn)?
            .into_iter()
            .collect();
        let running = user_imports::table
            .find(id.0)
            .filter(user_imports::state.eq(ImportState::Running))
            .count()
            .get_result::<i64>(conn)?;
        if running == 0 {
            return Ok(());
        }
        let mut by_name = products_by_name(conn, tenant)?;
        let (mut done, mut created) = (0, 0);
        for row in pending.iter().filter(|r| still.contains(&r.row_number)) {
            let file_row = row.as_file_row();
            let secret = secrets.get(&row.row_number);
            let (kind, detail, user) = run_row(
                conn,
                &actor,
                now,
                tenant,
                &domain,
                &mut by_name,
                &file_row,
                secret,
            )?;
            diesel::update(
                user_import_rows::table
                    .filter(user_import_rows::import_id.eq(id.0))
                    .filter(user_import_rows::row_number.eq(row.row_number)),
            )
            .set((
                user_import_rows::outcome.eq(Some(kind)),
                user_import_rows::outcome_detail.eq(&detail),
                user_import_rows::user_id.eq(user.map(|u| u.0)),
                user_import_rows::password.eq(user.and(secret.map(|s| s.0.clone()))),
            ))
            .execute(conn)?;
            done += 1;
            if kind == RowKind::Created {
                created += 1;
            }
        }
        diesel::update(user_imports::table.find(id.0))
            .set((
                user_imports::done.eq(user_imports::done + done),
                user_imports::created.eq(user_imports::created + created),
            ))
            .execute(conn)?;
        Ok(())
    })?;
    Ok(true)
}

/// One row, whole or not at all (a savepoint): its checks again, then the user and its licenses.
#[allow(clippy::too_many_arguments)]
fn run_row(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    domain: &str,
    by_name: &mut HashMap<String, (ProductId, String, i64)>,
    row: &FileRow,
    secret: Option<&(String, String)>,
) -> Result<(RowKind, String, Option<UserId>), DomainError> {
    let checked = (|| {
        let email = check_identity(domain, row)?;
        Ok::<_, (RowKind, String)>(email)
    })();
    let email = match checked {
        Ok(email) => email,
        Err((kind, detail)) => return Ok((kind, detail, None)),
    };
    if accounts::email_taken(conn, &email)? {
        return Ok((RowKind::AlreadyExists, String::new(), None));
    }
    let products = match resolve(by_name, row) {
        Ok(p) => p,
        Err((kind, detail)) => return Ok((kind, detail, None)),
    };
    let mut short: Vec<String> = by_name
        .values()
        .filter(|(id, _, available)| products.contains(id) && *available < 1)
        .map(|(_, name, _)| name.clone())
        .collect();
    if !short.is_empty() {
        short.sort();
        return Ok((RowKind::NotEnoughLicenses, short.join(", "), None));
    }
    let Some((_, hash)) = secret else {
        // Taken when the step began (no password was made for it): reported as it was then.
        return Ok((RowKind::AlreadyExists, String::new(), None));
    };
    let made = crate::domain::db::transaction(conn, |conn| {
        let user = accounts::insert_user(conn, now, tenant, &row.display_name, &email, hash)?;
        audit::record(
            conn,
            actor,
            now,
            Some(tenant),
            "Added user",
            email.as_str(),
            row.display_name.trim(),
        )?;
        for product in &products {
            licenses::assign_locked(conn, actor, now, tenant, PoolRef::Tenant(*product), &[user])?;
        }
        Ok(user)
    });
    match made {
        Ok(user) => {
            for entry in by_name.values_mut() {
                if products.contains(&entry.0) {
                    entry.2 -= 1;
                }
            }
            Ok((RowKind::Created, String::new(), Some(user)))
        }
        Err(DomainError::NoLicensesLeft { .. }) => {
            Ok((RowKind::NotEnoughLicenses, row.licenses.join(", "), None))
        }
        Err(DomainError::Invalid { field: "email", .. }) => {
            Ok((RowKind::AlreadyExists, String::new(), None))
        }
        Err(DomainError::Invalid { message, .. }) => Ok((RowKind::BadName, message, None)),
        Err(e) => Err(e),
    }
}

fn finish(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    tenant: TenantId,
    id: ImportId,
) -> Result<(), DomainError> {
    crate::domain::db::transaction(conn, |conn| {
        let finished = diesel::update(
            user_imports::table
                .find(id.0)
                .filter(user_imports::state.eq(ImportState::Running)),
        )
        .set((
            user_imports::state.eq(ImportState::Finished),
            user_imports::finished_at.eq(Some(naive(now))),
        ))
        .execute(conn)?;
        if finished == 1 {
            let (file_name, total, created): (String, i32, i32) = user_imports::table
                .find(id.0)
                .select((
                    user_imports::file_name,
                    user_imports::total,
                    user_imports::created,
                ))
                .first(conn)?;
            audit::record(
                conn,
                &Actor::System("user import"),
                now,
                Some(tenant),
                "Finished importing users",
                &file_name,
                &format!("{created} created, {} skipped", total - created),
            )?;
        }
        Ok(())
    })
}

/// The admin who started it may no longer add users: the rows not run are not imported.
fn stop(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    tenant: TenantId,
    id: ImportId,
) -> Result<(), DomainError> {
    crate::domain::db::transaction(conn, |conn| {
        let stopped = diesel::update(
            user_import_rows::table
                .filter(user_import_rows::import_id.eq(id.0))
                .filter(user_import_rows::outcome.is_null()),
        )
        .set((
            user_import_rows::outcome.eq(Some(RowKind::Stopped)),
            user_import_rows::outcome_detail
                .eq("the admin who started the import can no longer add users"),
        ))
        .execute(conn)?;
        diesel::update(user_imports::table.find(id.0))
            .set(user_imports::done.eq(user_imports::done + stopped as i32))
            .execute(conn)?;
        Ok(())
    })?;
    finish(conn, now, tenant, id)
}

/// Runs every running import to its end, step by step (the scheduler's `tick`, and the server
/// right after Import); a failed step is logged and counted, and that import waits for the
/// next run. Previews never imported are forgotten after a day. Returns the steps run.
pub fn drain(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    failures: &mut usize,
) -> Result<usize, DomainError> {
    let stale: Vec<i64> = user_imports::table
        .filter(user_imports::state.eq(ImportState::Previewed))
        .filter(user_imports::previewed_at.lt(naive(now - PREVIEW_KEPT)))
        .select(user_imports::id)
        .load(conn)?;
    for id in stale {
        let forgot = crate::domain::db::transaction(conn, |conn| {
            diesel::delete(user_import_rows::table.filter(user_import_rows::import_id.eq(id)))
                .execute(conn)?;
            diesel::delete(
                user_imports::table
                    .find(id)
                    .filter(user_imports::state.eq(ImportState::Previewed)),
            )
            .execute(conn)?;
            Ok(())
        });
        crate::domain::db::keep_going(failures, "forget an import preview", id, forgot);
    }
    let running: Vec<i64> = user_imports::table
        .filter(user_imports::state.eq(ImportState::Running))
        .order(user_imports::id)
        .select(user_imports::id)
        .load(conn)?;
    let mut steps = 0;
    for id in running {
        steps += run(conn, now, ImportId(id), usize::MAX, failures);
    }
    Ok(steps)
}

/// Runs up to `max_steps` steps of one import. Returns the steps run.
pub fn run(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    id: ImportId,
    max_steps: usize,
    failures: &mut usize,
) -> usize {
    let mut steps = 0;
    while steps < max_steps {
        steps += 1;
        let more = step(conn, now, id);
        if crate::domain::db::keep_going(failures, "user import step", id.0, more) != Some(true) {
            break;
        }
    }
    steps
}

// ---------------------------------------------------------------- reading

/// The generated passwords of a finished import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Passwords {
    /// No user was made (yet).
    None,
    /// This many, to download once.
    Ready(i64),
    /// Downloaded then, and erased.
    Downloaded(DateTime<Utc>),
}

/// An import as its page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    pub id: ImportId,
    pub file_name: String,
    pub state: ImportState,
    pub total: i64,
    pub done: i64,
    pub created: i64,
    /// Rows by what will happen (a preview) or happened, in `RowKind` order.
    pub counts: Vec<(RowKind, i64)>,
    pub passwords: Passwords,
    pub finished_at: Option<DateTime<Utc>>,
}

impl ImportSummary {
    /// Rows that make a user (a preview: will make one).
    pub fn will_create(&self) -> i64 {
        self.counts
            .iter()
            .filter(|(k, _)| *k == RowKind::Created)
            .map(|(_, n)| n)
            .sum()
    }

    /// Rows skipped (a preview: that will be).
    pub fn skipped(&self) -> i64 {
        self.counts
            .iter()
            .filter(|(k, _)| *k != RowKind::Created)
            .map(|(_, n)| n)
            .sum()
    }
}

/// One row of the file with what will happen or happened to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    pub row_number: i32,
    pub display_name: String,
    pub email: String,
    pub licenses: String,
    /// `None`: not run yet.
    pub kind: Option<RowKind>,
    pub detail: String,
}

impl ImportRow {
    /// "Created", "Product unknown: Visio", "Waiting".
    pub fn says(&self) -> String {
        match self.kind {
            None => "Waiting".into(),
            Some(kind) if self.detail.is_empty() => kind.label().into(),
            Some(kind) => format!("{}: {}", kind.label(), self.detail),
        }
    }

    pub fn skipped(&self) -> bool {
        self.kind.is_some_and(|k| k != RowKind::Created)
    }
}

/// One import of the tenant; another tenant's is not found.
pub fn summary(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    id: ImportId,
) -> Result<ImportSummary, DomainError> {
    authz::may(actor, Action::ManageUsers, &Target::Tenant(tenant))?;
    let (file_name, state, total, done, created, finished_at, downloaded): (
        String,
        ImportState,
        i32,
        i32,
        i32,
        Option<chrono::NaiveDateTime>,
        Option<chrono::NaiveDateTime>,
    ) = user_imports::table
        .find(id.0)
        .filter(user_imports::tenant_id.eq(tenant.0))
        .select((
            user_imports::file_name,
            user_imports::state,
            user_imports::total,
            user_imports::done,
            user_imports::created,
            user_imports::finished_at,
            user_imports::passwords_downloaded_at,
        ))
        .first(conn)
        .optional()?
        .ok_or(DomainError::NotFound)?;
    let grouped: Vec<(Option<RowKind>, i64)> = if state == ImportState::Previewed {
        user_import_rows::table
            .filter(user_import_rows::import_id.eq(id.0))
            .group_by(user_import_rows::preview)
            .select((
                user_import_rows::preview.nullable(),
                diesel::dsl::count_star(),
            ))
            .load(conn)?
    } else {
        user_import_rows::table
            .filter(user_import_rows::import_id.eq(id.0))
            .filter(user_import_rows::outcome.is_not_null())
            .group_by(user_import_rows::outcome)
            .select((user_import_rows::outcome, diesel::dsl::count_star()))
            .load(conn)?
    };
    let mut counts: Vec<(RowKind, i64)> = grouped
        .into_iter()
        .filter_map(|(k, n)| Some((k?, n)))
        .collect();
    counts.sort();
    let passwords = match downloaded {
        Some(at) => Passwords::Downloaded(utc(at)),
        None if created > 0 => Passwords::Ready(created.into()),
        None => Passwords::None,
    };
    Ok(ImportSummary {
        id,
        file_name,
        state,
        total: total.into(),
        done: done.into(),
        created: created.into(),
        counts,
        passwords,
        finished_at: finished_at.map(utc),
    })
}

/// A row as stored: number, name, sign-in name, licenses, preview and its detail, outcome
/// and its detail.
type StoredRow = (
    i32,
    String,
    String,
    String,
    RowKind,
    String,
    Option<RowKind>,
    String,
);

/// Rows of an import in file order after `after` (a row number), `limit` of them; with
/// `only_skipped`, those that will be (or were) skipped. Returns them and the next page's start.
pub fn rows(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    id: ImportId,
    only_skipped: bool,
    after: i32,
    limit: i64,
) -> Result<(Vec<ImportRow>, Option<i32>), DomainError> {
    let summary = summary(conn, actor, tenant, id)?;
    let previewed = summary.state == ImportState::Previewed;
    let mut query = user_import_rows::table
        .filter(user_import_rows::import_id.eq(id.0))
        .filter(user_import_rows::row_number.gt(after))
        .into_boxed();
    if only_skipped {
        query = if previewed {
            query.filter(user_import_rows::preview.ne(RowKind::Created))
        } else {
            query.filter(user_import_rows::outcome.ne(RowKind::Created))
        };
    }
    let loaded: Vec<StoredRow> = query
        .order(user_import_rows::row_number)
        .limit(limit + 1)
        .select((
            user_import_rows::row_number,
            user_import_rows::display_name,
            user_import_rows::email,
            user_import_rows::licenses,
            user_import_rows::preview,
            user_import_rows::preview_detail,
            user_import_rows::outcome,
            user_import_rows::outcome_detail,
        ))
        .load(conn)?;
    let more = loaded.len() as i64 > limit;
    let rows: Vec<ImportRow> = loaded
        .into_iter()
        .take(limit as usize)
        .map(
            |(
                row_number,
                display_name,
                email,
                licenses,
                preview,
                preview_detail,
                outcome,
                detail,
            )| {
                let (kind, detail) = if previewed {
                    (Some(preview), preview_detail)
                } else {
                    (outcome, detail)
                };
                ImportRow {
                    row_number,
                    display_name,
                    email,
                    licenses,
                    kind,
                    detail,
                }
            },
        )
        .collect();
    let next = if more {
        rows.last().map(|r| r.row_number)
    } else {
        None
    };
    Ok((rows, next))
}

/// Download passwords: each created user's sign-in name and generated password, once. They
/// are erased in the same transaction, so a second download finds none (a conflict).
pub fn take_passwords(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    id: ImportId,
) -> Result<Vec<(String, String)>, DomainError> {
    let summary = summary(conn, actor, tenant, id)?;
    match summary.passwords {
        Passwords::Downloaded(at) => {
            return Err(DomainError::Conflict(format!(
                "The passwords were downloaded on {} and are no longer kept. Reset a user's password to give them a new one.",
                at.format("%B %-d, %Y at %H:%M UTC")
            )));
        }
        _ if summary.state != ImportState::Finished => {
            return Err(DomainError::Conflict(
                "The import is still running: the passwords can be downloaded when it is done."
                    .into(),
            ));
        }
        Passwords::None => {
            return Err(DomainError::Conflict(
                "This import created no users, so there are no passwords.".into(),
            ));
        }
        Passwords::Ready(_) => {}
    }
    crate::domain::db::transaction(conn, |conn| {
        let claimed = diesel::update(
            user_imports::table
                .find(id.0)
                .filter(user_imports::passwords_downloaded_at.is_null()),
        )
        .set(user_imports::passwords_downloaded_at.eq(Some(naive(now))))
        .execute(conn)?;
        if claimed == 0 {
            return Err(DomainError::Conflict(
                "The passwords were downloaded already and are no longer kept.".into(),
            ));
        }
        let given: Vec<(String, Option<String>)> = user_import_rows::table
            .inner_join(users::table.on(users::id.nullable().eq(user_import_rows::user_id)))
            .filter(user_import_rows::import_id.eq(id.0))
            .filter(user_import_rows::password.is_not_null())
            .order(user_import_rows::row_number)
            .select((users::email, user_import_rows::password))
            .load(conn)?;
        diesel::update(
            user_import_rows::table
                .filter(user_import_rows::import_id.eq(id.0))
                .filter(user_import_rows::password.is_not_null()),
        )
        .set(user_import_rows::password.eq(None::<String>))
        .execute(conn)?;
        audit::record(
            conn,
            actor,
            now,
            Some(tenant),
            "Downloaded imported users' passwords",
            &summary.file_name,
            &format!("{} passwords", given.len()),
        )?;
        Ok(given
            .into_iter()
            .filter_map(|(email, password)| Some((email, password?)))
            .collect())
    })
}
