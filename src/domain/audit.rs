//! The audit log: who did what to whom, when, in which tenant. Written in the same
//! transaction as the change it records.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::schema::audit_log;
use super::{Actor, DbConnection, DomainError, TenantId, naive};

thread_local! {
    /// The client address of the changes made on this thread now (`from_address`).
    static CLIENT_ADDRESS: std::cell::RefCell<Option<String>> =
        const { std::cell::RefCell::new(None) };
}

/// Runs `f` with `address` as the client address every entry it records carries: the door
/// (pages, API, SCIM) knows where a request came from, the domain functions it calls don't
/// need to. Outside it (the command line, scheduled jobs) entries have none.
pub fn from_address<T>(address: Option<String>, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<String>);
    impl Drop for Restore {
        fn drop(&mut self) {
            CLIENT_ADDRESS.set(self.0.take());
        }
    }
    let _restore = Restore(CLIENT_ADDRESS.replace(address));
    f()
}

fn client_address() -> Option<String> {
    CLIENT_ADDRESS.with_borrow(Clone::clone)
}

/// Records one change. `target` names what was changed ("user01@contoso.example",
/// "Business Premium"); `detail` holds before/after counts and the like.
pub fn record(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: Option<TenantId>,
    action: &str,
    target: &str,
    detail: &str,
) -> Result<(), DomainError> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::at.eq(naive(now)),
            audit_log::tenant_id.eq(tenant.map(|t| t.0)),
            audit_log::actor.eq(actor.label()),
            audit_log::action.eq(action),
            audit_log::target.eq(target),
            audit_log::detail.eq(detail),
            audit_log::client_address.eq(client_address()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records one change per target (user, detail), in one statement per thousand rows.
pub fn record_many(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: Option<TenantId>,
    action: &str,
    entries: &[(String, String)],
) -> Result<(), DomainError> {
    let label = actor.label();
    let address = client_address();
    let rows: Vec<_> = entries
        .iter()
        .map(|(target, detail)| {
            (
                audit_log::at.eq(naive(now)),
                audit_log::tenant_id.eq(tenant.map(|t| t.0)),
                audit_log::actor.eq(label.as_str()),
                audit_log::action.eq(action),
                audit_log::target.eq(target.as_str()),
                audit_log::detail.eq(detail.as_str()),
                audit_log::client_address.eq(address.as_deref()),
            )
        })
        .collect();
    for chunk in rows.chunks(1000) {
        super::db::insert_batch!(conn, audit_log::table, chunk)?;
    }
    Ok(())
}

/// One entry of Settings > Audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    /// Where the change came from, when it came through a door that knows (pages, API, SCIM).
    pub client_address: Option<String>,
}

/// What the audit log page filters by; empty fields don't filter.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// A sign-in name (or part of one) of the user changed or acting.
    pub user: String,
    /// A product name: entries whose detail or target names it.
    pub product: String,
    pub action: String,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub order: AuditOrder,
}

/// What the log is sorted by; equal entries by when they were written, the same way round.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AuditSort {
    #[default]
    When,
    Who,
    Action,
}

/// The log's order: newest first unless asked otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditOrder {
    pub by: AuditSort,
    pub descending: bool,
}

impl Default for AuditOrder {
    fn default() -> Self {
        AuditOrder {
            by: AuditSort::When,
            descending: true,
        }
    }
}

pub const PAGE_SIZE: i64 = 100;

/// The tenant's audit log in the filter's order, `PAGE_SIZE` entries past `after` (the id
/// of the last entry of the page before).
pub fn search(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    filter: &Filter,
    after: Option<i64>,
) -> Result<(Vec<Entry>, Option<i64>), DomainError> {
    search_sized(conn, actor, tenant, filter, after, PAGE_SIZE)
}

/// Pages of an audit log export: the same entries, in the same order.
pub const EXPORT_PAGE_SIZE: i64 = 1000;

type Backend = <DbConnection as Connection>::Backend;
type Filtered<'a> = diesel::dsl::IntoBoxed<'a, audit_log::table, Backend>;

/// The tenant's entries the filter matches, unordered: once counted, once paged.
fn matching<'a>(tenant: TenantId, filter: &Filter) -> Result<Filtered<'a>, DomainError> {
    let mut query = audit_log::table
        .filter(audit_log::tenant_id.eq(tenant.0))
        .into_boxed();
    let user = super::text::search("user", &filter.user)?.to_lowercase();
    let product = super::text::search("product", &filter.product)?;
    let action = super::text::search("action", &filter.action)?;
    if !user.is_empty() {
        let pattern = format!("%{}%", escape_like(&user));
        query = query.filter(
            audit_log::target
                .like(pattern.clone())
                .escape('\\')
                .or(audit_log::actor.like(pattern).escape('\\')),
        );
    }
    if !product.is_empty() {
        let pattern = format!("%{}%", escape_like(&product));
        query = query.filter(
            audit_log::detail
                .like(pattern.clone())
                .escape('\\')
                .or(audit_log::target.like(pattern).escape('\\')),
        );
    }
    if !action.is_empty() {
        query = query.filter(audit_log::action.eq(action));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_log::at.ge(naive(from)));
    }
    if let Some(until) = filter.until {
        query = query.filter(audit_log::at.lt(naive(until)));
    }
    Ok(query)
}

