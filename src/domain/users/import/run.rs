//! Import's steps: the rows run a few at a time, each step one transaction under the
//! tenant's license lock, resumable; the scheduler drains them.

use super::*;

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
/// next run. Previews never imported are forgotten after a day, and passwords never
/// downloaded are erased after `PASSWORDS_KEPT`. Returns the steps run.
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
    let unread: Vec<i64> = user_imports::table
        .filter(user_imports::state.eq(ImportState::Finished))
        .filter(user_imports::finished_at.lt(naive(now - PASSWORDS_KEPT)))
        .filter(user_imports::passwords_downloaded_at.is_null())
        .filter(user_imports::passwords_expired_at.is_null())
        .select(user_imports::id)
        .load(conn)?;
    for id in unread {
        let erased = crate::domain::db::transaction(conn, |conn| {
            diesel::update(user_import_rows::table.filter(user_import_rows::import_id.eq(id)))
                .set(user_import_rows::password.eq(None::<String>))
                .execute(conn)?;
            diesel::update(user_imports::table.find(id))
                .set(user_imports::passwords_expired_at.eq(Some(naive(now))))
                .execute(conn)?;
            Ok(())
        });
        crate::domain::db::keep_going(failures, "erase an import's passwords", id, erased);
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
