//! Service requests: tenants file them (Support > Service requests), billing support works them
//! in the support console, and what a request asks for (cancel a subscription, add or remove
//! licenses) is carried out here, through the same subscription rules as the admin center, in
//! one transaction with the request's update, its audit entry and its emails.
//!
//! A little over 500 lines: filing, working and carrying out a request read in order here; the
//! queue's search and order live in `queue.rs`, and carrying out (cancel, add, remove) is the
//! next to move out when it grows again.

mod carry_out;
mod filing;
mod queue;
mod thread;

pub use carry_out::*;
pub use filing::*;
pub use queue::*;
pub use thread::*;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::accounts::UserState;
use super::agreements::{self, RemapPreview};
use super::authz::Target;
use super::billing::{self, PaymentGateway};
use super::schema::{
    agreements as agreement_table, service_request_comments, service_requests, staff, tenants,
    users,
};
use super::subscriptions::{self, CancelWhen, Cancelled, RemovalPreview, SubscriptionRow};
use super::text_enum::text_enum;
use super::{
    Action, Actor, AgreementId, DbConnection, DomainError, ServiceRequestId, StaffId,
    SubscriptionId, TenantId, audit, authz, naive, outbox, utc,
};

text_enum! {
    /// What a request asks for (DESIGN.md, Service request; the seeds' "Cancel subscription").
    pub enum Kind {
        CancelSubscription = "cancel_subscription",
        AddLicenses = "add_licenses",
        RemoveLicenses = "remove_licenses",
        ResendActivationEmail = "resend_activation_email",
        RemapAgreement = "remap_agreement",
        VolumeLicensingInvoice = "volume_licensing_invoice",
        BillingQuestion = "billing_question",
        Other = "other",
    }
}

impl Kind {
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

    /// As the form sends it.
    pub fn parse(text: &str) -> Result<Kind, DomainError> {
        text.parse()
            .map_err(|_| DomainError::invalid("kind", "Choose the type of request."))
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
    /// Any tenant's request of this kind, for deciding which kinds a staff member works.
    pub fn any_request(self) -> Target {
        Target::Request {
            tenant: None,
            volume_licensing: self.is_volume_licensing(),
        }
    }

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
            _ => Action::FileBillingRequests,
        }
    }
}

text_enum! {
    /// Where a request is in its life.
    pub enum State {
        Open = "open",
        InProgress = "in_progress",
        WaitingOnCustomer = "waiting_on_customer",
        Resolved = "resolved",
        Closed = "closed",
    }
}

impl State {
    pub fn title(self) -> &'static str {
        match self {
            State::Open => "Open",
            State::InProgress => "In progress",
            State::WaitingOnCustomer => "Waiting on customer",
            State::Resolved => "Resolved",
            State::Closed => "Closed",
        }
    }

    /// As the form sends it.
    pub fn parse(text: &str) -> Result<State, DomainError> {
        text.parse()
            .map_err(|_| DomainError::invalid("state", "Choose a state."))
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

    /// Not closed: the request can still be commented on, moved and closed.
    pub fn changeable(self) -> bool {
        self != State::Closed
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

text_enum! {
    /// Who wrote an entry of a request's thread: the tenant's side, the provider's staff, or
    /// allot itself (what was carried out).
    pub enum AuthorKind {
        Customer = "customer",
        Staff = "staff",
        System = "system",
    }
}

/// One entry of a request's thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub author_kind: AuthorKind,
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
    /// For staff: the organization the agreement is attached to now (`None`: not attached
    /// yet, or a tenant's view). Shown beside the requesting tenant, so a request about
    /// another organization's agreement stands out.
    pub agreement_attached_to: Option<String>,
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
    /// A request's number ("1042", "#1042", "SR-1042") or a piece of its subject,
    /// description or tenant's name, any case.
    pub search: String,
    pub order: RequestOrder,
}

/// What a list of requests is sorted by; equal ones by number, the same way round.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RequestSort {
    #[default]
    Updated,
    Created,
    Number,
    /// The state's stored code, which sorts as the titles do (Closed, In progress, Open,
    /// Resolved, Waiting on customer).
    State,
    /// The tenant's name.
    Tenant,
}

