//! Service requests: tenants file them (Support > Service requests), billing support works them
//! in the support console, and what a request asks for (cancel a subscription, add or remove
//! licenses) is carried out here, through the same subscription rules as the admin center, in
//! one transaction with the request's update, its audit entry and its emails.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::agreements::{self, AgreementId, RemapPreview};
use super::billing::{self, PaymentGateway};
use super::schema::{
    agreements as agreement_table, service_request_comments, service_requests, staff, tenants,
    users,
};
use super::subscriptions::{self, CancelWhen, Cancelled, RemovalPreview, SubscriptionRow};
use super::{
    Action, Actor, DbConnection, DomainError, ServiceRequestId, StaffId, StaffRole, SubscriptionId,
    TenantId, audit, authz, naive, outbox, utc,
};

/// What a request asks for (DESIGN.md, Service request; the seeds' "Cancel subscription").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    CancelSubscription,
    AddLicenses,
    RemoveLicenses,
    ResendActivationEmail,
    RemapAgreement,
    VolumeLicensingInvoice,
    BillingQuestion,
    Other,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::CancelSubscription,
        Kind::AddLicenses,
        Kind::RemoveLicenses,
        Kind::ResendActivationEmail,
        Kind::RemapAgreement,
        Kind::VolumeLicensingInvoice,
        Kind::BillingQuestion,
        Kind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::CancelSubscription => "cancel_subscription",
            Kind::AddLicenses => "add_licenses",
            Kind::RemoveLicenses => "remove_licenses",
            Kind::ResendActivationEmail => "resend_activation_email",
            Kind::RemapAgreement => "remap_agreement",
            Kind::VolumeLicensingInvoice => "volume_licensing_invoice",
            Kind::BillingQuestion => "billing_question",
            Kind::Other => "other",
        }
    }

    /// The name the pages show.
    pub fn title(self) -> &'static str {
        match self {
            Kind::CancelSubscription => "Cancel subscription",
            Kind::AddLicenses => "Add licenses",
            Kind::RemoveLicenses => "Remove licenses",
            Kind::ResendActivationEmail => "Resend activation email",
            Kind::RemapAgreement => "Remap agreement",
            Kind::VolumeLicensingInvoice => "Volume licensing invoice",
            Kind::BillingQuestion => "Billing question",
            Kind::Other => "Other",
        }
    }

    pub fn parse(text: &str) -> Result<Kind, DomainError> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == text)
            .ok_or_else(|| DomainError::invalid("kind", "Choose the type of request."))
    }

    /// Asks for a change to one subscription.
    pub fn needs_subscription(self) -> bool {
        matches!(
            self,
            Kind::CancelSubscription | Kind::AddLicenses | Kind::RemoveLicenses
        )
    }

    pub fn needs_quantity(self) -> bool {
        matches!(self, Kind::AddLicenses | Kind::RemoveLicenses)
    }

    /// Is about a volume licensing agreement: partners work these too.
    pub fn is_volume_licensing(self) -> bool {
        matches!(
            self,
            Kind::ResendActivationEmail | Kind::RemapAgreement | Kind::VolumeLicensingInvoice
        )
    }

    /// The right an admin needs to file it: anything about billing is for Global and Billing
    /// admins (the seeds send cancellations and license changes to billing support).
    pub fn action_to_file(self) -> Action {
        match self {
            Kind::Other => Action::FileServiceRequests,
            _ => Action::ManageBilling,
        }
    }
}

/// Where a request is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    Open,
    InProgress,
    WaitingOnCustomer,
    Resolved,
    Closed,
}

impl State {
    pub const ALL: [State; 5] = [
        State::Open,
        State::InProgress,
        State::WaitingOnCustomer,
        State::Resolved,
        State::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Open => "open",
            State::InProgress => "in_progress",
            State::WaitingOnCustomer => "waiting_on_customer",
            State::Resolved => "resolved",
            State::Closed => "closed",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            State::Open => "Open",
            State::InProgress => "In progress",
            State::WaitingOnCustomer => "Waiting on customer",
            State::Resolved => "Resolved",
            State::Closed => "Closed",
        }
    }

    pub fn parse(text: &str) -> Result<State, DomainError> {
        State::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| DomainError::invalid("state", "Choose a state."))
    }

    /// The states staff may move a request to from this one. A request is taken before it is
    /// worked; a resolved one is reopened or closed; a closed one stays closed.
    pub fn next_for_staff(self) -> &'static [State] {
        match self {
            State::Open => &[State::InProgress],
            State::InProgress => &[State::WaitingOnCustomer, State::Resolved],
            State::WaitingOnCustomer => &[State::InProgress, State::Resolved],
            State::Resolved => &[State::InProgress, State::Closed],
            State::Closed => &[],
        }
    }

    /// Still asking for work: what the request asks for may be carried out.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            State::Open | State::InProgress | State::WaitingOnCustomer
        )
    }
}

/// A new request, as the tenant's form sends it.
#[derive(Debug, Clone, Default)]
pub struct NewRequest {
    pub kind: String,
    pub subscription: Option<SubscriptionId>,
    pub quantity: Option<i32>,
    /// The agreement a volume licensing request is about, by its number.
    pub agreement_number: String,
    /// Remap agreement: the domain of the organization to move it to. Resend activation
    /// email: the address asked for (only the OSM on file ever gets it).
    pub target: String,
    pub description: String,
}

