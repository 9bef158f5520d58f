//! An import as its pages show it: the totals, the rows a page at a time, and the generated
//! passwords' one download.

use super::*;

/// The generated passwords of a finished import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Passwords {
    /// No user was made (yet).
    None,
    /// This many, to download once.
    Ready(i64),
    /// Downloaded then, and erased.
    Downloaded(DateTime<Utc>),
    /// Never downloaded, erased then (`PASSWORDS_KEPT` after the import finished).
    Expired(DateTime<Utc>),
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
    type Stored = (
        String,
        ImportState,
        i32,
        i32,
        i32,
        Option<chrono::NaiveDateTime>,
        Option<chrono::NaiveDateTime>,
        Option<chrono::NaiveDateTime>,
    );
    let (file_name, state, total, done, created, finished_at, downloaded, expired): Stored =
        user_imports::table
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
                user_imports::passwords_expired_at,
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
    let passwords = match (downloaded, expired) {
        (Some(at), _) => Passwords::Downloaded(utc(at)),
        (None, Some(at)) => Passwords::Expired(utc(at)),
        (None, None) if created > 0 => Passwords::Ready(created.into()),
        (None, None) => Passwords::None,
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
        Passwords::Expired(_) => {
            return Err(DomainError::Conflict(format!(
                "The passwords were not downloaded within {} days and were erased. Reset a user's password to give them a new one.",
                PASSWORDS_KEPT.num_days()
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
                .filter(user_imports::passwords_downloaded_at.is_null())
                .filter(user_imports::passwords_expired_at.is_null()),
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
