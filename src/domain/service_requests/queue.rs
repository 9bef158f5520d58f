//! Lists of requests: a tenant's own, and the support console's queue across tenants.

use super::*;

/// A row of a list of requests as the query selects it.
#[derive(Queryable, Selectable)]
#[diesel(table_name = service_requests)]
struct ListedRequest {
    id: i64,
    #[diesel(select_expression = tenants::name)]
    tenant_name: String,
    kind: Kind,
    subject: String,
    state: State,
    #[diesel(select_expression = staff::display_name.nullable())]
    assigned_to: Option<String>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl ListedRequest {
    fn into_row(self) -> RequestRow {
        RequestRow {
            id: ServiceRequestId(self.id),
            tenant_name: self.tenant_name,
            kind: self.kind,
            subject: self.subject,
            state: self.state,
            assigned_to: self.assigned_to,
            created_at: utc(self.created_at),
            updated_at: utc(self.updated_at),
        }
    }
}

/// Where a list of requests comes from: one tenant's, or the queue across tenants.
pub(crate) enum Scope<'a> {
    Tenant(TenantId),
    Queue {
        filter: &'a QueueFilter,
        me: Option<StaffId>,
        kinds: Vec<Kind>,
        now: DateTime<Utc>,
    },
}

type Backend = <DbConnection as Connection>::Backend;
type Listed<'a> = diesel::dsl::IntoBoxed<
    'a,
    diesel::dsl::LeftJoin<
        diesel::dsl::InnerJoin<service_requests::table, tenants::table>,
        staff::table,
    >,
    Backend,
>;

