//! Orders on an agreement: purchase orders provisioned within hours, license reservations at once.

use super::*;

// ------------------------------------------------------------------ orders

text_enum! {
    /// The kinds of order the seed names.
    pub enum OrderKind {
        /// Pending until processed (up to 12 hours), then invoiced to the partner.
        PurchaseOrder = "purchase_order",
        /// Licenses at once, paid at the next true-up.
        Reservation = "reservation",
    }
}

text_enum! {
    /// An order is pending until it is provisioned and invoiced (a reservation is at once).
    pub enum OrderState {
        Pending = "pending",
        Invoiced = "invoiced",
    }
}

impl OrderState {
    pub fn is_pending(self) -> bool {
        self == OrderState::Pending
    }
}

text_enum! {
    /// What a volume licensing invoice bills: a purchase order, or the reservations of a year
    /// at its true-up.
    pub enum InvoiceKind {
        PurchaseOrder = "purchase_order",
        TrueUp = "true_up",
    }
}

impl InvoiceKind {
    pub fn title(self) -> &'static str {
        match self {
            InvoiceKind::PurchaseOrder => "Purchase order",
            InvoiceKind::TrueUp => "True-up",
        }
    }
}

impl OrderKind {
    pub fn is_reservation(self) -> bool {
        self == OrderKind::Reservation
    }

    /// As the form sends it.
    pub fn parse(text: &str) -> Result<OrderKind, DomainError> {
        text.parse().map_err(|_| {
            DomainError::invalid("kind", "Choose a purchase order or a license reservation.")
        })
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
    crate::domain::db::transaction(conn, |conn| {
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
                agreement_orders::kind.eq(kind),
                agreement_orders::state.eq(if invoiced {
                    OrderState::Invoiced
                } else {
                    OrderState::Pending
                }),
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
                    agreement_order_lines::item.eq(line.item),
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

/// Asks `may` for an order: the partner enters any; a Global or Billing admin adds license
/// reservations on an agreement attached to their organization, and is told where purchase
/// orders go.
pub(crate) fn may_order(actor: &Actor, head: &Head, kind: OrderKind) -> Result<(), DomainError> {
    let target = head.target();
    let action = match kind {
        OrderKind::Reservation => Action::ReserveLicenses,
        OrderKind::PurchaseOrder => Action::ManageAgreements,
    };
    authz::may(actor, action, &target).map_err(|refused| {
        if kind == OrderKind::PurchaseOrder && authz::can(actor, Action::ReserveLicenses, &target) {
            DomainError::Refused(format!(
                "Purchase orders are placed through your Licensing Solutions Partner, {}.",
                head.partner
            ))
        } else {
            refused
        }
    })
}

/// "20 Sales Professional licenses, 3 additional production instances (Sales Professional)".
pub(crate) fn describe_lines(conn: &mut DbConnection, order: i64) -> Result<String, DomainError> {
    Ok(summaries(conn, &[order])?
        .remove(&order)
        .unwrap_or_default())
}

/// The orders' lines in words, per order, in one query.
pub(crate) fn summaries(
    conn: &mut DbConnection,
    orders: &[i64],
) -> Result<BTreeMap<i64, String>, DomainError> {
    let lines: Vec<(i64, String, Item, i32)> = agreement_order_lines::table
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
        words.entry(order).or_default().push(match item {
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
pub(crate) fn licenses_on(
    conn: &mut DbConnection,
    agreement: AgreementId,
) -> Result<i64, DomainError> {
    Ok(totals(conn, agreement)?
        .iter()
        .filter(|((_, item), _)| *item == Item::Licenses)
        .map(|(_, n)| *n)
        .sum())
}

/// The agreement's invoiced quantities per (product, item).
pub(crate) fn totals(
    conn: &mut DbConnection,
    agreement: AgreementId,
) -> Result<BTreeMap<(i64, Item), i64>, DomainError> {
    let rows: Vec<(i64, Item, i32)> = agreement_order_lines::table
        .inner_join(agreement_orders::table)
        .filter(agreement_orders::agreement_id.eq(agreement.0))
        .filter(agreement_orders::state.eq(OrderState::Invoiced))
        .select((
            agreement_order_lines::product_id,
            agreement_order_lines::item,
            agreement_order_lines::quantity,
        ))
        .load(conn)?;
    let mut out = BTreeMap::new();
    for (product, item, n) in rows {
        *out.entry((product, item)).or_insert(0) += i64::from(n);
    }
    Ok(out)
}

/// An invoiced order: on an attached agreement its licenses pool at once; otherwise the OSM
/// gets the activation email.
pub(crate) fn deliver_order(
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
pub(crate) fn sync_subscriptions(
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
                        subscriptions::state.eq(SubscriptionState::Active),
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
                        subscriptions::billing_period.eq(BillingPeriod::Yearly),
                        subscriptions::term_start.eq(start),
                        subscriptions::term_end.eq(end),
                        subscriptions::recurring_billing.eq(true),
                        subscriptions::purchase_channel.eq(PurchaseChannel::VolumeLicensing),
                        subscriptions::state.eq(SubscriptionState::Active),
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
                    subscription_addons::tenant_id.eq(tenant.0),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Provisions the purchase orders whose processing time has come: each is invoiced to the
/// partner and delivered (pooled, or an activation email), one order per transaction; a failed
/// one is counted in `failures` and the rest go on. Run by `tick`; idempotent.
pub fn process_purchase_orders(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    failures: &mut usize,
) -> Result<usize, DomainError> {
    let due: Vec<(i64, i64)> = agreement_orders::table
        .filter(agreement_orders::state.eq(OrderState::Pending))
        .filter(agreement_orders::provision_after.le(naive(now)))
        .order(agreement_orders::id)
        .select((agreement_orders::id, agreement_orders::agreement_id))
        .load(conn)?;
    let system = Actor::System("purchase order processing");
    let mut provisioned = 0;
    for (order, agreement) in &due {
        let done = crate::domain::db::transaction(conn, |conn| {
            let head = head(conn, AgreementId(*agreement))?;
            let changed = diesel::update(
                agreement_orders::table
                    .find(order)
                    .filter(agreement_orders::state.eq(OrderState::Pending)),
            )
            .set((
                agreement_orders::state.eq(OrderState::Invoiced),
                agreement_orders::invoiced_at.eq(Some(naive(now))),
            ))
            .execute(conn)?;
            if changed == 0 {
                return Ok(false);
            }
            let total: i64 = agreement_orders::table
                .find(order)
                .select(agreement_orders::total_cents)
                .first(conn)?;
            let number = invoice(conn, now, &head, InvoiceKind::PurchaseOrder, total, None)?;
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
            Ok(true)
        });
        if crate::domain::db::keep_going(failures, "provision purchase order", *order, done)
            == Some(true)
        {
            provisioned += 1;
        }
    }
    Ok(provisioned)
}

/// Writes a volume licensing invoice, addressed to the partner. Returns its number.
pub(crate) fn invoice(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    head: &Head,
    kind: InvoiceKind,
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