/// The longest problem description or comment.
pub const MAX_TEXT: usize = 4000;
/// The shortest problem description that can say what the problem is.
pub const MIN_DESCRIPTION: usize = 10;
/// Requests per page of a list.
pub const PAGE_SIZE: i64 = 50;

/// One row of a list of requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRow {
    pub id: ServiceRequestId,
    pub tenant_name: String,
    pub kind: Kind,
    pub subject: String,
    pub state: State,
    pub assigned_to: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One entry of a request's thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// "customer", "staff" or "system".
    pub author_kind: String,
    pub author: String,
    pub body: String,
    pub internal: bool,
    pub created_at: DateTime<Utc>,
}

/// A cancellation's data-safety note: the export, and when the data goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSafety {
    /// When the subscription's data is deleted: 90 days after it ends (today, if cancelled
    /// now and still running).
    pub deleted_on: DateTime<Utc>,
    /// True while the subscription runs with recurring billing on: the date assumes it is
    /// cancelled today.
    pub if_cancelled_today: bool,
    /// When the tenant last exported its data, if ever.
    pub exported_at: Option<DateTime<Utc>>,
}

/// A request with its thread, as one viewer may see it: a tenant admin never gets internal
/// notes (they are filtered out in the query, not on the page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub id: ServiceRequestId,
    pub tenant: TenantId,
    pub tenant_name: String,
    pub kind: Kind,
    pub subject: String,
    pub description: String,
    pub subscription: Option<SubscriptionRow>,
    pub quantity: Option<i32>,
    /// The agreement of a volume licensing request: its id and number.
    pub agreement: Option<(AgreementId, String)>,
    /// Remap: the target organization's domain; resend: the address asked for.
    pub target: Option<String>,
    pub state: State,
    pub requester_name: String,
    pub requester_email: String,
    pub assigned: Option<(StaffId, String)>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub comments: Vec<Comment>,
    pub data_safety: Option<DataSafety>,
}

/// Filters of the support console's queue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueFilter {
    pub state: Option<State>,
    pub kind: Option<Kind>,
    pub tenant: Option<TenantId>,
    /// Filed at least this many days ago.
    pub older_than_days: Option<i64>,
    pub assigned: Assigned,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Assigned {
    #[default]
    Anyone,
    Me,
    Nobody,
}

/// A page of requests and where the next one starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub rows: Vec<RequestRow>,
    pub next: Option<Cursor>,
}

/// Keyset paging on (updated, id), newest first: stable while requests change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub updated_at: NaiveDateTime,
    pub id: i64,
}

impl Cursor {
    /// The form a URL carries: microseconds since the epoch, a dot, the id.
    pub fn token(&self) -> String {
        format!(
            "{}.{}",
            self.updated_at.and_utc().timestamp_micros(),
            self.id
        )
    }

    pub fn parse(token: &str) -> Result<Cursor, DomainError> {
        let bad = || DomainError::invalid("after", "This page link is not valid.");
        let (micros, id) = token.split_once('.').ok_or_else(bad)?;
        let micros: i64 = micros.parse().map_err(|_| bad())?;
        let id: i64 = id.parse().map_err(|_| bad())?;
        let at = DateTime::from_timestamp_micros(micros).ok_or_else(bad)?;
        Ok(Cursor {
            updated_at: at.naive_utc(),
            id,
        })
    }
}

// ------------------------------------------------------------------ filing and reading

