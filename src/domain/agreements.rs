//! Volume licensing (seed 002): agreements entered by the partner, their orders (purchase
//! orders provisioned within hours, license reservations at once and paid at the true-up), the
//! OSM's activation that attaches an agreement's licenses to a tenant, where they pool with the
//! direct subscriptions, the yearly true-up, and the resend and remap that billing support
//! carries out from service requests.

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

use super::accounts::EmailAddress;
use super::schema::{
    agreement_activations, agreement_invoices, agreement_order_lines, agreement_orders,
    agreement_subscriptions, agreements, products, subscription_addons, subscriptions, tenants,
};
use super::{
    Action, Actor, DbConnection, DomainError, ProductId, SubscriptionId, TenantId, audit, authz,
    billing, licenses, naive, outbox, utc,
};

/// An agreement's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AgreementId(pub i64);

impl std::fmt::Display for AgreementId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The volume licensing programs the seed names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Program {
    Enterprise,
    EnterpriseSubscription,
    CampusSchool,
}

impl Program {
    pub const ALL: [Program; 3] = [
        Program::Enterprise,
        Program::EnterpriseSubscription,
        Program::CampusSchool,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Program::Enterprise => "enterprise",
            Program::EnterpriseSubscription => "enterprise_subscription",
            Program::CampusSchool => "campus_school",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Program::Enterprise => "Enterprise Agreement",
            Program::EnterpriseSubscription => "Enterprise Subscription Agreement",
            Program::CampusSchool => "Campus and School Agreement",
        }
    }

    pub fn parse(text: &str) -> Result<Program, DomainError> {
        Program::ALL
            .into_iter()
            .find(|p| p.as_str() == text)
            .ok_or_else(|| DomainError::invalid("program", "Choose the volume licensing program."))
    }
}

/// What an order line buys: licenses of a product, or one of its add-ons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Item {
    Licenses,
    ProductionInstances,
    StorageGb,
}

impl Item {
    pub const ALL: [Item; 3] = [Item::Licenses, Item::ProductionInstances, Item::StorageGb];

    pub fn as_str(self) -> &'static str {
        match self {
            Item::Licenses => "licenses",
            Item::ProductionInstances => "production_instances",
            Item::StorageGb => "storage_gb",
        }
    }

    /// "licenses", "additional production instances", "GB of additional storage".
    pub fn noun(self) -> &'static str {
        match self {
            Item::Licenses => "licenses",
            Item::ProductionInstances => "additional production instances",
            Item::StorageGb => "GB of additional storage",
        }
    }

    fn parse(text: &str) -> Result<Item, DomainError> {
        Item::ALL
            .into_iter()
            .find(|i| i.as_str() == text)
            .ok_or_else(|| DomainError::invalid("item", "Unknown order item."))
    }

    /// The monthly list price of one unit of an add-on; licenses use the product's price.
    fn addon_monthly_cents(self) -> i64 {
        match self {
            Item::Licenses => 0,
            Item::ProductionInstances => 50_000,
            Item::StorageGb => 1_000,
        }
    }
}

/// Volume discounts on licenses, by the agreement's licenses after the order: (at least, percent).
/// The seed: "discounts are available for enterprise agreement customers (typically 250+
/// licenses)". The README shows this table.
pub const DISCOUNT_TIERS: [(i64, i32); 4] = [(15_000, 20), (6_000, 15), (2_400, 10), (250, 5)];

/// The discount for an agreement holding `licenses` licenses.
pub fn discount_for(licenses: i64) -> i32 {
    DISCOUNT_TIERS
        .iter()
        .find(|(min, _)| licenses >= *min)
        .map_or(0, |(_, pct)| *pct)
}

/// How long an activation link works.
pub const ACTIVATION_VALID: Duration = Duration::days(14);
/// The seed: "Licenses are accessible in up to 12 hours after the order is processed".
pub const PURCHASE_ORDER_HOURS: i64 = 12;

// ------------------------------------------------------------------ agreements

/// A new agreement, as the partner enters it.
#[derive(Debug, Clone, Default)]
pub struct NewAgreement {
    pub number: String,
    pub program: String,
    pub customer: String,
    pub osm_email: String,
    pub partner: String,
    /// The first day of the schedule; taken from the customer's other agreements when it has
    /// any (they share one billing and contract schedule).
    pub starts_on: Option<NaiveDate>,
}

fn clean_number(number: &str) -> Result<String, DomainError> {
    let number = number.trim().to_uppercase();
    let ok = (3..=40).contains(&number.len())
        && number
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(number)
    } else {
        Err(DomainError::invalid(
            "number",
            "Enter the agreement number: 3 to 40 letters, digits and dashes.",
        ))
    }
}

/// The first anniversary of `starts_on` after `now`.
fn next_anniversary(starts_on: NaiveDateTime, now: DateTime<Utc>) -> NaiveDateTime {
    let mut at = starts_on;
    while at <= naive(now) {
        at = at.checked_add_months(Months::new(12)).unwrap_or(at);
        if at.year() > 9000 {
            break;
        }
    }
    at
}

/// Enters an agreement (partner). A customer's agreements share one anniversary: a new one
/// takes the schedule of the customer's existing ones.
pub fn create(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    new: &NewAgreement,
) -> Result<AgreementId, DomainError> {
    authz::may(actor, Action::ManageAgreements, None)?;
    let number = clean_number(&new.number)?;
    let program = Program::parse(new.program.trim())?;
    let customer = new.customer.trim();
    if customer.is_empty() || customer.chars().count() > 120 {
        return Err(DomainError::invalid(
            "customer",
            "Enter the customer's name (up to 120 characters).",
        ));
    }
    let partner = new.partner.trim();
    if partner.is_empty() || partner.chars().count() > 120 {
        return Err(DomainError::invalid(
            "partner",
            "Enter the Licensing Solutions Partner's name.",
        ));
    }
    let osm = EmailAddress::parse(&new.osm_email)
        .map_err(|_| DomainError::invalid("osm_email", "Enter the OSM's email address."))?;
    let key = customer.to_lowercase();
    super::db::transaction(conn, |conn| {
        let taken: i64 = agreements::table
            .filter(agreements::number.eq(&number))
            .count()
            .get_result(conn)?;
        if taken > 0 {
            return Err(DomainError::invalid(
                "number",
                format!("Agreement {number} already exists."),
            ));
        }
        let schedule: Option<(NaiveDateTime, NaiveDateTime)> = agreements::table
            .filter(agreements::customer_key.eq(&key))
            .order(agreements::id)
            .select((agreements::starts_on, agreements::next_true_up))
            .first(conn)
            .optional()?;
        let (starts_on, next_true_up) = match schedule {
            Some(existing) => existing,
            None => {
                let day = new.starts_on.ok_or_else(|| {
                    DomainError::invalid("starts_on", "Enter the agreement's start date.")
                })?;
                let start = day.and_hms_opt(0, 0, 0).unwrap_or_default();
                (start, next_anniversary(start, now))
            }
        };
        let id: i64 = diesel::insert_into(agreements::table)
            .values((
                agreements::number.eq(&number),
                agreements::program.eq(program.as_str()),
                agreements::customer.eq(customer),
                agreements::customer_key.eq(&key),
                agreements::osm_email.eq(osm.as_str()),
                agreements::partner.eq(partner),
                agreements::starts_on.eq(starts_on),
                agreements::next_true_up.eq(next_true_up),
                agreements::created_at.eq(naive(now)),
            ))
            .returning(agreements::id)
            .get_result(conn)?;
        audit::record(
            conn,
            actor,
            now,
            None,
            "Entered agreement",
            &number,
            &format!("{}, {customer}, OSM {}", program.title(), osm.as_str()),
        )?;
        Ok(AgreementId(id))
    })
}

