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

mod run;
mod view;

pub use run::*;
pub use view::*;

/// The largest file read, and the most rows (users) in one file.
pub const MAX_BYTES: usize = 5 * 1024 * 1024;
pub const MAX_ROWS: usize = 50_000;
/// Rows per step: one transaction each (and a password hash each, made before it).
pub const STEP: usize = 100;
/// Generated passwords never downloaded are erased this long after the import finished.
pub const PASSWORDS_KEPT: Duration = Duration::days(7);
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