/// Files a request for the admin's tenant and mails the requester a confirmation. A request
/// about a subscription must name one of the tenant's own running subscriptions.
pub fn file(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    new: &NewRequest,
) -> Result<ServiceRequestId, DomainError> {
    authz::may(actor, Action::FileServiceRequests, Some(tenant))?;
    let Actor::Admin { user, .. } = actor else {
        return Err(DomainError::Forbidden);
    };
    let kind = Kind::parse(new.kind.trim())?;
    authz::may(actor, kind.action_to_file(), Some(tenant)).map_err(|_| {
        DomainError::Refused(format!(
            "Only Global and Billing admins can file a \"{}\" request.",
            kind.title()
        ))
    })?;
    let description = new.description.trim();
    check_text(
        "description",
        description,
        MIN_DESCRIPTION,
        "Describe the problem in at least 10 characters.",
    )?;
    let (agreement, target) = if kind.is_volume_licensing() {
        let (head, target) = agreement_asked(conn, kind, new)?;
        (Some(head), target)
    } else {
        (None, None)
    };
    let (subscription, quantity, subject) = if let Some(head) = &agreement {
        let subject = match (kind, &target) {
            (Kind::RemapAgreement, Some(to)) => {
                format!("{}: {} to {to}", kind.title(), head.number)
            }
            _ => format!("{}: {}", kind.title(), head.number),
        };
        (None, None, subject)
    } else if kind.needs_subscription() {
        let id = new.subscription.ok_or_else(|| {
            DomainError::invalid(
                "subscription",
                "Choose the subscription this request is about.",
            )
        })?;
        let sub = subscriptions::rows_of(conn, tenant)?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(|| {
                DomainError::invalid(
                    "subscription",
                    "Choose one of your organization's subscriptions.",
                )
            })?;
        check_subscription(kind, &sub)?;
        let quantity = if kind.needs_quantity() {
            Some(check_quantity(kind, new.quantity, &sub)?)
        } else {
            None
        };
        let subject = match quantity {
            Some(n) => format!(
                "{} {}: {}",
                if kind == Kind::AddLicenses {
                    "Add"
                } else {
                    "Remove"
                },
                billing::count_of(n, "license"),
                sub.product_name
            ),
            None => format!("{}: {}", kind.title(), sub.product_name),
        };
        (Some(sub.id), quantity, subject)
    } else {
        (
            None,
            None,
            format!("{}: {}", kind.title(), headline(description)),
        )
    };
    super::db::transaction(conn, |conn| {
        let id: i64 = diesel::insert_into(service_requests::table)
            .values((
                service_requests::tenant_id.eq(tenant.0),
                service_requests::kind.eq(kind.as_str()),
                service_requests::subject.eq(&subject),
                service_requests::description.eq(description),
                service_requests::subscription_id.eq(subscription.map(|s| s.0)),
                service_requests::quantity.eq(quantity),
                service_requests::agreement_id.eq(agreement.as_ref().map(|a| a.id.0)),
                service_requests::target.eq(&target),
                service_requests::state.eq(State::Open.as_str()),
                service_requests::requester_id.eq(user.0),
                service_requests::created_at.eq(naive(now)),
                service_requests::updated_at.eq(naive(now)),
            ))
            .returning(service_requests::id)
            .get_result(conn)?;
        let id = ServiceRequestId(id);
        audit::record(
            conn,
            actor,
            now,
            Some(tenant),
            "Filed service request",
            &format!("#{id}"),
            &subject,
        )?;
        mail_requester(
            conn,
            now,
            id,
            &format!("We received your service request #{id}"),
            &format!(
                "Thank you. Your service request #{id} \"{subject}\" is filed, and billing support will answer it here:"
            ),
        )?;
        Ok(id)
    })
}

/// What New service request offers an admin: the types they may file, and the subscriptions
/// a request may name (the tenant's running ones, not self-service purchases).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormChoices {
    pub kinds: Vec<Kind>,
    pub subscriptions: Vec<SubscriptionRow>,
    /// Whether the admin may file the billing types (cancellations, license changes, ...).
    pub may_file_billing: bool,
}