/// The partner changes the Online Services Manager; the next activation email goes to them.
pub fn change_osm(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    id: AgreementId,
    email: &str,
) -> Result<(), DomainError> {
    authz::may(actor, Action::ManageAgreements, None)?;
    let osm = EmailAddress::parse(email)
        .map_err(|_| DomainError::invalid("osm_email", "Enter the OSM's email address."))?;
    super::db::transaction(conn, |conn| {
        let head = head(conn, id)?;
        if head.osm_email == osm.as_str() {
            return Err(DomainError::invalid(
                "osm_email",
                "That is already the agreement's OSM.",
            ));
        }
        diesel::update(agreements::table.find(id.0))
            .set(agreements::osm_email.eq(osm.as_str()))
            .execute(conn)?;
        audit::record(
            conn,
            actor,
            now,
            head.tenant,
            "Changed the OSM",
            &head.number,
            &format!("{} → {}", head.osm_email, osm.as_str()),
        )?;
        for to in [head.osm_email.as_str(), osm.as_str()] {
            outbox::enqueue(
                conn,
                now,
                &outbox::Email {
                    tenant: head.tenant,
                    to,
                    subject: &format!("The OSM of agreement {} changed", head.number),
                    body: &format!(
                        "The Online Services Manager of {} {} is now {}.",
                        head.program.title(),
                        head.number,
                        osm.as_str()
                    ),
                    link: None,
                },
            )?;
        }
        Ok(())
    })
}

/// An agreement's head row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub id: AgreementId,
    pub number: String,
    pub program: Program,
    pub customer: String,
    pub osm_email: String,
    pub partner: String,
    pub next_true_up: DateTime<Utc>,
    pub tenant: Option<TenantId>,
}

/// An agreement's row as stored; `Head` is what the rest of the code reads.
#[derive(Queryable, Selectable)]
#[diesel(table_name = agreements)]
struct HeadRow {
    id: i64,
    number: String,
    program: String,
    customer: String,
    osm_email: String,
    partner: String,
    next_true_up: NaiveDateTime,
    tenant_id: Option<i64>,
}

fn to_head(row: HeadRow) -> Result<Head, DomainError> {
    Ok(Head {
        id: AgreementId(row.id),
        program: Program::parse(&row.program)?,
        number: row.number,
        customer: row.customer,
        osm_email: row.osm_email,
        partner: row.partner,
        next_true_up: utc(row.next_true_up),
        tenant: row.tenant_id.map(TenantId),
    })
}

pub(crate) fn head(conn: &mut DbConnection, id: AgreementId) -> Result<Head, DomainError> {
    to_head(
        agreements::table
            .find(id.0)
            .select(HeadRow::as_select())
            .first(conn)?,
    )
}

/// The agreement with this number, for a service request that names it.
pub(crate) fn by_number(conn: &mut DbConnection, number: &str) -> Result<Head, DomainError> {
    let unknown = || {
        DomainError::invalid(
            "agreement_number",
            "There is no agreement with this number. Check the number on your agreement.",
        )
    };
    let number = clean_number(number).map_err(|_| unknown())?;
    let row: Option<HeadRow> = agreements::table
        .filter(agreements::number.eq(number))
        .select(HeadRow::as_select())
        .first(conn)
        .optional()?;
    row.map(to_head).transpose()?.ok_or_else(unknown)
}

// ------------------------------------------------------------------ orders

/// The kinds of order the seed names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKind {
    /// Pending until processed (up to 12 hours), then invoiced to the partner.
    PurchaseOrder,
    /// Licenses at once, paid at the next true-up.
    Reservation,
}

impl OrderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderKind::PurchaseOrder => "purchase_order",
            OrderKind::Reservation => "reservation",
        }
    }

    pub fn parse(text: &str) -> Result<OrderKind, DomainError> {
        match text {
            "purchase_order" => Ok(OrderKind::PurchaseOrder),
            "reservation" => Ok(OrderKind::Reservation),
            _ => Err(DomainError::invalid(
                "kind",
                "Choose a purchase order or a license reservation.",
            )),
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            OrderKind::PurchaseOrder => "Purchase order",
            OrderKind::Reservation => "License reservation",
        }
    }
}

/// One line of a new order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderLine {
    pub product: ProductId,
    pub item: Item,
    pub quantity: i32,
}

