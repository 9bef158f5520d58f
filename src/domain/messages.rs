//! The Message center: what needs a tenant admin's eye (renewals coming, a card that runs out
//! before its charge, a payment that failed, a license conflict, a reply to a service request),
//! posted once each, and who has read what. Each admin sees the kinds their roles may see.

use chrono::{DateTime, Datelike, Duration, Utc};
use diesel::prelude::*;

use super::authz::{self, Target};
use super::billing;
use super::schema::{message_reads, messages, products, subscriptions};
use super::subscriptions::{BillingPeriod, PurchaseChannel, SubscriptionState};
use super::text_enum::text_enum;
use super::{Action, Actor, DbConnection, DomainError, TenantId, UserId, db, naive, utc};

text_enum! {
    /// What a message is about.
    pub enum Kind {
        RenewalSoon = "renewal_soon",
        CardExpiring = "card_expiring",
        PaymentFailed = "payment_failed",
        LicenseConflict = "license_conflict",
        RequestReply = "request_reply",
        LowLicenses = "low_licenses",
    }
}

impl Kind {
    pub fn title(self) -> &'static str {
        match self {
            Kind::RenewalSoon => "Renewal",
            Kind::CardExpiring => "Card expiring",
            Kind::PaymentFailed => "Payment failed",
            Kind::LicenseConflict => "License conflict",
            Kind::RequestReply => "Service request",
            Kind::LowLicenses => "Licenses running low",
        }
    }

    /// Whether an admin who hasn't chosen gets it by email too: what needs acting on at once
    /// (money not taken, users about to be without a license); the rest waits in the center.
    pub fn emailed_by_default(self) -> bool {
        matches!(
            self,
            Kind::PaymentFailed | Kind::LowLicenses | Kind::LicenseConflict
        )
    }

    /// Who may read it: money for billing readers, pools for license readers.
    pub(crate) fn needs(self) -> Action {
        match self {
            Kind::RenewalSoon | Kind::CardExpiring | Kind::PaymentFailed => Action::ViewBilling,
            Kind::LicenseConflict | Kind::LowLicenses => Action::ViewLicenses,
            Kind::RequestReply => Action::ViewServiceRequest,
        }
    }

    /// The kinds `actor` may read in `tenant`.
    pub fn readable_by(actor: &Actor, tenant: TenantId) -> Vec<Kind> {
        Kind::ALL
            .into_iter()
            .filter(|k| authz::can(actor, k.needs(), &Target::Tenant(tenant)))
            .collect()
    }
}

/// Days before a renewal that the Message center says it is coming, nearest first.
pub const RENEWAL_NOTICES: [i64; 2] = [3, 14];
/// Messages one page of the Message center shows.
pub const PAGE_SIZE: i64 = 50;

/// A message as the Message center lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: i64,
    pub kind: Kind,
    pub subject: String,
    pub body: String,
    pub link: String,
    pub created_at: DateTime<Utc>,
    pub unread: bool,
}

/// A message to post.
pub struct NewMessage<'a> {
    pub kind: Kind,
    /// What it is about: the same `about` is posted once.
    pub about: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub link: &'a str,
}

/// Posts `message` to `tenant`'s Message center unless it was posted before, and when new
/// queues its email to each admin who may read it and wants it (in the caller's transaction).
/// Returns whether it is new.
pub(crate) fn post(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    tenant: TenantId,
    message: &NewMessage<'_>,
) -> Result<bool, DomainError> {
    let values = (
        messages::tenant_id.eq(tenant.0),
        messages::kind.eq(message.kind),
        messages::about.eq(message.about),
        messages::subject.eq(message.subject),
        messages::body.eq(message.body),
        messages::link.eq(message.link),
        messages::created_at.eq(naive(now)),
    );
    let inserted = match conn {
        DbConnection::Sqlite(c) => diesel::insert_into(messages::table)
            .values(values)
            .on_conflict_do_nothing()
            .execute(c)?,
        DbConnection::Postgresql(c) => diesel::insert_into(messages::table)
            .values(values)
            .on_conflict_do_nothing()
            .execute(c)?,
    };
    if inserted > 0 {
        super::notifications::email(conn, now, tenant, message)?;
    }
    Ok(inserted > 0)
}