/// The choices of New service request for `actor` in `tenant`.
pub fn form_choices(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
) -> Result<FormChoices, DomainError> {
    authz::may(actor, Action::FileServiceRequests, Some(tenant))?;
    let may_file_billing = authz::can(actor, Action::ManageBilling, Some(tenant));
    let kinds = Kind::ALL
        .into_iter()
        .filter(|k| authz::can(actor, k.action_to_file(), Some(tenant)))
        .collect();
    let subscriptions = if may_file_billing {
        subscriptions::rows_of(conn, tenant)?
            .into_iter()
            .filter(|s| {
                s.self_service_buyer.is_none()
                    && matches!(s.state.as_str(), "active" | "past_due" | "disabled")
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(FormChoices {
        kinds,
        subscriptions,
        may_file_billing,
    })
}

/// The kinds of request `actor` works in the queue: all of them for billing support, the
/// volume licensing ones for partners.
pub fn workable_kinds(actor: &Actor) -> Vec<Kind> {
    Kind::ALL
        .into_iter()
        .filter(|k| authz::may_work_request(actor, k.is_volume_licensing()).is_ok())
        .collect()
}

/// The agreement a volume licensing request names, and its target: the organization a remap
/// goes to, or the address a resend was asked for (checked here, refused when carried out).
fn agreement_asked(
    conn: &mut DbConnection,
    kind: Kind,
    new: &NewRequest,
) -> Result<(agreements::Head, Option<String>), DomainError> {
    let head = agreements::by_number(conn, &new.agreement_number)?;
    let asked = new.target.trim().to_lowercase();
    let target = match kind {
        Kind::RemapAgreement => {
            agreements::remap_target(conn, &head, &asked)?;
            Some(asked)
        }
        Kind::ResendActivationEmail if !asked.is_empty() => {
            super::accounts::EmailAddress::parse(&asked).map_err(|_| {
                DomainError::invalid("target", "Enter a valid email address, or leave it empty.")
            })?;
            Some(asked)
        }
        _ => None,
    };
    Ok((head, target))
}

fn check_text(
    field: &'static str,
    text: &str,
    min: usize,
    too_short: &str,
) -> Result<(), DomainError> {
    let chars = text.chars().count();
    if chars < min {
        return Err(DomainError::invalid(field, too_short));
    }
    if chars > MAX_TEXT {
        return Err(DomainError::invalid(
            field,
            format!("Keep it under {MAX_TEXT} characters (this has {chars})."),
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(DomainError::invalid(
            field,
            "Remove the control characters from the text.",
        ));
    }
    Ok(())
}

fn check_subscription(kind: Kind, sub: &SubscriptionRow) -> Result<(), DomainError> {
    if sub.self_service_buyer.is_some() {
        return Err(DomainError::invalid(
            "subscription",
            "This is a self-service purchase: its buyer manages it. Take it over on the Licenses page first.",
        ));
    }
    let running = match kind {
        Kind::AddLicenses => sub.state == "active",
        _ => matches!(sub.state.as_str(), "active" | "past_due" | "disabled"),
    };
    if running {
        Ok(())
    } else {
        Err(DomainError::invalid(
            "subscription",
            format!(
                "This subscription is {}: choose a running one.",
                sub.state_title().to_lowercase()
            ),
        ))
    }
}

fn check_quantity(
    kind: Kind,
    quantity: Option<i32>,
    sub: &SubscriptionRow,
) -> Result<i32, DomainError> {
    let max = if kind == Kind::AddLicenses {
        100_000
    } else {
        sub.quantity
    };
    match quantity {
        Some(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(DomainError::invalid(
            "quantity",
            format!("Enter how many licenses, from 1 to {max}."),
        )),
    }
}

/// The first line of a description, short enough for a subject.
fn headline(description: &str) -> String {
    let line = description.lines().next().unwrap_or("").trim();
    if line.chars().count() <= 80 {
        line.to_owned()
    } else {
        let cut: String = line.chars().take(79).collect();
        format!("{}…", cut.trim_end())
    }
}

type RowTuple = (
    i64,
    String,
    String,
    String,
    String,
    Option<String>,
    NaiveDateTime,
    NaiveDateTime,
);

fn to_row(
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
enum Scope<'a> {
    Tenant(TenantId),
    Queue {
        filter: &'a QueueFilter,
        me: Option<StaffId>,
        kinds: Vec<Kind>,
        now: DateTime<Utc>,
    },
}

fn page_of(
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
    authz::may(actor, Action::FileServiceRequests, Some(tenant))?;
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
    authz::may(actor, Action::ViewSupportQueue, None)?;
    let kinds = workable_kinds(actor);
    if kinds.is_empty() {
        return Err(DomainError::Forbidden);
    }
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
    authz::may(actor, Action::ViewSupportQueue, None)?;
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
    authz::may_work_request(actor, kind.is_volume_licensing())?;
    let mut roles = vec![StaffRole::Support.as_str()];
    if kind.is_volume_licensing() {
        roles.push(StaffRole::Partner.as_str());
    }
    Ok(staff::table
        .filter(staff::role.eq_any(roles))
        .order((staff::display_name, staff::id))
        .select((staff::id, staff::display_name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .map(|(id, name)| (StaffId(id), name))
        .collect())
}

/// The request's head row, before anyone is allowed to see it.
struct Head {
    id: ServiceRequestId,
    tenant: TenantId,
    kind: Kind,
    subject: String,
    state: State,
    subscription: Option<SubscriptionId>,
    quantity: Option<i32>,
    assigned: Option<StaffId>,
    agreement: Option<AgreementId>,
    target: Option<String>,
}

fn head(conn: &mut DbConnection, id: ServiceRequestId) -> Result<Head, DomainError> {
    type Row = (
        i64,
        String,
        String,
        String,
        Option<i64>,
        Option<i32>,
        Option<i64>,
        Option<i64>,
        Option<String>,
    );
    let (tenant, kind, subject, state, subscription, quantity, assigned, agreement, target): Row =
        service_requests::table
            .find(id.0)
            .select((
                service_requests::tenant_id,
                service_requests::kind,
                service_requests::subject,
                service_requests::state,
                service_requests::subscription_id,
                service_requests::quantity,
                service_requests::assigned_staff_id,
                service_requests::agreement_id,
                service_requests::target,
            ))
            .first(conn)?;
    Ok(Head {
        id,
        tenant: TenantId(tenant),
        kind: Kind::parse(&kind)?,
        subject,
        state: State::parse(&state)?,
        subscription: subscription.map(SubscriptionId),
        quantity,
        assigned: assigned.map(StaffId),
        agreement: agreement.map(AgreementId),
        target,
    })
}

/// Who is looking at or changing a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Customer,
    Staff,
}

/// Decides whether `actor` may see the request, and from which side.
fn side_of(actor: &Actor, head: &Head) -> Result<Side, DomainError> {
    match actor {
        Actor::Admin { .. } => {
            authz::may(actor, Action::FileServiceRequests, Some(head.tenant))?;
            Ok(Side::Customer)
        }
        Actor::Staff { .. } | Actor::System(_) => {
            authz::may_work_request(actor, head.kind.is_volume_licensing())?;
            Ok(Side::Staff)
        }
        Actor::EndUser { .. } => Err(DomainError::Forbidden),
    }
}

/// One request with its thread. Tenant admins of its tenant see it without internal notes;
/// staff who may work it see everything.
pub fn view(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    id: ServiceRequestId,
) -> Result<Request, DomainError> {
    let head = head(conn, id)?;
    let side = side_of(actor, &head)?;
    let (
        description,
        requester_name,
        requester_email,
        created_at,
        updated_at,
        tenant_name,
        exported,
    ): (
        String,
        String,
        String,
        NaiveDateTime,
        NaiveDateTime,
        String,
        Option<NaiveDateTime>,
    ) = service_requests::table
        .inner_join(users::table)
        .inner_join(tenants::table)
        .filter(service_requests::id.eq(id.0))
        .select((
            service_requests::description,
            users::display_name,
            users::email,
            service_requests::created_at,
            service_requests::updated_at,
            tenants::name,
            tenants::data_exported_at,
        ))
        .first(conn)?;
    let assigned = match head.assigned {
        Some(staff_id) => Some((
            staff_id,
            staff::table
                .find(staff_id.0)
                .select(staff::display_name)
                .first::<String>(conn)?,
        )),
        None => None,
    };
    let mut thread = service_request_comments::table
        .filter(service_request_comments::request_id.eq(id.0))
        .into_boxed();
    if side == Side::Customer {
        thread = thread.filter(service_request_comments::internal.eq(false));
    }
    let comments = thread
        .order(service_request_comments::id)
        .select((
            service_request_comments::author_kind,
            service_request_comments::author,
            service_request_comments::body,
            service_request_comments::internal,
            service_request_comments::created_at,
        ))
        .load::<(String, String, String, bool, NaiveDateTime)>(conn)?
        .into_iter()
        .map(|(author_kind, author, body, internal, at)| Comment {
            author_kind,
            author,
            body,
            internal,
            created_at: utc(at),
        })
        .collect();
    let subscription = match head.subscription {
        Some(sub) => subscriptions::row_of(conn, head.tenant, sub)?,
        None => None,
    };
    let agreement = match head.agreement {
        Some(a) => Some((
            a,
            agreement_table::table
                .find(a.0)
                .select(agreement_table::number)
                .first::<String>(conn)?,
        )),
        None => None,
    };
    let data_safety = match (&subscription, head.kind) {
        (Some(sub), Kind::CancelSubscription) => Some(DataSafety {
            deleted_on: subscriptions::data_deleted_on(conn, head.tenant, sub.id, now)?,
            if_cancelled_today: sub.recurring_billing
                && matches!(sub.state.as_str(), "active" | "past_due" | "disabled"),
            exported_at: exported.map(utc),
        }),
        _ => None,
    };
    Ok(Request {
        id,
        tenant: head.tenant,
        tenant_name,
        kind: head.kind,
        subject: head.subject,
        description,
        subscription,
        quantity: head.quantity,
        agreement,
        target: head.target,
        state: head.state,
        requester_name,
        requester_email,
        assigned,
        created_at: utc(created_at),
        updated_at: utc(updated_at),
        comments,
        data_safety,
    })
}

// ------------------------------------------------------------------ the thread and states

/// Adds a comment. Tenant admins write to billing support, which reopens a request waiting on
/// them or resolved; staff reply to the customer (mailed) or write an internal note (never
/// shown to the tenant, never mailed).
pub fn comment(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    id: ServiceRequestId,
    body: &str,
    internal: bool,
) -> Result<(), DomainError> {
    let body = body.trim();
    check_text("body", body, 1, "Write a comment.")?;
    super::db::transaction(conn, |conn| {
        let head = head(conn, id)?;
        let side = side_of(actor, &head)?;
        if head.state == State::Closed {
            return Err(DomainError::Conflict(
                "This request is closed. File a new service request to ask again.".into(),
            ));
        }
        match side {
            Side::Customer => {
                if internal {
                    return Err(DomainError::Forbidden);
                }
                let author = name_of(conn, actor)?;
                add_comment(conn, now, id, "customer", &author, body, false)?;
                let reopened = match head.state {
                    State::WaitingOnCustomer | State::Resolved => {
                        Some(if head.assigned.is_some() {
                            State::InProgress
                        } else {
                            State::Open
                        })
                    }
                    _ => None,
                };
                touch(conn, now, id, reopened)?;
                audit::record(
                    conn,
                    actor,
                    now,
                    Some(head.tenant),
                    "Commented on service request",
                    &format!("#{id}"),
                    &reopened.map_or(String::new(), |s| format!("now {}", s.title())),
                )?;
            }
            Side::Staff => {
                let author = name_of(conn, actor)?;
                add_comment(conn, now, id, "staff", &author, body, internal)?;
                touch(conn, now, id, None)?;
                if internal {
                    // Staff only: no tenant, so it never shows in the tenant's audit log.
                    audit::record(
                        conn,
                        actor,
                        now,
                        None,
                        "Added an internal note",
                        &format!("#{id}"),
                        "",
                    )?;
                } else {
                    audit::record(
                        conn,
                        actor,
                        now,
                        Some(head.tenant),
                        "Replied to service request",
                        &format!("#{id}"),
                        "",
                    )?;
                    mail_requester(
                        conn,
                        now,
                        id,
                        &format!("Billing support replied to your service request #{id}"),
                        &format!("{body}\n\nReply or follow the request here:"),
                    )?;
                }
            }
        }
        Ok(())
    })
}

/// Staff take a request: it is theirs, and in progress.
pub fn take(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    id: ServiceRequestId,
) -> Result<(), DomainError> {
    let Actor::Staff { staff, .. } = actor else {
        return Err(DomainError::Forbidden);
    };
    assign(conn, actor, now, id, *staff)
}

/// Staff give a request to a colleague who may work it (or to themselves). An open request
/// goes in progress.
pub fn assign(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    id: ServiceRequestId,
    to: StaffId,
) -> Result<(), DomainError> {
    super::db::transaction(conn, |conn| {
        let head = head(conn, id)?;
        if side_of(actor, &head)? != Side::Staff {
            return Err(DomainError::Forbidden);
        }
        if head.state == State::Closed {
            return Err(DomainError::Conflict("This request is closed.".into()));
        }
        let choices = staff_choices(conn, actor, head.kind)?;
        let Some((_, name)) = choices.into_iter().find(|(s, _)| *s == to) else {
            return Err(DomainError::invalid(
                "staff",
                "Choose a member of staff who works this kind of request.",
            ));
        };
        diesel::update(service_requests::table.find(id.0))
            .set(service_requests::assigned_staff_id.eq(Some(to.0)))
            .execute(conn)?;
        audit::record(
            conn,
            actor,
            now,
            None,
            "Assigned service request",
            &format!("#{id}"),
            &name,
        )?;
        if head.state == State::Open {
            move_to(conn, actor, now, &head, State::InProgress, None)?;
        } else {
            touch(conn, now, id, None)?;
        }
        Ok(())
    })
}

/// Staff move a request along an allowed transition. Resolving needs a message to the
/// customer, which goes into the thread and the email.
pub fn set_state(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    id: ServiceRequestId,
    to: State,
    message: &str,
) -> Result<(), DomainError> {
    let message = message.trim();
    super::db::transaction(conn, |conn| {
        let head = head(conn, id)?;
        if side_of(actor, &head)? != Side::Staff {
            return Err(DomainError::Forbidden);
        }
        if !head.state.next_for_staff().contains(&to) {
            return Err(DomainError::Conflict(format!(
                "A request that is {} can't be moved to {}.{}",
                head.state.title().to_lowercase(),
                to.title().to_lowercase(),
                match head.state.next_for_staff() {
                    [] => String::new(),
                    next => format!(
                        " It can go to: {}.",
                        next.iter()
                            .map(|s| s.title().to_lowercase())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }
            )));
        }
        if to == State::Resolved && message.is_empty() {
            return Err(DomainError::invalid(
                "message",
                "Write the customer a message that says how the request was resolved.",
            ));
        }
        if !message.is_empty() {
            check_text("message", message, 1, "Write a message.")?;
        }
        move_to(
            conn,
            actor,
            now,
            &head,
            to,
            Some(message).filter(|m| !m.is_empty()),
        )
    })
}

/// The tenant closes its own request, in any state but closed.
pub fn close(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    id: ServiceRequestId,
) -> Result<(), DomainError> {
    super::db::transaction(conn, |conn| {
        let head = head(conn, id)?;
        if side_of(actor, &head)? != Side::Customer {
            return Err(DomainError::Forbidden);
        }
        if head.state == State::Closed {
            return Err(DomainError::Conflict(
                "This request is already closed.".into(),
            ));
        }
        move_to(conn, actor, now, &head, State::Closed, None)
    })
}

/// Changes the state, notes it in the thread, audits it and mails the requester.
fn move_to(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    head: &Head,
    to: State,
    message: Option<&str>,
) -> Result<(), DomainError> {
    let id = head.id;
    let who = name_of(conn, actor)?;
    if let Some(message) = message {
        let kind = match actor {
            Actor::System(_) => "system",
            _ => "staff",
        };
        add_comment(conn, now, id, kind, &who, message, false)?;
    }
    add_comment(
        conn,
        now,
        id,
        "system",
        "allot",
        &format!("{who} changed the state to {}.", to.title()),
        false,
    )?;
    touch(conn, now, id, Some(to))?;
    audit::record(
        conn,
        actor,
        now,
        Some(head.tenant),
        "Changed service request state",
        &format!("#{id}"),
        &format!("{} → {}", head.state.title(), to.title()),
    )?;
    let body = match message {
        Some(message) => format!(
            "Your service request #{id} \"{}\" is now {}.\n\n{message}\n\nSee the request:",
            head.subject,
            to.title().to_lowercase()
        ),
        None => format!(
            "Your service request #{id} \"{}\" is now {}.\n\nSee the request:",
            head.subject,
            to.title().to_lowercase()
        ),
    };
    mail_requester(
        conn,
        now,
        id,
        &format!("Service request #{id} is {}", to.title().to_lowercase()),
        &body,
    )
}

/// How long a resolved request waits for the customer before it closes by itself.
pub const RESOLVED_UNTIL_CLOSED: Duration = Duration::days(14);

/// Closes the requests resolved at least 14 days ago with no word since: the customer had
/// their answer. Run by `tick`; idempotent. Returns how many it closed.
pub fn close_resolved(conn: &mut DbConnection, now: DateTime<Utc>) -> Result<usize, DomainError> {
    let due: Vec<i64> = service_requests::table
        .filter(service_requests::state.eq(State::Resolved.as_str()))
        .filter(service_requests::updated_at.le(naive(now - RESOLVED_UNTIL_CLOSED)))
        .order(service_requests::id)
        .select(service_requests::id)
        .load(conn)?;
    let system = Actor::System("service requests");
    for id in &due {
        let head = head(conn, ServiceRequestId(*id))?;
        move_to(
            conn,
            &system,
            now,
            &head,
            State::Closed,
            Some(
                "Closed 14 days after it was resolved, with no reply. To ask again, file a new service request.",
            ),
        )?;
    }
    Ok(due.len())
}

// ------------------------------------------------------------------ carrying a request out

/// What billing support carries out for a request, as it asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Work {
    Cancel(CancelWhen),
    AddLicenses(i32),
    RemoveLicenses {
        licenses: i32,
        accept_conflict: bool,
    },
    /// Resend the activation email; `to` is the address billing support was asked to use.
    ResendActivation {
        to: Option<String>,
    },
    /// Remap the agreement to the organization the request names.
    Remap,
}

/// What carrying it out did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    Cancelled(Cancelled),
    Added { licenses: i32, bill: String },
    Removed { licenses: i32, beyond: usize },
    Resent { to: String },
    Remapped(RemapPreview),
}

/// Billing support's preview of "Remove licenses": who would be beyond the count.
pub fn preview_removal(
    conn: &mut DbConnection,
    actor: &Actor,
    id: ServiceRequestId,
    licenses: i32,
) -> Result<RemovalPreview, DomainError> {
    let head = head(conn, id)?;
    work_target(actor, &head, Kind::RemoveLicenses)?;
    subscriptions::removal_of(conn, head.tenant, subscription_of(&head)?, licenses)
}

/// Billing support's preview of a remap: what it does to both organizations.
pub fn preview_remap(
    conn: &mut DbConnection,
    actor: &Actor,
    id: ServiceRequestId,
) -> Result<RemapPreview, DomainError> {
    let head = head(conn, id)?;
    work_target(actor, &head, Kind::RemapAgreement)?;
    agreements::preview_remap(
        conn,
        agreement_of(&head)?,
        head.target.as_deref().unwrap_or(""),
    )
}

fn subscription_of(head: &Head) -> Result<SubscriptionId, DomainError> {
    head.subscription
        .ok_or_else(|| DomainError::Conflict("This request names no subscription.".into()))
}

fn agreement_of(head: &Head) -> Result<AgreementId, DomainError> {
    head.agreement
        .ok_or_else(|| DomainError::Conflict("This request names no agreement.".into()))
}

/// Checks that billing support may carry out this work on this request, as it asks.
fn work_target(actor: &Actor, head: &Head, asks: Kind) -> Result<(), DomainError> {
    authz::may(actor, Action::WorkServiceRequests, None)?;
    side_of(actor, head)?;
    if head.kind != asks {
        return Err(DomainError::Conflict(format!(
            "This request asks for \"{}\", not \"{}\".",
            head.kind.title(),
            asks.title()
        )));
    }
    if !head.state.is_active() {
        return Err(DomainError::Conflict(format!(
            "This request is {}. Reopen it (In progress) to carry it out.",
            head.state.title().to_lowercase()
        )));
    }
    Ok(())
}

/// Carries out what the request asks for through the subscription rules (charges, refunds,
/// conflicts and the tenant's emails as in the admin center), notes it in the thread for the
/// customer and mails the requester, all in one transaction. An open request is taken.
pub fn carry_out(
    conn: &mut DbConnection,
    actor: &Actor,
    gateway: &dyn PaymentGateway,
    now: DateTime<Utc>,
    id: ServiceRequestId,
    work: Work,
) -> Result<Done, DomainError> {
    super::db::transaction(conn, |conn| {
        let head = head(conn, id)?;
        let asks = match &work {
            Work::Cancel(_) => Kind::CancelSubscription,
            Work::AddLicenses(_) => Kind::AddLicenses,
            Work::RemoveLicenses { .. } => Kind::RemoveLicenses,
            Work::ResendActivation { .. } => Kind::ResendActivationEmail,
            Work::Remap => Kind::RemapAgreement,
        };
        work_target(actor, &head, asks)?;
        if asks.needs_subscription() {
            // The tenant's license lock first, as every license change takes it.
            super::licenses::lock(conn, head.tenant)?;
        }
        let (done, note) = match work.clone() {
            Work::ResendActivation { to } => {
                let asked = to.or(head.target.clone());
                let sent = agreements::resend_activation(
                    conn,
                    now,
                    agreement_of(&head)?,
                    asked.as_deref(),
                )?;
                let note = format!(
                    "Billing support resent the activation email to the agreement's OSM, {sent}."
                );
                (Done::Resent { to: sent }, note)
            }
            Work::Remap => {
                let preview = agreements::remap(
                    conn,
                    actor,
                    now,
                    agreement_of(&head)?,
                    head.target.as_deref().unwrap_or(""),
                )?;
                let note = format!(
                    "Billing support remapped agreement {} from {} to {}.",
                    preview.number, preview.from, preview.to
                );
                (Done::Remapped(preview), note)
            }
            Work::Cancel(when) => {
                let sub = subscription_of(&head)?;
                let done =
                    subscriptions::cancel_on_request(conn, actor, now, head.tenant, sub, when)?;
                let note = match &done {
                    Cancelled::Now {
                        refund_cents,
                        bill: Some(bill),
                    } => format!(
                        "Billing support cancelled the subscription today. A refund of {} is on bill {bill}.",
                        billing::format_money(*refund_cents)
                    ),
                    Cancelled::Now { bill: None, .. } => {
                        "Billing support cancelled the subscription today. Its cancellation window had passed, so there is no refund.".to_owned()
                    }
                    Cancelled::AtTermEnd { ends } => format!(
                        "Billing support turned off recurring billing: the subscription ends with its term on {}.",
                        ends.format("%B %-d, %Y")
                    ),
                };
                (Done::Cancelled(done), note)
            }
            Work::AddLicenses(licenses) => {
                let sub = subscription_of(&head)?;
                let bill = subscriptions::add_licenses(
                    conn,
                    actor,
                    gateway,
                    now,
                    head.tenant,
                    sub,
                    licenses,
                )?;
                let note = format!(
                    "Billing support added {}. The charge is on bill {bill}.",
                    billing::count_of(licenses, "license")
                );
                (Done::Added { licenses, bill }, note)
            }
            Work::RemoveLicenses {
                licenses,
                accept_conflict,
            } => {
                let sub = subscription_of(&head)?;
                let preview = subscriptions::take_away_licenses(
                    conn,
                    actor,
                    now,
                    head.tenant,
                    sub,
                    licenses,
                    accept_conflict,
                )?;
                let note = if preview.beyond.is_empty() {
                    format!(
                        "Billing support removed {}.",
                        billing::count_of(licenses, "license")
                    )
                } else {
                    format!(
                        "Billing support removed {}. {} now beyond the count: assign fewer licenses, or add licenses, to end the license conflict.",
                        billing::count_of(licenses, "license"),
                        billing::count_of(preview.beyond.len() as i64, "user")
                    )
                };
                (
                    Done::Removed {
                        licenses,
                        beyond: preview.beyond.len(),
                    },
                    note,
                )
            }
        };
        add_comment(conn, now, id, "system", "allot", &note, false)?;
        if head.assigned.is_none()
            && let Actor::Staff { staff, .. } = actor
        {
            diesel::update(service_requests::table.find(id.0))
                .set(service_requests::assigned_staff_id.eq(Some(staff.0)))
                .execute(conn)?;
        }
        audit::record(
            conn,
            actor,
            now,
            Some(head.tenant),
            "Carried out service request",
            &format!("#{id}"),
            &note,
        )?;
        if head.state == State::Open {
            move_to(conn, actor, now, &head, State::InProgress, None)?;
        } else {
            touch(conn, now, id, None)?;
        }
        mail_requester(
            conn,
            now,
            id,
            &format!("Update on your service request #{id}"),
            &format!("{note}\n\nSee the request:"),
        )?;
        Ok(done)
    })
}

// ------------------------------------------------------------------ small pieces

fn add_comment(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    id: ServiceRequestId,
    author_kind: &str,
    author: &str,
    body: &str,
    internal: bool,
) -> Result<(), DomainError> {
    diesel::insert_into(service_request_comments::table)
        .values((
            service_request_comments::request_id.eq(id.0),
            service_request_comments::author_kind.eq(author_kind),
            service_request_comments::author.eq(author),
            service_request_comments::body.eq(body),
            service_request_comments::internal.eq(internal),
            service_request_comments::created_at.eq(naive(now)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Marks the request updated, and moves it to `state` when given.
fn touch(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    id: ServiceRequestId,
    state: Option<State>,
) -> Result<(), DomainError> {
    match state {
        Some(state) => diesel::update(service_requests::table.find(id.0))
            .set((
                service_requests::updated_at.eq(naive(now)),
                service_requests::state.eq(state.as_str()),
            ))
            .execute(conn)?,
        None => diesel::update(service_requests::table.find(id.0))
            .set(service_requests::updated_at.eq(naive(now)))
            .execute(conn)?,
    };
    Ok(())
}

/// How the thread names someone: an admin by their display name, staff by theirs and their
/// role.
fn name_of(conn: &mut DbConnection, actor: &Actor) -> Result<String, DomainError> {
    match actor {
        Actor::Admin { user, .. } => Ok(users::table
            .find(user.0)
            .select(users::display_name)
            .first(conn)?),
        Actor::Staff {
            staff: id, role, ..
        } => {
            let name: String = staff::table
                .find(id.0)
                .select(staff::display_name)
                .first(conn)?;
            Ok(format!("{name} ({})", role.title()))
        }
        Actor::System(_) => Ok("allot".to_owned()),
        other => Ok(other.label()),
    }
}

/// Mails the requester about their request, with a link to it. A requester who was deleted
/// or blocked since gets nothing; the thread keeps the update.
fn mail_requester(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    id: ServiceRequestId,
    subject: &str,
    body: &str,
) -> Result<(), DomainError> {
    let (tenant, tenant_name, to, state): (i64, String, String, String) = service_requests::table
        .inner_join(users::table)
        .inner_join(tenants::table)
        .filter(service_requests::id.eq(id.0))
        .select((
            service_requests::tenant_id,
            tenants::name,
            users::email,
            users::state,
        ))
        .first(conn)?;
    if state != "active" {
        return Ok(());
    }
    let link = format!("/support/requests/{id}");
    outbox::enqueue(
        conn,
        now,
        &outbox::Email {
            tenant: Some(TenantId(tenant)),
            to: &to,
            subject: &format!("{tenant_name}: {subject}"),
            body,
            link: Some(&link),
        },
    )
}