/// Enters an order. The partner enters either kind on any agreement; a Global or Billing admin
/// of the tenant the agreement is attached to adds license reservations (the seed's License
/// Reservation). A purchase order waits `processing` before `tick` provisions it.
pub fn enter_order(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    agreement: AgreementId,
    kind: OrderKind,
    lines: &[OrderLine],
    processing: Duration,
) -> Result<i64, DomainError> {
    let lines: Vec<OrderLine> = lines.iter().copied().filter(|l| l.quantity != 0).collect();
    if lines.is_empty() {
        return Err(DomainError::invalid(
            "lines",
            "Enter at least one quantity: licenses or add-ons.",
        ));
    }
    if lines.iter().any(|l| !(1..=100_000).contains(&l.quantity)) {
        return Err(DomainError::invalid(
            "lines",
            "Each quantity is a whole number from 1 to 100,000.",
        ));
    }
    super::db::transaction(conn, |conn| {
        let head = head(conn, agreement)?;
        may_order(actor, &head, kind)?;
        if let Some(tenant) = head.tenant {
            licenses::lock(conn, tenant)?;
        }
        let held = licenses_on(conn, agreement)?;
        let adding: i64 = lines
            .iter()
            .filter(|l| l.item == Item::Licenses)
            .map(|l| i64::from(l.quantity))
            .sum();
        let discount = discount_for(held + adding);
        let mut priced = Vec::new();
        let mut total = 0;
        for line in &lines {
            let monthly: i64 = match line.item {
                Item::Licenses => products::table
                    .find(line.product.0)
                    .select(products::monthly_price_cents)
                    .first(conn)
                    .optional()?
                    .ok_or_else(|| DomainError::invalid("lines", "Unknown product."))?,
                addon => addon.addon_monthly_cents(),
            };
            let list = monthly * 12 * i64::from(line.quantity);
            let amount = if line.item == Item::Licenses {
                billing::prorate(list, i64::from(100 - discount), 100)
            } else {
                list
            };
            total += amount;
            priced.push((*line, amount));
        }
        let invoiced = kind == OrderKind::Reservation;
        let order: i64 = diesel::insert_into(agreement_orders::table)
            .values((
                agreement_orders::agreement_id.eq(agreement.0),
                agreement_orders::kind.eq(kind.as_str()),
                agreement_orders::state.eq(if invoiced { "invoiced" } else { "pending" }),
                agreement_orders::placed_by.eq(actor.label()),
                agreement_orders::placed_at.eq(naive(now)),
                agreement_orders::provision_after.eq(naive(if invoiced {
                    now
                } else {
                    now + processing
                })),
                agreement_orders::invoiced_at.eq(invoiced.then(|| naive(now))),
                agreement_orders::discount_percent.eq(discount),
                agreement_orders::total_cents.eq(total),
            ))
            .returning(agreement_orders::id)
            .get_result(conn)?;
        for (line, amount) in &priced {
            diesel::insert_into(agreement_order_lines::table)
                .values((
                    agreement_order_lines::order_id.eq(order),
                    agreement_order_lines::product_id.eq(line.product.0),
                    agreement_order_lines::item.eq(line.item.as_str()),
                    agreement_order_lines::quantity.eq(line.quantity),
                    agreement_order_lines::amount_cents.eq(amount),
                ))
                .execute(conn)?;
        }
        let summary = describe_lines(conn, order)?;
        audit::record(
            conn,
            actor,
            now,
            head.tenant,
            if invoiced {
                "Added a license reservation"
            } else {
                "Entered a purchase order"
            },
            &head.number,
            &format!(
                "{summary}; {} list, {discount}% volume discount",
                billing::format_money(total)
            ),
        )?;
        if invoiced {
            deliver_order(conn, now, &head, &summary)?;
        }
        Ok(order)
    })
}

fn may_order(actor: &Actor, head: &Head, kind: OrderKind) -> Result<(), DomainError> {
    if authz::can(actor, Action::ManageAgreements, None) {
        return Ok(());
    }
    match (actor, head.tenant) {
        (Actor::Admin { .. }, Some(tenant)) => {
            authz::may(actor, Action::ManageBilling, Some(tenant))?;
            if kind == OrderKind::PurchaseOrder {
                return Err(DomainError::Refused(format!(
                    "Purchase orders are placed through your Licensing Solutions Partner, {}.",
                    head.partner
                )));
            }
            Ok(())
        }
        _ => Err(DomainError::Forbidden),
    }
}

/// "20 Sales Professional licenses, 3 additional production instances (Sales Professional)".
fn describe_lines(conn: &mut DbConnection, order: i64) -> Result<String, DomainError> {
    Ok(summaries(conn, &[order])?
        .remove(&order)
        .unwrap_or_default())
}

/// The orders' lines in words, per order, in one query.
fn summaries(
    conn: &mut DbConnection,
    orders: &[i64],
) -> Result<BTreeMap<i64, String>, DomainError> {
    let lines: Vec<(i64, String, String, i32)> = agreement_order_lines::table
        .inner_join(products::table)
        .filter(agreement_order_lines::order_id.eq_any(orders))
        .order((products::name, agreement_order_lines::id))
        .select((
            agreement_order_lines::order_id,
            products::name,
            agreement_order_lines::item,
            agreement_order_lines::quantity,
        ))
        .load(conn)?;
    let mut words: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for (order, product, item, n) in lines {
        words
            .entry(order)
            .or_default()
            .push(match Item::parse(&item)? {
                Item::Licenses => format!("{n} {product} licenses"),
                addon => format!("{n} {} ({product})", addon.noun()),
            });
    }
    Ok(words
        .into_iter()
        .map(|(order, parts)| (order, parts.join(", ")))
        .collect())
}

/// The licenses the agreement holds, all products, from its invoiced orders.
fn licenses_on(conn: &mut DbConnection, agreement: AgreementId) -> Result<i64, DomainError> {
    Ok(totals(conn, agreement)?
        .iter()
        .filter(|((_, item), _)| *item == Item::Licenses)
        .map(|(_, n)| *n)
        .sum())
}

/// The agreement's invoiced quantities per (product, item).
fn totals(
    conn: &mut DbConnection,
    agreement: AgreementId,
) -> Result<BTreeMap<(i64, Item), i64>, DomainError> {
    let rows: Vec<(i64, String, i32)> = agreement_order_lines::table
        .inner_join(agreement_orders::table)
        .filter(agreement_orders::agreement_id.eq(agreement.0))
        .filter(agreement_orders::state.eq("invoiced"))
        .select((
            agreement_order_lines::product_id,
            agreement_order_lines::item,
            agreement_order_lines::quantity,
        ))
        .load(conn)?;
    let mut out = BTreeMap::new();
    for (product, item, n) in rows {
        *out.entry((product, Item::parse(&item)?)).or_insert(0) += i64::from(n);
    }
    Ok(out)
}

/// An invoiced order: on an attached agreement its licenses pool at once; otherwise the OSM
/// gets the activation email.
fn deliver_order(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    head: &Head,
    summary: &str,
) -> Result<(), DomainError> {
    match head.tenant {
        Some(tenant) => {
            licenses::lock(conn, tenant)?;
            sync_subscriptions(conn, now, head.id, tenant)?;
            billing::mail_billing_admins(
                conn,
                now,
                tenant,
                &format!("New licenses on agreement {}", head.number),
                &format!(
                    "{summary} were added to agreement {}. They are attached to your organization and pool with your other licenses.",
                    head.number
                ),
            )?;
            Ok(())
        }
        None => issue_activation(conn, now, head).map(|_| ()),
    }
}