fn reader(actor: &Actor, tenant: TenantId) -> Result<UserId, DomainError> {
    authz::may(actor, Action::ViewAdminCenter, &Target::Tenant(tenant))?;
    match actor {
        Actor::Admin { user, .. } => Ok(*user),
        _ => Err(DomainError::Forbidden),
    }
}

/// The newest messages `actor` may read, with whether they have read each.
pub fn list(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
) -> Result<Vec<Message>, DomainError> {
    list_sorted(conn, actor, tenant, MessageSort::When, true)
}

/// What the Message center sorts by (its sort links).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MessageSort {
    /// When it was posted (its id: messages are posted in time order).
    #[default]
    When,
    /// Its kind, then newest first. The stored codes sort as their titles do ("card_expiring"
    /// before "license_conflict" as "Card expiring" before "License conflict"), so SQL orders
    /// by the code.
    Kind,
}

/// The first page of messages `actor` may read in the order asked, with whether they have
/// read each; [`count`] says how many there are in all.
pub fn list_sorted(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    sort: MessageSort,
    descending: bool,
) -> Result<Vec<Message>, DomainError> {
    let user = reader(actor, tenant)?;
    let kinds = Kind::readable_by(actor, tenant);
    type Row = (
        i64,
        Kind,
        String,
        String,
        String,
        chrono::NaiveDateTime,
        Option<i64>,
    );
    let mut query = messages::table
        .left_join(
            message_reads::table.on(message_reads::message_id
                .eq(messages::id)
                .and(message_reads::user_id.eq(user.0))
                .and(message_reads::tenant_id.eq(tenant.0))),
        )
        .filter(messages::tenant_id.eq(tenant.0))
        .filter(messages::kind.eq_any(kinds))
        .into_boxed();
    query = match (sort, descending) {
        (MessageSort::When, true) => query.order(messages::id.desc()),
        (MessageSort::When, false) => query.order(messages::id.asc()),
        (MessageSort::Kind, true) => query.order((messages::kind.desc(), messages::id.desc())),
        (MessageSort::Kind, false) => query.order((messages::kind.asc(), messages::id.desc())),
    };
    let rows: Vec<Row> = query
        .limit(PAGE_SIZE)
        .select((
            messages::id,
            messages::kind,
            messages::subject,
            messages::body,
            messages::link,
            messages::created_at,
            message_reads::message_id.nullable(),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, kind, subject, body, link, at, read)| Message {
            id,
            kind,
            subject,
            body,
            link,
            created_at: utc(at),
            unread: read.is_none(),
        })
        .collect())
}

/// How many messages `actor` may read: the Message center's total.
pub fn count(conn: &mut DbConnection, actor: &Actor, tenant: TenantId) -> Result<i64, DomainError> {
    reader(actor, tenant)?;
    let kinds = Kind::readable_by(actor, tenant);
    Ok(messages::table
        .filter(messages::tenant_id.eq(tenant.0))
        .filter(messages::kind.eq_any(kinds))
        .count()
        .get_result(conn)?)
}