/// A list of requests' order: most recently updated first unless asked otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestOrder {
    pub by: RequestSort,
    pub descending: bool,
}

impl Default for RequestOrder {
    fn default() -> Self {
        RequestOrder {
            by: RequestSort::Updated,
            descending: true,
        }
    }
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
    /// Every request the list's filters match, over all its pages.
    pub total: i64,
}

/// Keyset paging on (the sorted column, id), in the list's order: stable while requests
/// change. `updated_at` is the last row's time in the sorted column (its updated or filed
/// time; ignored when sorted by number, state or tenant); `text` its state's code or its
/// tenant's name when sorted by those (empty otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub updated_at: NaiveDateTime,
    pub id: i64,
    pub text: String,
}

impl Cursor {
    /// The form a URL carries: microseconds since the epoch, a dot, the id, and a dot and
    /// the text when there is one.
    pub fn token(&self) -> String {
        let at = self.updated_at.and_utc().timestamp_micros();
        if self.text.is_empty() {
            format!("{at}.{}", self.id)
        } else {
            format!("{at}.{}.{}", self.id, self.text)
        }
    }

    pub fn parse(token: &str) -> Result<Cursor, DomainError> {
        let bad = || DomainError::invalid("after", "This page link is not valid.");
        let mut parts = token.splitn(3, '.');
        let micros: i64 = parts.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
        let id: i64 = parts.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
        let text = parts.next().unwrap_or("").to_owned();
        let at = DateTime::from_timestamp_micros(micros).ok_or_else(bad)?;
        Ok(Cursor {
            updated_at: at.naive_utc(),
            id,
            text,
        })
    }
}

/// The request's head row, before anyone is allowed to see it.
pub(crate) struct Head {
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

/// The head row as stored.
#[derive(Queryable, Selectable)]
#[diesel(table_name = service_requests)]
struct HeadRecord {
    tenant_id: i64,
    kind: Kind,
    subject: String,
    state: State,
    subscription_id: Option<i64>,
    quantity: Option<i32>,
    assigned_staff_id: Option<i64>,
    agreement_id: Option<i64>,
    target: Option<String>,
}

fn head(conn: &mut DbConnection, id: ServiceRequestId) -> Result<Head, DomainError> {
    let row: HeadRecord = service_requests::table
        .find(id.0)
        .select(HeadRecord::as_select())
        .first(conn)?;
    Ok(Head {
        id,
        tenant: TenantId(row.tenant_id),
        kind: row.kind,
        subject: row.subject,
        state: row.state,
        subscription: row.subscription_id.map(SubscriptionId),
        quantity: row.quantity,
        assigned: row.assigned_staff_id.map(StaffId),
        agreement: row.agreement_id.map(AgreementId),
        target: row.target,
    })
}

/// Who is looking at or changing a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Customer,
    Staff,
}

impl Head {
    /// The request as `authz::may` sees it.
    pub(crate) fn target(&self) -> Target {
        Target::Request {
            tenant: Some(self.tenant),
            volume_licensing: self.kind.is_volume_licensing(),
        }
    }
}

/// Asks whether `actor` may see the request, and says from which side they look at it.
fn side_of(actor: &Actor, head: &Head) -> Result<Side, DomainError> {
    authz::may(actor, Action::ViewServiceRequest, &head.target())?;
    Ok(match actor {
        Actor::Staff { .. } | Actor::System(_) => Side::Staff,
        Actor::Admin { .. } | Actor::EndUser { .. } | Actor::ApiToken { .. } => Side::Customer,
    })
}

// ------------------------------------------------------------------ small pieces

fn add_comment(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    id: ServiceRequestId,
    author_kind: AuthorKind,
    author: &str,
    body: &str,
    internal: bool,
) -> Result<(), DomainError> {
    // The request's tenant owns its thread (and is the key to distribute it by).
    let tenant: i64 = service_requests::table
        .find(id.0)
        .select(service_requests::tenant_id)
        .first(conn)?;
    diesel::insert_into(service_request_comments::table)
        .values((
            service_request_comments::tenant_id.eq(tenant),
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
                service_requests::state.eq(state),
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
    let (tenant, tenant_name, to, state): (i64, String, String, UserState) =
        service_requests::table
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
    if !state.is_active() {
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
