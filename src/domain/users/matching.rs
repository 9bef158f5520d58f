//! Which users a search finds: a word anywhere in the name or the sign-in name, and how to
//! read them at a million users without walking the tenant or loading every match.
//!
//! Terms of three characters or more are substrings. SQLite answers them from a trigram
//! FTS5 index (`users_search`); PostgreSQL from trigram GIN indexes (pg_trgm) that `LIKE`
//! uses, its planner choosing between them and the ordered index. Terms of one or two
//! characters have no trigram: they are prefixes of the name or the sign-in name, read from
//! the ordered indexes.

use super::*;
use diesel::sql_types::BigInt;

/// How a page of matches is read.
pub(crate) enum Plan {
    /// No search: the filter alone.
    Everyone,
    /// A prefix (a term of one or two characters), lowercased.
    Prefix(String),
    /// The few users the trigram index found (SQLite): loaded by id and ordered here.
    Few(Vec<i64>),
    /// A `LIKE` pattern walked in the list's order: a common term finds a page quickly this
    /// way (and PostgreSQL's planner takes its trigram index when the term is rare).
    Walk(String),
}

/// Matches the trigram index returns at most before the page walks the order instead.
pub(crate) const FEW: i64 = 1000;

/// The plan for `term` (already trimmed and lowercased).
pub(crate) fn plan(conn: &mut DbConnection, term: &str) -> Result<Plan, DomainError> {
    if term.is_empty() {
        return Ok(Plan::Everyone);
    }
    if term.chars().count() < 3 {
        return Ok(Plan::Prefix(term.to_owned()));
    }
    let pattern = format!("%{}%", escape_like(term));
    let DbConnection::Sqlite(sqlite) = conn else {
        return Ok(Plan::Walk(pattern));
    };
    // Across tenants and with its LIMIT, the probe stops after FEW + 1 whatever the term
    // matches; a term that many users match is common, and the ordered walk finds it fast.
    #[derive(QueryableByName)]
    struct Found {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let found: Vec<Found> = diesel::sql_query(
        "SELECT rowid AS id FROM users_search WHERE users_search MATCH ? LIMIT ?",
    )
    .bind::<diesel::sql_types::Text, _>(fts_phrase(term))
    .bind::<BigInt, _>(FEW + 1)
    .load(sqlite)?;
    Ok(if found.len() as i64 > FEW {
        Plan::Walk(pattern)
    } else {
        Plan::Few(found.into_iter().map(|f| f.id).collect())
    })
}

/// `term` as one FTS5 phrase: its quotes doubled, so no FTS syntax (AND, *, :, NEAR) applies.
fn fts_phrase(term: &str) -> String {
    format!("\"{}\"", term.replace('"', "\"\""))
}

/// `term` for `LIKE … ESCAPE '\'`: `%`, `_` and `\` stand for themselves.
pub(crate) fn escape_like(term: &str) -> String {
    let mut out = String::with_capacity(term.len());
    for c in term.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `query` narrowed to the users `plan` finds (any order).
pub(crate) fn narrow(query: UserQuery, plan: &Plan) -> UserQuery {
    match plan {
        Plan::Everyone => query,
        Plan::Prefix(prefix) => {
            let upper = format!("{prefix}\u{10ffff}");
            query.filter(
                users::name_key
                    .ge(prefix.clone())
                    .and(users::name_key.lt(upper.clone()))
                    .or(users::email.ge(prefix.clone()).and(users::email.lt(upper))),
            )
        }
        Plan::Few(ids) => query.filter(users::id.eq_any(ids.clone())),
        Plan::Walk(pattern) => query.filter(
            users::name_key
                .like(pattern.clone())
                .escape('\\')
                .or(users::email.like(pattern.clone()).escape('\\')),
        ),
    }
}

/// How many of the tenant's users Active users shows under `filter` and `search`: the list's
/// total. With no search, the filters of the page (All, Licensed, Unlicensed, Sign-in blocked)
/// read the counts kept per state (`user_counts`); otherwise a count of the matches (its cost
/// grows with them).
pub fn count(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    search: &str,
    filter: UserFilter,
) -> Result<i64, DomainError> {
    authz::may(actor, Action::ViewUsers, &authz::Target::Tenant(tenant))?;
    let term = crate::domain::text::search("q", search)?.to_lowercase();
    let plan = plan(conn, &term)?;
    if let Plan::Everyone = plan
        && let Some(total) = kept_count(conn, tenant, filter)?
    {
        return Ok(total);
    }
    // A rare filter's few users, searched (as the list reads them).
    if !matches!(plan, Plan::Few(_))
        && let Some(rare) = rare(conn, tenant, filter)?
    {
        return Ok(super::search::few(conn, tenant, filter, &rare, Some(&plan))?.len() as i64);
    }
    if let Plan::Walk(_) = plan
        && let Some(total) = count_by_index(conn, tenant, filter, &term)?
    {
        return Ok(total);
    }
    match plan {
        // Counted here: a count in SQL would walk the tenant's index rather than read the ids.
        Plan::Few(_) => Ok(super::search::few(conn, tenant, filter, &plan, None)?.len() as i64),
        _ => Ok(narrow(visible(tenant, filter), &plan)
            .count()
            .get_result(conn)?),
    }
}

/// SQLite: the exact count of a common term's matches under a filter of the users table
/// alone, driven by the trigram index's row ids instead of a `LIKE` over every user of the
/// tenant (at 1M users, a term 1–10% of them hold: 30–110 ms instead of 350 ms). Each match
/// costs more than a user walked, so a term that the index finds for more than a third of the
/// tenant's users (in every tenant, as the index holds them) is left to the walk: `None`, as
/// for PostgreSQL and the filters that need another table.
fn count_by_index(
    conn: &mut DbConnection,
    tenant: TenantId,
    filter: UserFilter,
    term: &str,
) -> Result<Option<i64>, DomainError> {
    let condition = match filter {
        UserFilter::All => "",
        UserFilter::Licensed => " AND licensed",
        UserFilter::Unlicensed => " AND NOT licensed",
        UserFilter::Blocked => " AND state = ?",
        _ => return Ok(None),
    };
    if !matches!(conn, DbConnection::Sqlite(_)) {
        return Ok(None);
    }
    let Some(tenant_users) = kept_count(conn, tenant, UserFilter::All)? else {
        return Ok(None);
    };
    let DbConnection::Sqlite(sqlite) = conn else {
        return Ok(None);
    };
    #[derive(QueryableByName)]
    struct Counted {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let most = tenant_users / 3;
    let found = diesel::sql_query(
        "SELECT count(*) AS n FROM \
         (SELECT rowid FROM users_search WHERE users_search MATCH ? LIMIT ?)",
    )
    .bind::<diesel::sql_types::Text, _>(fts_phrase(term))
    .bind::<BigInt, _>(most + 1)
    .get_result::<Counted>(sqlite)?;
    if found.n > most {
        return Ok(None);
    }
    // NOT INDEXED: without it SQLite reads the tenant's index (it guesses a tenant holds few
    // users) and looks each of them up among the matches.
    let query = diesel::sql_query(format!(
        "SELECT count(*) AS n FROM users NOT INDEXED \
         WHERE id IN (SELECT rowid FROM users_search WHERE users_search MATCH ?) \
         AND tenant_id = ? AND state <> ?{condition}"
    ))
    .into_boxed()
    .bind::<diesel::sql_types::Text, _>(fts_phrase(term))
    .bind::<BigInt, _>(tenant.0)
    .bind::<diesel::sql_types::Text, _>(UserState::Deleted);
    let query = if filter == UserFilter::Blocked {
        query.bind::<diesel::sql_types::Text, _>(UserState::Blocked)
    } else {
        query
    };
    Ok(Some(query.get_result::<Counted>(sqlite)?.n))
}

/// The users Active users shows under `filter` (no search), from the counts that triggers
/// keep per tenant and state; `None` for a filter they don't keep (a product, a group).
pub(crate) fn kept_count(
    conn: &mut DbConnection,
    tenant: TenantId,
    filter: UserFilter,
) -> Result<Option<i64>, DomainError> {
    use super::super::schema::user_counts;
    // Every state but Deleted, or Blocked alone: said without an IN list, which diesel
    // prepares afresh on every run.
    let counts: Vec<(i64, i64)> = match filter {
        UserFilter::Blocked => user_counts::table
            .filter(user_counts::tenant_id.eq(tenant.0))
            .filter(user_counts::state.eq(UserState::Blocked))
            .select((user_counts::users, user_counts::licensed))
            .load(conn)?,
        UserFilter::All | UserFilter::Licensed | UserFilter::Unlicensed => user_counts::table
            .filter(user_counts::tenant_id.eq(tenant.0))
            .filter(user_counts::state.ne(UserState::Deleted))
            .select((user_counts::users, user_counts::licensed))
            .load(conn)?,
        _ => return Ok(None),
    };
    let (users, licensed) = counts
        .into_iter()
        .fold((0, 0), |(u, l), (users, licensed)| {
            (u + users, l + licensed)
        });
    Ok(Some(match filter {
        UserFilter::Licensed => licensed,
        UserFilter::Unlicensed => users - licensed,
        _ => users,
    }))
}

/// The users of a filter that few of the tenant's users pass (at most `FEW`, by the kept
/// counts), read by an index that leads to them: walking the tenant in name order for a page
/// of them would read every user. `None` when the filter is common, or not one of these.
/// (Unlicensed users have an index of their own in name order, `users_unlicensed`, which the
/// walk reads however few or many they are.)
pub(crate) fn rare(
    conn: &mut DbConnection,
    tenant: TenantId,
    filter: UserFilter,
) -> Result<Option<Plan>, DomainError> {
    if !matches!(filter, UserFilter::Licensed | UserFilter::Blocked) {
        return Ok(None);
    }
    match kept_count(conn, tenant, filter)? {
        Some(n) if n <= FEW => {}
        _ => return Ok(None),
    }
    let ids: Vec<i64> = if filter == UserFilter::Blocked {
        // users_tenant_state
        users::table
            .filter(users::tenant_id.eq(tenant.0))
            .filter(users::state.eq(UserState::Blocked))
            .select(users::id)
            .load(conn)?
    } else {
        // Few licensed users hold few assignments (license_assignments_user).
        license_assignments::table
            .filter(license_assignments::tenant_id.eq(tenant.0))
            .select(license_assignments::user_id)
            .distinct()
            .load(conn)?
    };
    Ok(Some(Plan::Few(ids)))
}

/// Every user Active users shows under `filter` and `search`, in name order: whom
/// "Select all N matching" acts on, decided again from the filter when the action runs.
pub fn matching(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    search: &str,
    filter: UserFilter,
) -> Result<Vec<UserRow>, DomainError> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = list_sized(
            conn,
            actor,
            tenant,
            search,
            filter,
            UserSort::Name,
            after,
            EXPORT_PAGE_SIZE,
        )?;
        all.extend(page.rows);
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(all),
        }
    }
}