/// How many messages `actor` may read and hasn't: the count beside the bell.
pub fn unread_count(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
) -> Result<i64, DomainError> {
    let user = reader(actor, tenant)?;
    let kinds = Kind::readable_by(actor, tenant);
    let read = message_reads::table
        .filter(message_reads::tenant_id.eq(tenant.0))
        .filter(message_reads::user_id.eq(user.0))
        .select(message_reads::message_id);
    // Counted per kind and summed here for the kinds the actor reads: one statement that
    // diesel prepares once, where an IN list of the kinds would be prepared on every page.
    let per_kind: Vec<(Kind, i64)> = messages::table
        .filter(messages::tenant_id.eq(tenant.0))
        .filter(messages::id.ne_all(read))
        .group_by(messages::kind)
        .select((messages::kind, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(per_kind
        .into_iter()
        .filter(|(kind, _)| kinds.contains(kind))
        .map(|(_, n)| n)
        .sum())
}

/// Mark all as read: every message `actor` may read, up to now.
pub fn mark_all_read(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    now: DateTime<Utc>,
) -> Result<usize, DomainError> {
    let user = reader(actor, tenant)?;
    let kinds = Kind::readable_by(actor, tenant);
    db::transaction(conn, |conn| {
        let read = message_reads::table
            .filter(message_reads::tenant_id.eq(tenant.0))
            .filter(message_reads::user_id.eq(user.0))
            .select(message_reads::message_id);
        let unread: Vec<i64> = messages::table
            .filter(messages::tenant_id.eq(tenant.0))
            .filter(messages::kind.eq_any(&kinds))
            .filter(messages::id.ne_all(read))
            .select(messages::id)
            .load(conn)?;
        let rows: Vec<_> = unread
            .iter()
            .map(|id| {
                (
                    message_reads::tenant_id.eq(tenant.0),
                    message_reads::user_id.eq(user.0),
                    message_reads::message_id.eq(*id),
                    message_reads::read_at.eq(naive(now)),
                )
            })
            .collect();
        for batch in rows.chunks(200) {
            match conn {
                DbConnection::Sqlite(c) => diesel::insert_into(message_reads::table)
                    .values(batch)
                    .execute(c)?,
                DbConnection::Postgresql(c) => diesel::insert_into(message_reads::table)
                    .values(batch)
                    .execute(c)?,
            };
        }
        Ok(unread.len())
    })
}

// ---------------------------------------------------------------- the scheduled job

/// The job: posts what has come due, once each. Renewals 14 and 3 days before (with what they
/// will charge), cards that run out before a renewal within 30 days, and license conflicts (once
/// a day while one lasts). Returns how many messages were posted.
pub fn post_due(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    failures: &mut usize,
) -> Result<usize, DomainError> {
    let mut posted = 0;
    posted += post_renewals(conn, now, failures)?;
    posted += post_conflicts(conn, now, failures)?;
    // Pools whose licenses changed without an assignment (a subscription disabled, cancelled,
    // provisioned): their thresholds are checked here.
    posted += super::licenses::check_alerts(conn, now, failures)?;
    Ok(posted)
}

/// A subscription that renews soon, as the job reads it.
type Renewing = (
    i64,
    i64,
    String,
    i64,
    i32,
    BillingPeriod,
    chrono::NaiveDateTime,
    PurchaseChannel,
    Option<i64>,
);

fn post_renewals(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    failures: &mut usize,
) -> Result<usize, DomainError> {
    let soon: Vec<Renewing> = subscriptions::table
        .inner_join(products::table)
        .filter(
            subscriptions::state.eq_any([SubscriptionState::Active, SubscriptionState::PastDue]),
        )
        .filter(subscriptions::recurring_billing.eq(true))
        .filter(subscriptions::purchase_channel.ne(PurchaseChannel::VolumeLicensing))
        .filter(subscriptions::self_service_buyer_id.is_null())
        .filter(subscriptions::term_end.gt(naive(now)))
        .filter(subscriptions::term_end.le(naive(now + Duration::days(30))))
        .order(subscriptions::id)
        .select((
            subscriptions::id,
            subscriptions::tenant_id,
            products::name,
            products::monthly_price_cents,
            subscriptions::quantity,
            subscriptions::billing_period,
            subscriptions::term_end,
            subscriptions::purchase_channel,
            subscriptions::payment_method_id,
        ))
        .load(conn)?;
    let mut posted = 0;
    for (id, tenant, product, price, quantity, period, term_end, channel, card) in soon {
        let done = db::transaction(conn, |conn| {
            let tenant = TenantId(tenant);
            let ends = utc(term_end);
            let days = (ends - now).num_days();
            let amount = billing::format_money(period.term_cents(price, quantity));
            let date = ends.format("%B %-d, %Y").to_string();
            let link = format!("/billing/subscriptions/{id}");
            let mut posted = 0;
            for before in RENEWAL_NOTICES {
                if days < before {
                    let about = format!("renewal:{id}:{}:{before}", ends.date_naive());
                    let subject = format!("{product} renews on {date}");
                    let body = format!(
                        "Your {product} subscription renews on {date} for {amount}. To change it, buy or remove licenses or turn off recurring billing before then."
                    );
                    let message = NewMessage {
                        kind: Kind::RenewalSoon,
                        about: &about,
                        subject: &subject,
                        body: &body,
                        link: &link,
                    };
                    posted += usize::from(post(conn, now, tenant, &message)?);
                    // The nearer notice says it all; the farther one is not posted late.
                    break;
                }
            }
            if channel == PurchaseChannel::CreditCard
                && let Some((label, month, year)) = paying_card(conn, tenant, card)?
                && (year, month) < (ends.year(), ends.month() as i32)
            {
                let about = format!("card:{id}:{}:{month}/{year}", ends.date_naive());
                let subject = format!("{label} expires before it pays {product}");
                let body = format!(
                    "{label} expires {month:02}/{year}, before it pays the {product} renewal of {amount} on {date}. Update the card's expiry date or add another card."
                );
                let message = NewMessage {
                    kind: Kind::CardExpiring,
                    about: &about,
                    subject: &subject,
                    body: &body,
                    link: "/billing/payment-methods",
                };
                posted += usize::from(post(conn, now, tenant, &message)?);
            }
            Ok(posted)
        });
        posted += db::keep_going(failures, "post renewal messages", id, done).unwrap_or(0);
    }
    Ok(posted)
}

/// The card a renewal will charge (`billing::renewal_card`), as the message names it.
fn paying_card(
    conn: &mut DbConnection,
    tenant: TenantId,
    own: Option<i64>,
) -> Result<Option<(String, i32, i32)>, DomainError> {
    let cards = billing::load_methods(conn, tenant)?;
    Ok(
        billing::renewal_card(&cards, own.map(super::PaymentMethodId))
            .map(|c| (c.label(), c.exp_month, c.exp_year)),
    )
}

fn post_conflicts(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    failures: &mut usize,
) -> Result<usize, DomainError> {
    // Tenants with assigned licenses: only their pools can be in conflict.
    let tenants: Vec<i64> = super::schema::license_counts::table
        .filter(super::schema::license_counts::assigned.gt(0))
        .select(super::schema::license_counts::tenant_id)
        .distinct()
        .order(super::schema::license_counts::tenant_id)
        .load(conn)?;
    let mut posted = 0;
    for tenant in tenants {
        let done = db::transaction(conn, |conn| {
            let mut posted = 0;
            for pool in super::licenses::load_pools(conn, TenantId(tenant))? {
                if pool.beyond() == 0 {
                    continue;
                }
                let link = match &pool.self_service {
                    Some((sub, _)) => format!("/licenses/purchases/{}", sub.0),
                    None => format!("/licenses/{}", pool.product.0),
                };
                let about = format!("conflict:{link}:{}", now.date_naive());
                let subject = format!("License conflict: {}", pool.product_name);
                let body = format!(
                    "{} users have {} but there are {} licenses: {} beyond the count can't use the service. Add licenses, remove licenses from users, delete users, or update the payment method.",
                    pool.assigned,
                    pool.product_name,
                    pool.licenses,
                    pool.beyond()
                );
                let message = NewMessage {
                    kind: Kind::LicenseConflict,
                    about: &about,
                    subject: &subject,
                    body: &body,
                    link: &link,
                };
                posted += usize::from(post(conn, now, TenantId(tenant), &message)?);
            }
            Ok(posted)
        });
        posted += db::keep_going(failures, "post conflict messages", tenant, done).unwrap_or(0);
    }
    Ok(posted)
}