diesel::define_sql_function! {
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// The number a search names, as the pages show it ("#1042") or staff say it ("SR-1042").
pub fn searched_number(search: &str) -> Option<i64> {
    let s = search.trim();
    let s = s.strip_prefix('#').unwrap_or(s);
    let s = match s.get(..3) {
        Some(p) if p.eq_ignore_ascii_case("sr-") => &s[3..],
        _ => s,
    };
    s.parse::<i64>().ok().filter(|n| *n > 0)
}

/// `%text%` for LIKE, with its own `%`, `_` and `\` matched literally.
fn contains_pattern(text: &str) -> String {
    format!(
        "%{}%",
        text.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

/// The requests of the scope its filters match, unordered: once counted, once paged.
fn matching<'a>(scope: &Scope<'a>) -> Result<Listed<'a>, DomainError> {
    let mut query = service_requests::table
        .inner_join(tenants::table)
        .left_join(staff::table)
        .into_boxed();
    match scope {
        Scope::Tenant(tenant) => {
            query = query.filter(service_requests::tenant_id.eq(tenant.0));
        }
        Scope::Queue {
            filter,
            me,
            kinds,
            now,
        } => {
            if kinds.len() < Kind::ALL.len() {
                query = query.filter(service_requests::kind.eq_any(kinds.clone()));
            }
            if let Some(state) = filter.state {
                query = query.filter(service_requests::state.eq(state));
            }
            if let Some(kind) = filter.kind {
                query = query.filter(service_requests::kind.eq(kind));
            }
            if let Some(tenant) = filter.tenant {
                query = query.filter(service_requests::tenant_id.eq(tenant.0));
            }
            if let Some(days) = filter.older_than_days {
                query = query
                    .filter(service_requests::created_at.le(naive(*now - Duration::days(days))));
            }
            match filter.assigned {
                Assigned::Anyone => {}
                Assigned::Me => {
                    query = query.filter(service_requests::assigned_staff_id.eq(me.map(|s| s.0)));
                }
                Assigned::Nobody => {
                    query = query.filter(service_requests::assigned_staff_id.is_null());
                }
            }
            let search = crate::domain::text::search("q", &filter.search)?.to_lowercase();
            if !search.is_empty() {
                let pattern = contains_pattern(&search);
                let text = lower(service_requests::subject)
                    .like(pattern.clone())
                    .escape('\\')
                    .or(lower(service_requests::description)
                        .like(pattern.clone())
                        .escape('\\'))
                    .or(lower(tenants::name).like(pattern).escape('\\'));
                query = match searched_number(&search) {
                    Some(number) => query.filter(service_requests::id.eq(number).or(text)),
                    None => query.filter(text),
                };
            }
        }
    }
    Ok(query)
}

pub(crate) fn page_of(
    conn: &mut DbConnection,
    scope: Scope<'_>,
    order: RequestOrder,
    after: Option<Cursor>,
) -> Result<Page, DomainError> {
    let total: i64 = matching(&scope)?.count().get_result(conn)?;
    let mut query = matching(&scope)?;
    // The page key follows the order: past the last row in the sorted column, ties by number.
    // The plain bound beside each OR is what PostgreSQL seeks its index to (it derives none from
    // the OR).
    if let Some(after) = after {
        let (at, id) = (after.updated_at, after.id);
        let text = after.text;
        query = match (order.by, order.descending) {
            (RequestSort::State, descending) => {
                let state = State::parse(&text)
                    .map_err(|_| DomainError::invalid("after", "This page link is not valid."))?;
                if descending {
                    query.filter(service_requests::state.le(state)).filter(
                        service_requests::state.lt(state).or(service_requests::state
                            .eq(state)
                            .and(service_requests::id.lt(id))),
                    )
                } else {
                    query.filter(service_requests::state.ge(state)).filter(
                        service_requests::state.gt(state).or(service_requests::state
                            .eq(state)
                            .and(service_requests::id.gt(id))),
                    )
                }
            }
            (RequestSort::Tenant, true) => query.filter(tenants::name.le(text.clone())).filter(
                tenants::name
                    .lt(text.clone())
                    .or(tenants::name.eq(text).and(service_requests::id.lt(id))),
            ),
            (RequestSort::Tenant, false) => query.filter(tenants::name.ge(text.clone())).filter(
                tenants::name
                    .gt(text.clone())
                    .or(tenants::name.eq(text).and(service_requests::id.gt(id))),
            ),
            (RequestSort::Number, true) => query.filter(service_requests::id.lt(id)),
            (RequestSort::Number, false) => query.filter(service_requests::id.gt(id)),
            (RequestSort::Updated, true) => {
                query.filter(service_requests::updated_at.le(at)).filter(
                    service_requests::updated_at
                        .lt(at)
                        .or(service_requests::updated_at
                            .eq(at)
                            .and(service_requests::id.lt(id))),
                )
            }
            (RequestSort::Updated, false) => {
                query.filter(service_requests::updated_at.ge(at)).filter(
                    service_requests::updated_at
                        .gt(at)
                        .or(service_requests::updated_at
                            .eq(at)
                            .and(service_requests::id.gt(id))),
                )
            }
            (RequestSort::Created, true) => {
                query.filter(service_requests::created_at.le(at)).filter(
                    service_requests::created_at
                        .lt(at)
                        .or(service_requests::created_at
                            .eq(at)
                            .and(service_requests::id.lt(id))),
                )
            }
            (RequestSort::Created, false) => {
                query.filter(service_requests::created_at.ge(at)).filter(
                    service_requests::created_at
                        .gt(at)
                        .or(service_requests::created_at
                            .eq(at)
                            .and(service_requests::id.gt(id))),
                )
            }
        };
    }
    query = match (order.by, order.descending) {
        (RequestSort::State, true) => {
            query.order((service_requests::state.desc(), service_requests::id.desc()))
        }
        (RequestSort::State, false) => {
            query.order((service_requests::state.asc(), service_requests::id.asc()))
        }
        (RequestSort::Tenant, true) => {
            query.order((tenants::name.desc(), service_requests::id.desc()))
        }
        (RequestSort::Tenant, false) => {
            query.order((tenants::name.asc(), service_requests::id.asc()))
        }
        (RequestSort::Number, true) => query.order(service_requests::id.desc()),
        (RequestSort::Number, false) => query.order(service_requests::id.asc()),
        (RequestSort::Updated, true) => query.order((
            service_requests::updated_at.desc(),
            service_requests::id.desc(),
        )),
        (RequestSort::Updated, false) => query.order((
            service_requests::updated_at.asc(),
            service_requests::id.asc(),
        )),
        (RequestSort::Created, true) => query.order((
            service_requests::created_at.desc(),
            service_requests::id.desc(),
        )),
        (RequestSort::Created, false) => query.order((
            service_requests::created_at.asc(),
            service_requests::id.asc(),
        )),
    };
    let rows: Vec<ListedRequest> = query
        .limit(PAGE_SIZE + 1)
        .select(ListedRequest::as_select())
        .load(conn)?;
    let more = rows.len() as i64 > PAGE_SIZE;
    let rows = rows
        .into_iter()
        .take(PAGE_SIZE as usize)
        .map(ListedRequest::into_row)
        .collect::<Vec<_>>();
    let next = if more {
        rows.last().map(|r| Cursor {
            updated_at: naive(match order.by {
                RequestSort::Created => r.created_at,
                _ => r.updated_at,
            }),
            id: r.id.0,
            text: match order.by {
                RequestSort::State => r.state.as_str().to_owned(),
                RequestSort::Tenant => r.tenant_name.clone(),
                _ => String::new(),
            },
        })
    } else {
        None
    };
    Ok(Page { rows, next, total })
}

/// The tenant's requests, most recently updated first. Every admin of the tenant sees them (and
/// a token with `billing.read` or `serviceRequests.write`).
pub fn list_for_tenant(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    after: Option<Cursor>,
) -> Result<Page, DomainError> {
    list_for_tenant_in(conn, actor, tenant, RequestOrder::default(), after)
}

/// The tenant's requests in `order` (Support > Service requests sorts by its headers).
pub fn list_for_tenant_in(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    order: RequestOrder,
    after: Option<Cursor>,
) -> Result<Page, DomainError> {
    authz::may(
        actor,
        Action::ViewServiceRequest,
        &authz::Target::Tenant(tenant),
    )?;
    page_of(conn, Scope::Tenant(tenant), order, after)
}

/// The support console's queue: every tenant's requests for billing support, the volume
/// licensing ones for partners, matching `filter` (its search too) in its order.
pub fn queue(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    filter: &QueueFilter,
    after: Option<Cursor>,
) -> Result<Page, DomainError> {
    authz::may(actor, Action::ViewSupportQueue, &authz::Target::Provider)?;
    let kinds = workable_kinds(actor);
    let me = match actor {
        Actor::Staff { staff, .. } => Some(*staff),
        _ => None,
    };
    page_of(
        conn,
        Scope::Queue {
            filter,
            me,
            kinds,
            now,
        },
        filter.order,
        after,
    )
}

/// The tenants, by name, for the queue's filter.
pub fn tenant_choices(
    conn: &mut DbConnection,
    actor: &Actor,
) -> Result<Vec<(TenantId, String)>, DomainError> {
    authz::may(actor, Action::ViewSupportQueue, &authz::Target::Provider)?;
    Ok(tenants::table
        .order((tenants::name, tenants::id))
        .select((tenants::id, tenants::name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .map(|(id, name)| (TenantId(id), name))
        .collect())
}

/// Staff who may work a request of this kind, for "Assign to".
pub fn staff_choices(
    conn: &mut DbConnection,
    actor: &Actor,
    kind: Kind,
) -> Result<Vec<(StaffId, String)>, DomainError> {
    let target = kind.any_request();
    authz::may(actor, Action::WorkServiceRequest, &target)?;
    let roles = authz::staff_roles_who_may(Action::WorkServiceRequest, &target);
    Ok(staff::table
        .filter(staff::role.eq_any(roles))
        .order((staff::display_name, staff::id))
        .select((staff::id, staff::display_name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .map(|(id, name)| (StaffId(id), name))
        .collect())
}