/// Brings the attached tenant's agreement subscriptions (one per product, "Volume licensing"
/// on Your products) to the agreement's invoiced quantities, for the current anniversary year.
fn sync_subscriptions(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    agreement: AgreementId,
    tenant: TenantId,
) -> Result<(), DomainError> {
    let head = head(conn, agreement)?;
    let end = naive(head.next_true_up);
    let start = end.checked_sub_months(Months::new(12)).unwrap_or(end);
    let mut per_product: BTreeMap<i64, [i64; 3]> = BTreeMap::new();
    for ((product, item), n) in totals(conn, agreement)? {
        let slot = match item {
            Item::Licenses => 0,
            Item::ProductionInstances => 1,
            Item::StorageGb => 2,
        };
        per_product.entry(product).or_insert([0; 3])[slot] += n;
    }
    for (product, [licenses, instances, storage]) in per_product {
        let existing: Option<i64> = agreement_subscriptions::table
            .filter(agreement_subscriptions::agreement_id.eq(agreement.0))
            .filter(agreement_subscriptions::product_id.eq(product))
            .select(agreement_subscriptions::subscription_id)
            .first(conn)
            .optional()?;
        let quantity = i32::try_from(licenses).unwrap_or(i32::MAX);
        let instances = i32::try_from(instances).unwrap_or(i32::MAX);
        let storage = i32::try_from(storage).unwrap_or(i32::MAX);
        let id = match existing {
            Some(id) => {
                diesel::update(subscriptions::table.find(id))
                    .set((
                        subscriptions::tenant_id.eq(tenant.0),
                        subscriptions::quantity.eq(quantity),
                        subscriptions::term_start.eq(start),
                        subscriptions::term_end.eq(end),
                        subscriptions::state.eq("active"),
                    ))
                    .execute(conn)?;
                diesel::delete(subscription_addons::table.find(id)).execute(conn)?;
                id
            }
            None => {
                let id: i64 = diesel::insert_into(subscriptions::table)
                    .values((
                        subscriptions::tenant_id.eq(tenant.0),
                        subscriptions::product_id.eq(product),
                        subscriptions::quantity.eq(quantity),
                        subscriptions::billing_period.eq("yearly"),
                        subscriptions::term_start.eq(start),
                        subscriptions::term_end.eq(end),
                        subscriptions::recurring_billing.eq(true),
                        subscriptions::purchase_channel.eq("volume_licensing"),
                        subscriptions::state.eq("active"),
                        subscriptions::created_at.eq(naive(now)),
                    ))
                    .returning(subscriptions::id)
                    .get_result(conn)?;
                diesel::insert_into(agreement_subscriptions::table)
                    .values((
                        agreement_subscriptions::subscription_id.eq(id),
                        agreement_subscriptions::agreement_id.eq(agreement.0),
                        agreement_subscriptions::product_id.eq(product),
                    ))
                    .execute(conn)?;
                id
            }
        };
        if instances > 0 || storage > 0 {
            diesel::insert_into(subscription_addons::table)
                .values((
                    subscription_addons::subscription_id.eq(id),
                    subscription_addons::production_instances.eq(instances),
                    subscription_addons::storage_gb.eq(storage),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Provisions the purchase orders whose processing time has come: each is invoiced to the
/// partner and delivered (pooled, or an activation email). Run by `tick`; idempotent.
pub fn process_purchase_orders(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
) -> Result<usize, DomainError> {
    let due: Vec<(i64, i64)> = agreement_orders::table
        .filter(agreement_orders::state.eq("pending"))
        .filter(agreement_orders::provision_after.le(naive(now)))
        .order(agreement_orders::id)
        .select((agreement_orders::id, agreement_orders::agreement_id))
        .load(conn)?;
    let system = Actor::System("purchase order processing");
    for (order, agreement) in &due {
        let head = head(conn, AgreementId(*agreement))?;
        let changed = diesel::update(
            agreement_orders::table
                .find(order)
                .filter(agreement_orders::state.eq("pending")),
        )
        .set((
            agreement_orders::state.eq("invoiced"),
            agreement_orders::invoiced_at.eq(Some(naive(now))),
        ))
        .execute(conn)?;
        if changed == 0 {
            continue;
        }
        let total: i64 = agreement_orders::table
            .find(order)
            .select(agreement_orders::total_cents)
            .first(conn)?;
        let number = invoice(conn, now, &head, "purchase_order", total, None)?;
        let summary = describe_lines(conn, *order)?;
        audit::record(
            conn,
            &system,
            now,
            head.tenant,
            "Provisioned a purchase order",
            &head.number,
            &format!("{summary}; invoice {number} to {}", head.partner),
        )?;
        deliver_order(conn, now, &head, &summary)?;
    }
    Ok(due.len())
}

/// Writes a volume licensing invoice, addressed to the partner. Returns its number.
fn invoice(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    head: &Head,
    kind: &str,
    total: i64,
    anniversary: Option<NaiveDateTime>,
) -> Result<String, DomainError> {
    let count: i64 = agreement_invoices::table
        .filter(agreement_invoices::agreement_id.eq(head.id.0))
        .count()
        .get_result(conn)?;
    let number = format!("{}-{:03}", head.number, count + 1);
    diesel::insert_into(agreement_invoices::table)
        .values((
            agreement_invoices::agreement_id.eq(head.id.0),
            agreement_invoices::number.eq(&number),
            agreement_invoices::kind.eq(kind),
            agreement_invoices::issued_at.eq(naive(now)),
            agreement_invoices::addressed_to.eq(&head.partner),
            agreement_invoices::total_cents.eq(total),
            agreement_invoices::anniversary.eq(anniversary),
        ))
        .execute(conn)?;
    Ok(number)
}

/// At each agreement's anniversary: one true-up invoice of the year's reservations, addressed
/// to the partner (never charged to a card), and the agreement subscriptions' next year. Run by
/// `tick`; a second run finds nothing due.
pub fn run_true_ups(conn: &mut DbConnection, now: DateTime<Utc>) -> Result<usize, DomainError> {
    let due: Vec<i64> = agreements::table
        .filter(agreements::next_true_up.le(naive(now)))
        .order(agreements::id)
        .select(agreements::id)
        .load(conn)?;
    let system = Actor::System("true-up");
    let mut billed = 0;
    for id in due {
        let head = head(conn, AgreementId(id))?;
        let anniversary = naive(head.next_true_up);
        let reservations: Vec<(i64, i64)> = agreement_orders::table
            .filter(agreement_orders::agreement_id.eq(id))
            .filter(agreement_orders::kind.eq("reservation"))
            .filter(agreement_orders::state.eq("invoiced"))
            .filter(agreement_orders::trued_up_at.is_null())
            .filter(agreement_orders::invoiced_at.lt(anniversary))
            .select((agreement_orders::id, agreement_orders::total_cents))
            .load(conn)?;
        if !reservations.is_empty() {
            let total: i64 = reservations.iter().map(|(_, t)| t).sum();
            let ids: Vec<i64> = reservations.iter().map(|(o, _)| *o).collect();
            diesel::update(agreement_orders::table.filter(agreement_orders::id.eq_any(&ids)))
                .set(agreement_orders::trued_up_at.eq(Some(naive(now))))
                .execute(conn)?;
            let number = invoice(conn, now, &head, "true_up", total, Some(anniversary))?;
            audit::record(
                conn,
                &system,
                now,
                head.tenant,
                "True-up invoiced",
                &head.number,
                &format!(
                    "{} reservations, {}; invoice {number} to {}",
                    ids.len(),
                    billing::format_money(total),
                    head.partner
                ),
            )?;
            outbox::enqueue(
                conn,
                now,
                &outbox::Email {
                    tenant: head.tenant,
                    to: &head.osm_email,
                    subject: &format!("True-up of agreement {}", head.number),
                    body: &format!(
                        "The true-up of this year's {} license reservations, {}, is invoiced to your Licensing Solutions Partner, {} (invoice {number}).",
                        ids.len(),
                        billing::format_money(total),
                        head.partner
                    ),
                    link: Some("/settings/agreements"),
                },
            )?;
            billed += 1;
        }
        let next = anniversary
            .checked_add_months(Months::new(12))
            .unwrap_or(anniversary);
        diesel::update(agreements::table.find(id))
            .set(agreements::next_true_up.eq(next))
            .execute(conn)?;
        if let Some(tenant) = head.tenant {
            licenses::lock(conn, tenant)?;
            sync_subscriptions(conn, now, head.id, tenant)?;
        }
    }
    Ok(billed)
}

// ------------------------------------------------------------------ activation

fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Sends the OSM on file an activation email with a new single-use link. Returns the link.
fn issue_activation(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    head: &Head,
) -> Result<String, DomainError> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    diesel::insert_into(agreement_activations::table)
        .values((
            agreement_activations::agreement_id.eq(head.id.0),
            agreement_activations::token_hash.eq(hash_token(&token)),
            agreement_activations::sent_to.eq(&head.osm_email),
            agreement_activations::created_at.eq(naive(now)),
            agreement_activations::expires_at.eq(naive(now + ACTIVATION_VALID)),
        ))
        .execute(conn)?;
    let link = format!("/agreements/activate/{token}");
    outbox::enqueue(
        conn,
        now,
        &outbox::Email {
            tenant: None,
            to: &head.osm_email,
            subject: &format!("Activate your {} {}", head.program.title(), head.number),
            body: &format!(
                "You are the Online Services Manager (OSM) of {} {} for {}. Its order has been invoiced: sign in to your organization's admin center with the link below to attach its licenses. The link works once, until {}.",
                head.program.title(),
                head.number,
                head.customer,
                (now + ACTIVATION_VALID).format("%B %-d, %Y")
            ),
            link: Some(&link),
        },
    )?;
    Ok(link)
}

/// What an activation link would do for the signed-in admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivationPreview {
    pub agreement: Head,
    pub tenant_name: String,
    /// The tenant the agreement is attached to already, when it is: new licenses attach there
    /// and can't be associated with another organization (the seed's note).
    pub attached_to: Option<String>,
    /// What the agreement brings, per product: (product, item, quantity).
    pub brings: Vec<(String, Item, i64)>,
    /// The seed's data-loss rule: products and add-ons the order holds fewer of than the
    /// tenant's direct subscriptions.
    pub warnings: Vec<String>,
    /// The direct subscriptions of the same products: they stay until cancelled.
    pub direct: Vec<(SubscriptionId, String, i32)>,
}

/// Checks a link: unknown is "not found"; used or expired is a conflict that says so.
fn activation_of(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    token: &str,
) -> Result<(i64, AgreementId), DomainError> {
    let found: Option<(i64, i64, NaiveDateTime, Option<NaiveDateTime>)> =
        agreement_activations::table
            .filter(agreement_activations::token_hash.eq(hash_token(token.trim())))
            .select((
                agreement_activations::id,
                agreement_activations::agreement_id,
                agreement_activations::expires_at,
                agreement_activations::used_at,
            ))
            .first(conn)
            .optional()?;
    let Some((id, agreement, expires, used)) = found else {
        return Err(DomainError::NotFound);
    };
    if used.is_some() {
        return Err(DomainError::Conflict(
            "This activation link has already been used. The agreement's licenses are attached; see Settings > Agreements.".into(),
        ));
    }
    if utc(expires) <= now {
        return Err(DomainError::Conflict(format!(
            "This activation link expired on {}. Ask billing support, with a \"Resend activation email\" service request, to send a new one to the OSM.",
            utc(expires).format("%B %-d, %Y")
        )));
    }
    Ok((id, AgreementId(agreement)))
}

fn may_activate(actor: &Actor) -> Result<TenantId, DomainError> {
    let Some(tenant) = actor.tenant() else {
        return Err(DomainError::Forbidden);
    };
    authz::may(actor, Action::ManageBilling, Some(tenant)).map_err(|_| {
        DomainError::Refused(
            "Only a Global or Billing admin of the organization can attach an agreement's licenses to it.".into(),
        )
    })?;
    Ok(tenant)
}

/// What following the link would do: the licenses it brings, the data-loss warnings, the
/// direct subscriptions that stay.
pub fn preview_activation(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    token: &str,
) -> Result<ActivationPreview, DomainError> {
    let tenant = may_activate(actor)?;
    let (_, agreement) = activation_of(conn, now, token)?;
    let head = head(conn, agreement)?;
    let tenant_name = super::subscriptions::tenant_name(conn, tenant)?;
    let attached_to = match head.tenant {
        Some(t) => Some(super::subscriptions::tenant_name(conn, t)?),
        None => None,
    };
    let names: BTreeMap<i64, String> = products::table
        .select((products::id, products::name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    let totals = totals(conn, agreement)?;
    let brings = totals
        .iter()
        .map(|((p, item), n)| (names.get(p).cloned().unwrap_or_default(), *item, *n))
        .collect();
    // The tenant's direct (not volume licensing, not self-service) running subscriptions.
    // (subscription, product, licenses, production instances, storage GB)
    type DirectRow = (i64, i64, i32, Option<i32>, Option<i32>);
    let direct_rows: Vec<DirectRow> = subscriptions::table
        .left_join(subscription_addons::table)
        .filter(subscriptions::tenant_id.eq(tenant.0))
        .filter(subscriptions::purchase_channel.ne("volume_licensing"))
        .filter(subscriptions::self_service_buyer_id.is_null())
        .filter(subscriptions::state.eq_any(["active", "past_due", "disabled"]))
        .order(subscriptions::id)
        .select((
            subscriptions::id,
            subscriptions::product_id,
            subscriptions::quantity,
            subscription_addons::production_instances.nullable(),
            subscription_addons::storage_gb.nullable(),
        ))
        .load(conn)?;
    let mut have: BTreeMap<(i64, Item), i64> = BTreeMap::new();
    let mut direct = Vec::new();
    for (id, product, quantity, instances, storage) in &direct_rows {
        *have.entry((*product, Item::Licenses)).or_insert(0) += i64::from(*quantity);
        *have
            .entry((*product, Item::ProductionInstances))
            .or_insert(0) += i64::from(instances.unwrap_or(0));
        *have.entry((*product, Item::StorageGb)).or_insert(0) += i64::from(storage.unwrap_or(0));
        if totals.keys().any(|(p, _)| p == product) {
            direct.push((
                SubscriptionId(*id),
                names.get(product).cloned().unwrap_or_default(),
                *quantity,
            ));
        }
    }
    let mut warnings = Vec::new();
    for ((product, item), now_held) in &have {
        // Only products the agreement carries: the others stay as they are.
        if !totals.keys().any(|(p, _)| p == product) || *now_held == 0 {
            continue;
        }
        let ordered = totals.get(&(*product, *item)).copied().unwrap_or(0);
        if ordered < *now_held {
            let name = names.get(product).cloned().unwrap_or_default();
            warnings.push(match item {
                Item::Licenses => format!(
                    "You have {now_held} {name} licenses now; this agreement holds {ordered}."
                ),
                addon => format!(
                    "You have {now_held} {} for {name} now; this agreement holds {ordered}.",
                    addon.noun()
                ),
            });
        }
    }
    Ok(ActivationPreview {
        agreement: head,
        tenant_name,
        attached_to,
        brings,
        warnings,
        direct,
    })
}

/// The OSM attaches the agreement's licenses to their organization: agreement subscriptions
/// appear and pool with the direct ones, which are not cancelled. Every link of the agreement
/// is used up.
pub fn activate(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    token: &str,
) -> Result<ActivationPreview, DomainError> {
    super::db::transaction(conn, |conn| {
        let preview = preview_activation(conn, actor, now, token)?;
        let head = &preview.agreement;
        if let Some(name) = &preview.attached_to {
            return Err(DomainError::Conflict(format!(
                "Agreement {} already has online services licenses attached to {name}: its new licenses attach there automatically and can't be associated with another organization. To move them, ask billing support to remap the agreement.",
                head.number
            )));
        }
        let tenant = may_activate(actor)?;
        attach(conn, now, head.id, tenant)?;
        let brings = preview
            .brings
            .iter()
            .map(|(p, item, n)| match item {
                Item::Licenses => format!("{n} {p} licenses"),
                addon => format!("{n} {} ({p})", addon.noun()),
            })
            .collect::<Vec<_>>()
            .join(", ");
        audit::record(
            conn,
            actor,
            now,
            Some(tenant),
            "Activated agreement",
            &head.number,
            &brings,
        )?;
        billing::mail_billing_admins(
            conn,
            now,
            tenant,
            &format!("Agreement {} is attached", head.number),
            &format!(
                "{brings} now pool with your other licenses. Your direct subscriptions are not cancelled: to stop their billing, file a \"Cancel subscription\" service request."
            ),
        )?;
        Ok(preview)
    })
}

/// Attaches the agreement to `tenant`: its subscriptions appear there, every link is used up.
pub(crate) fn attach(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    agreement: AgreementId,
    tenant: TenantId,
) -> Result<(), DomainError> {
    licenses::lock(conn, tenant)?;
    let attached = diesel::update(
        agreements::table
            .find(agreement.0)
            .filter(agreements::tenant_id.is_null()),
    )
    .set((
        agreements::tenant_id.eq(Some(tenant.0)),
        agreements::attached_at.eq(Some(naive(now))),
    ))
    .execute(conn)?;
    if attached == 0 {
        return Err(DomainError::Conflict(
            "The agreement was attached meanwhile.".into(),
        ));
    }
    diesel::update(
        agreement_activations::table
            .filter(agreement_activations::agreement_id.eq(agreement.0))
            .filter(agreement_activations::used_at.is_null()),
    )
    .set(agreement_activations::used_at.eq(Some(naive(now))))
    .execute(conn)?;
    sync_subscriptions(conn, now, agreement, tenant)
}

// ------------------------------------------------------------------ what billing support does

/// Resends the activation email, only ever to the OSM on file (the seed's warning): asking
/// for any other address is refused. For a service request, by billing support.
pub(crate) fn resend_activation(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    agreement: AgreementId,
    asked_for: Option<&str>,
) -> Result<String, DomainError> {
    let head = head(conn, agreement)?;
    if let Some(address) = asked_for.map(str::trim).filter(|a| !a.is_empty())
        && !address.eq_ignore_ascii_case(&head.osm_email)
    {
        return Err(DomainError::Refused(format!(
            "The activation email can only be resent to the OSM ({}). If the OSM is unavailable, ask the Licensing Solutions Partner, {}, to change the OSM, then file a new request to resend it.",
            head.osm_email, head.partner
        )));
    }
    if head.tenant.is_some() {
        return Err(DomainError::Conflict(format!(
            "Agreement {} is already activated: its licenses are attached.",
            head.number
        )));
    }
    let invoiced: i64 = agreement_orders::table
        .filter(agreement_orders::agreement_id.eq(agreement.0))
        .filter(agreement_orders::state.eq("invoiced"))
        .count()
        .get_result(conn)?;
    if invoiced == 0 {
        return Err(DomainError::Conflict(
            "The agreement has no invoiced order yet: the activation email goes out when it is invoiced.".into(),
        ));
    }
    issue_activation(conn, now, &head)?;
    Ok(head.osm_email)
}

/// The organization a remap names, by its domain: one that exists, and not the one the
/// agreement is attached to.
pub(crate) fn remap_target(
    conn: &mut DbConnection,
    head: &Head,
    domain: &str,
) -> Result<(TenantId, String), DomainError> {
    let domain = domain.trim().to_lowercase();
    if domain.is_empty() {
        return Err(DomainError::invalid(
            "target",
            "Enter the domain of the organization to move the agreement to.",
        ));
    }
    let to: Option<(i64, String)> = tenants::table
        .filter(tenants::domain.eq(&domain))
        .select((tenants::id, tenants::name))
        .first(conn)
        .optional()?;
    let Some((to, name)) = to else {
        return Err(DomainError::invalid(
            "target",
            format!("There is no organization with the domain '{domain}'."),
        ));
    };
    if Some(TenantId(to)) == head.tenant {
        return Err(DomainError::invalid(
            "target",
            "The agreement is already attached to that organization.",
        ));
    }
    Ok((TenantId(to), name))
}

/// What remapping would do, per product: (product, licenses moving, old tenant's licenses
/// and assigned after, new tenant's licenses after).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemapPreview {
    pub number: String,
    pub from: String,
    pub to: String,
    pub to_tenant: TenantId,
    pub lines: Vec<RemapLine>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemapLine {
    pub product: String,
    pub moving: i64,
    pub from_licenses_after: i64,
    pub from_assigned: i64,
    pub to_licenses_after: i64,
    pub to_assigned: i64,
}

impl RemapLine {
    /// Users left beyond the count in the old tenant: a license conflict.
    pub fn beyond(&self) -> i64 {
        (self.from_assigned - self.from_licenses_after).max(0)
    }
}

/// What remapping the agreement to the organization at `target` (its domain) would do.
/// Refused while the agreement carries online services licenses: they are all attached to one
/// account (the seed's note).
pub(crate) fn preview_remap(
    conn: &mut DbConnection,
    agreement: AgreementId,
    target: &str,
) -> Result<RemapPreview, DomainError> {
    let head = head(conn, agreement)?;
    let Some(from) = head.tenant else {
        return Err(DomainError::Conflict(format!(
            "Agreement {} is not attached to any organization yet: the OSM attaches it with the activation email.",
            head.number
        )));
    };
    let (to, to_name) = remap_target(conn, &head, target)?;
    let online: i64 = agreement_subscriptions::table
        .inner_join(subscriptions::table.inner_join(products::table))
        .filter(agreement_subscriptions::agreement_id.eq(agreement.0))
        .filter(products::family.eq("online_services"))
        .filter(subscriptions::quantity.gt(0))
        .count()
        .get_result(conn)?;
    if online > 0 {
        return Err(DomainError::Refused(format!(
            "Agreement {} can't be remapped: it holds online services licenses, and all online services licenses of an agreement are attached to the same account. Separating them needs a special amendment from the Licensing Sales Specialist.",
            head.number
        )));
    }
    let moving: Vec<(i64, String, i32)> = agreement_subscriptions::table
        .inner_join(subscriptions::table.inner_join(products::table))
        .filter(agreement_subscriptions::agreement_id.eq(agreement.0))
        .select((products::id, products::name, subscriptions::quantity))
        .load(conn)?;
    let from_pools = licenses::load_pools(conn, from)?;
    let to_pools = licenses::load_pools(conn, to)?;
    let find = |pools: &[licenses::PoolSummary], product: i64| {
        pools
            .iter()
            .find(|p| p.product.0 == product && p.self_service.is_none())
            .map_or((0, 0), |p| (p.licenses, p.assigned))
    };
    let lines = moving
        .into_iter()
        .map(|(product, name, n)| {
            let (from_licenses, from_assigned) = find(&from_pools, product);
            let (to_licenses, to_assigned) = find(&to_pools, product);
            RemapLine {
                product: name,
                moving: i64::from(n),
                from_licenses_after: from_licenses - i64::from(n),
                from_assigned,
                to_licenses_after: to_licenses + i64::from(n),
                to_assigned,
            }
        })
        .collect();
    Ok(RemapPreview {
        number: head.number,
        from: super::subscriptions::tenant_name(conn, from)?,
        to: to_name,
        to_tenant: to,
        lines,
    })
}

/// Moves the agreement's licenses to the organization at `target`, under both tenants'
/// license locks; users beyond the count in the old one are a license conflict there.
pub(crate) fn remap(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    agreement: AgreementId,
    target: &str,
) -> Result<RemapPreview, DomainError> {
    super::db::transaction(conn, |conn| {
        let head = head(conn, agreement)?;
        let preview = preview_remap(conn, agreement, target)?;
        let Some(from) = head.tenant else {
            return Err(DomainError::Conflict(
                "The agreement is not attached.".into(),
            ));
        };
        let to = preview.to_tenant;
        // Locks in id order, as any two license changes would take them.
        let (first, second) = if from.0 < to.0 {
            (from, to)
        } else {
            (to, from)
        };
        licenses::lock(conn, first)?;
        licenses::lock(conn, second)?;
        diesel::update(agreements::table.find(agreement.0))
            .set(agreements::tenant_id.eq(Some(to.0)))
            .execute(conn)?;
        let moved: Vec<i64> = agreement_subscriptions::table
            .filter(agreement_subscriptions::agreement_id.eq(agreement.0))
            .select(agreement_subscriptions::subscription_id)
            .load(conn)?;
        diesel::update(subscriptions::table.filter(subscriptions::id.eq_any(&moved)))
            .set(subscriptions::tenant_id.eq(to.0))
            .execute(conn)?;
        let detail = preview
            .lines
            .iter()
            .map(|l| format!("{} {} licenses", l.moving, l.product))
            .collect::<Vec<_>>()
            .join(", ");
        for (tenant, text) in [
            (from, format!("to {}: {detail}", preview.to)),
            (to, format!("from {}: {detail}", preview.from)),
        ] {
            audit::record(
                conn,
                actor,
                now,
                Some(tenant),
                "Remapped agreement",
                &preview.number,
                &text,
            )?;
            billing::mail_billing_admins(
                conn,
                now,
                tenant,
                &format!("Agreement {} was remapped", preview.number),
                &format!(
                    "Billing support moved the licenses of agreement {} from {} to {}: {detail}.",
                    preview.number, preview.from, preview.to
                ),
            )?;
        }
        Ok(preview)
    })
}

// ------------------------------------------------------------------ pages

/// An order as the pages list it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRow {
    pub id: i64,
    pub kind: OrderKind,
    pub state: String,
    pub placed_by: String,
    pub placed_at: DateTime<Utc>,
    pub invoiced_at: Option<DateTime<Utc>>,
    pub trued_up_at: Option<DateTime<Utc>>,
    pub discount_percent: i32,
    pub total: String,
    pub summary: String,
}

/// An invoice as the pages list it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceRow {
    pub number: String,
    pub kind: String,
    pub issued_at: DateTime<Utc>,
    pub addressed_to: String,
    pub total: String,
}

/// An agreement with what it holds, for Settings > Agreements and the partner's page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementView {
    pub head: Head,
    pub tenant_name: Option<String>,
    /// (product, item, quantity) of its invoiced orders.
    pub holds: Vec<(String, Item, i64)>,
    pub orders: Vec<OrderRow>,
    pub invoices: Vec<InvoiceRow>,
    /// A link was sent and not used yet.
    pub awaiting_activation: bool,
}

impl AgreementView {
    /// Reservations since the last true-up: invoiced at once, billed at the next anniversary.
    pub fn open_reservations(&self) -> Vec<&OrderRow> {
        self.orders
            .iter()
            .filter(|o| o.kind == OrderKind::Reservation && o.trued_up_at.is_none())
            .collect()
    }
}

fn view_of(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    head: Head,
) -> Result<AgreementView, DomainError> {
    let names: BTreeMap<i64, String> = products::table
        .select((products::id, products::name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    let holds = totals(conn, head.id)?
        .into_iter()
        .map(|((p, item), n)| (names.get(&p).cloned().unwrap_or_default(), item, n))
        .collect();
    type OrderTuple = (
        i64,
        String,
        String,
        String,
        NaiveDateTime,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
        i32,
        i64,
    );
    let rows: Vec<OrderTuple> = agreement_orders::table
        .filter(agreement_orders::agreement_id.eq(head.id.0))
        .order(agreement_orders::id.desc())
        .select((
            agreement_orders::id,
            agreement_orders::kind,
            agreement_orders::state,
            agreement_orders::placed_by,
            agreement_orders::placed_at,
            agreement_orders::invoiced_at,
            agreement_orders::trued_up_at,
            agreement_orders::discount_percent,
            agreement_orders::total_cents,
        ))
        .load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let mut words = summaries(conn, &ids)?;
    let mut orders = Vec::new();
    for (id, kind, state, placed_by, placed_at, invoiced_at, trued_up_at, discount, total) in rows {
        orders.push(OrderRow {
            id,
            kind: OrderKind::parse(&kind)?,
            state,
            placed_by,
            placed_at: utc(placed_at),
            invoiced_at: invoiced_at.map(utc),
            trued_up_at: trued_up_at.map(utc),
            discount_percent: discount,
            total: billing::format_money(total),
            summary: words.remove(&id).unwrap_or_default(),
        });
    }
    let invoices = agreement_invoices::table
        .filter(agreement_invoices::agreement_id.eq(head.id.0))
        .order(agreement_invoices::id.desc())
        .select((
            agreement_invoices::number,
            agreement_invoices::kind,
            agreement_invoices::issued_at,
            agreement_invoices::addressed_to,
            agreement_invoices::total_cents,
        ))
        .load::<(String, String, NaiveDateTime, String, i64)>(conn)?
        .into_iter()
        .map(|(number, kind, at, to, total)| InvoiceRow {
            number,
            kind: if kind == "true_up" {
                "True-up".into()
            } else {
                "Purchase order".into()
            },
            issued_at: utc(at),
            addressed_to: to,
            total: billing::format_money(total),
        })
        .collect();
    let waiting: i64 = agreement_activations::table
        .filter(agreement_activations::agreement_id.eq(head.id.0))
        .filter(agreement_activations::used_at.is_null())
        .filter(agreement_activations::expires_at.gt(naive(now)))
        .count()
        .get_result(conn)?;
    let tenant_name = match head.tenant {
        Some(t) => Some(super::subscriptions::tenant_name(conn, t)?),
        None => None,
    };
    Ok(AgreementView {
        awaiting_activation: head.tenant.is_none() && waiting > 0,
        head,
        tenant_name,
        holds,
        orders,
        invoices,
    })
}

/// Settings > Agreements: the agreements attached to the tenant.
pub fn for_tenant(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
) -> Result<Vec<AgreementView>, DomainError> {
    authz::may(actor, Action::ViewBilling, Some(tenant))?;
    let heads: Vec<HeadRow> = agreements::table
        .filter(agreements::tenant_id.eq(tenant.0))
        .order(agreements::number)
        .select(HeadRow::as_select())
        .load(conn)?;
    heads
        .into_iter()
        .map(|row| view_of(conn, now, to_head(row)?))
        .collect()
}

/// The partner's list of every agreement.
pub fn all(conn: &mut DbConnection, actor: &Actor) -> Result<Vec<Head>, DomainError> {
    authz::may(actor, Action::ManageAgreements, None)?;
    agreements::table
        .order(agreements::number)
        .select(HeadRow::as_select())
        .load::<HeadRow>(conn)?
        .into_iter()
        .map(to_head)
        .collect()
}

/// One agreement for the partner, or for an admin of the tenant it is attached to.
pub fn get(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    id: AgreementId,
) -> Result<AgreementView, DomainError> {
    let head = head(conn, id)?;
    if !authz::can(actor, Action::ManageAgreements, None) {
        match head.tenant {
            Some(tenant) => authz::may(actor, Action::ViewBilling, Some(tenant))?,
            None => return Err(DomainError::Forbidden),
        }
    }
    view_of(conn, now, head)
}

/// The products an order can name, by name.
pub fn products_for_orders(
    conn: &mut DbConnection,
) -> Result<Vec<(ProductId, String)>, DomainError> {
    Ok(products::table
        .order(products::name)
        .select((products::id, products::name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .map(|(id, name)| (ProductId(id), name))
        .collect())
}

/// Parses an order line from a form's product id, item and quantity text (blank is none).
pub fn line(product: i64, item: &str, quantity: &str) -> Result<Option<OrderLine>, DomainError> {
    let quantity = quantity.trim();
    if quantity.is_empty() || quantity == "0" {
        return Ok(None);
    }
    let n: i32 = quantity.parse().map_err(|_| {
        DomainError::invalid(
            "lines",
            "Each quantity is a whole number from 1 to 100,000.",
        )
    })?;
    Ok(Some(OrderLine {
        product: ProductId(product),
        item: Item::parse(item)?,
        quantity: n,
    }))
}