/// How many entries the filter matches. Counted exactly: the (tenant, at) index serves a
/// tenant's date range; the text filters read the tenant's entries in that range, which is
/// what the page itself does when few match.
pub fn count(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    filter: &Filter,
) -> Result<i64, DomainError> {
    super::authz::may(
        actor,
        super::Action::ViewAuditLog,
        &super::authz::Target::Tenant(tenant),
    )?;
    Ok(matching(tenant, filter)?.count().get_result(conn)?)
}

/// `search` with pages of `size` entries (1 to `EXPORT_PAGE_SIZE`).
pub fn search_sized(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    filter: &Filter,
    after: Option<i64>,
    size: i64,
) -> Result<(Vec<Entry>, Option<i64>), DomainError> {
    let size = size.clamp(1, EXPORT_PAGE_SIZE);
    super::authz::may(
        actor,
        super::Action::ViewAuditLog,
        &super::authz::Target::Tenant(tenant),
    )?;
    let mut query = matching(tenant, filter)?;
    let order = filter.order;
    // The page key is the last entry's id; entries never change, so its sorted value is read
    // back from it (in this tenant: another tenant's id is no valid link).
    if let Some(after) = after {
        let (key_at, key_actor, key_action) = audit_log::table
            .filter(audit_log::tenant_id.eq(tenant.0))
            .filter(audit_log::id.eq(after))
            .select((audit_log::at, audit_log::actor, audit_log::action))
            .first::<(chrono::NaiveDateTime, String, String)>(conn)
            .optional()?
            .ok_or_else(|| DomainError::invalid("before", "This page link is not valid."))?;
        // The bound on the key alone lets the index seek to it (see `users::after_key`).
        query = match (order.by, order.descending) {
            (AuditSort::When, true) => query.filter(audit_log::at.le(key_at)).filter(
                audit_log::at
                    .lt(key_at)
                    .or(audit_log::at.eq(key_at).and(audit_log::id.lt(after))),
            ),
            (AuditSort::When, false) => query.filter(audit_log::at.ge(key_at)).filter(
                audit_log::at
                    .gt(key_at)
                    .or(audit_log::at.eq(key_at).and(audit_log::id.gt(after))),
            ),
            (AuditSort::Who, true) => query.filter(audit_log::actor.le(key_actor.clone())).filter(
                audit_log::actor
                    .lt(key_actor.clone())
                    .or(audit_log::actor.eq(key_actor).and(audit_log::id.lt(after))),
            ),
            (AuditSort::Who, false) => query.filter(audit_log::actor.ge(key_actor.clone())).filter(
                audit_log::actor
                    .gt(key_actor.clone())
                    .or(audit_log::actor.eq(key_actor).and(audit_log::id.gt(after))),
            ),
            (AuditSort::Action, true) => query
                .filter(audit_log::action.le(key_action.clone()))
                .filter(
                    audit_log::action
                        .lt(key_action.clone())
                        .or(audit_log::action
                            .eq(key_action)
                            .and(audit_log::id.lt(after))),
                ),
            (AuditSort::Action, false) => query
                .filter(audit_log::action.ge(key_action.clone()))
                .filter(
                    audit_log::action
                        .gt(key_action.clone())
                        .or(audit_log::action
                            .eq(key_action)
                            .and(audit_log::id.gt(after))),
                ),
        };
    }
    query = match (order.by, order.descending) {
        // The (tenant, at) index reads these in order.
        (AuditSort::When, true) => query.order((audit_log::at.desc(), audit_log::id.desc())),
        (AuditSort::When, false) => query.order((audit_log::at.asc(), audit_log::id.asc())),
        (AuditSort::Who, true) => query.order((audit_log::actor.desc(), audit_log::id.desc())),
        (AuditSort::Who, false) => query.order((audit_log::actor.asc(), audit_log::id.asc())),
        (AuditSort::Action, true) => query.order((audit_log::action.desc(), audit_log::id.desc())),
        (AuditSort::Action, false) => query.order((audit_log::action.asc(), audit_log::id.asc())),
    };
    type Row = (
        i64,
        chrono::NaiveDateTime,
        String,
        String,
        String,
        String,
        Option<String>,
    );
    let rows: Vec<Row> = query
        .limit(size + 1)
        .select((
            audit_log::id,
            audit_log::at,
            audit_log::actor,
            audit_log::action,
            audit_log::target,
            audit_log::detail,
            audit_log::client_address,
        ))
        .load(conn)?;
    let more = rows.len() as i64 > size;
    let entries: Vec<Entry> = rows
        .into_iter()
        .take(size as usize)
        .map(
            |(id, at, actor, action, target, detail, client_address)| Entry {
                id,
                at: super::utc(at),
                actor,
                action,
                target,
                detail,
                client_address,
            },
        )
        .collect();
    let next = if more {
        entries.last().map(|e| e.id)
    } else {
        None
    };
    Ok((entries, next))
}

/// The actions that appear in the tenant's log, for the filter's choices.
pub fn actions(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
) -> Result<Vec<String>, DomainError> {
    super::authz::may(
        actor,
        super::Action::ViewAuditLog,
        &super::authz::Target::Tenant(tenant),
    )?;
    Ok(audit_log::table
        .filter(audit_log::tenant_id.eq(tenant.0))
        .select(audit_log::action)
        .distinct()
        .order(audit_log::action)
        .load(conn)?)
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
