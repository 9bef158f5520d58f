//! Lists of requests: a tenant's own, and the support console's queue across tenants.

use super::*;

pub(crate) type RowTuple = (
    i64,
    String,
    String,
    String,
    String,
    Option<String>,
    NaiveDateTime,
    NaiveDateTime,
);

pub(crate) fn to_row(
    (id, tenant_name, kind, subject, state, assigned_to, created_at, updated_at): RowTuple,
) -> Result<RequestRow, DomainError> {
    Ok(RequestRow {
        id: ServiceRequestId(id),
        tenant_name,
        kind: Kind::parse(&kind)?,
        subject,
        state: State::parse(&state)?,
        assigned_to,
        created_at: utc(created_at),
        updated_at: utc(updated_at),
    })
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

pub(crate) fn page_of(
    conn: &mut DbConnection,
    scope: Scope<'_>,
    after: Option<Cursor>,
) -> Result<Page, DomainError> {
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
                let kinds: Vec<&str> = kinds.into_iter().map(Kind::as_str).collect();
                query = query.filter(service_requests::kind.eq_any(kinds));
            }
            if let Some(state) = filter.state {
                query = query.filter(service_requests::state.eq(state.as_str()));
            }
            if let Some(kind) = filter.kind {
                query = query.filter(service_requests::kind.eq(kind.as_str()));
            }
            if let Some(tenant) = filter.tenant {
                query = query.filter(service_requests::tenant_id.eq(tenant.0));
            }
            if let Some(days) = filter.older_than_days {
                query = query
                    .filter(service_requests::created_at.le(naive(now - Duration::days(days))));
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
        }
    }
    if let Some(after) = after {
        query = query.filter(
            service_requests::updated_at
                .lt(after.updated_at)
                .or(service_requests::updated_at
                    .eq(after.updated_at)
                    .and(service_requests::id.lt(after.id))),
        );
    }
    let rows: Vec<RowTuple> = query
        .order((
            service_requests::updated_at.desc(),
            service_requests::id.desc(),
        ))
        .limit(PAGE_SIZE + 1)
        .select((
            service_requests::id,
            tenants::name,
            service_requests::kind,
            service_requests::subject,
            service_requests::state,
            staff::display_name.nullable(),
            service_requests::created_at,
            service_requests::updated_at,
        ))
        .load(conn)?;
    let more = rows.len() as i64 > PAGE_SIZE;
    let rows = rows
        .into_iter()
        .take(PAGE_SIZE as usize)
        .map(to_row)
        .collect::<Result<Vec<_>, _>>()?;
    let next = if more {
        rows.last().map(|r| Cursor {
            updated_at: naive(r.updated_at),
            id: r.id.0,
        })
    } else {
        None
    };
    Ok(Page { rows, next })
}

/// The tenant's requests, most recently updated first. Every admin of the tenant sees them.
pub fn list_for_tenant(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    after: Option<Cursor>,
) -> Result<Page, DomainError> {
    authz::may(
        actor,
        Action::FileServiceRequests,
        &authz::Target::Tenant(tenant),
    )?;
    page_of(conn, Scope::Tenant(tenant), after)
}

/// The support console's queue: every tenant's requests for billing support, the volume
/// licensing ones for partners.
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
    let roles: Vec<&str> = authz::staff_roles_who_may(Action::WorkServiceRequest, &target)
        .into_iter()
        .map(StaffRole::as_str)
        .collect();
    Ok(staff::table
        .filter(staff::role.eq_any(roles))
        .order((staff::display_name, staff::id))
        .select((staff::id, staff::display_name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .map(|(id, name)| (StaffId(id), name))
        .collect())
}
