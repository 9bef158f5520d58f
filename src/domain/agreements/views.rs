//! Agreements as the partner console and Settings > Agreements show them.

use super::*;

// ------------------------------------------------------------------ pages

/// An order as the pages list it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRow {
    pub id: i64,
    pub kind: OrderKind,
    pub state: OrderState,
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
    pub kind: InvoiceKind,
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

/// An order's row as stored.
#[derive(Queryable, Selectable)]
#[diesel(table_name = agreement_orders)]
struct OrderRecord {
    id: i64,
    kind: OrderKind,
    state: OrderState,
    placed_by: String,
    placed_at: NaiveDateTime,
    invoiced_at: Option<NaiveDateTime>,
    trued_up_at: Option<NaiveDateTime>,
    discount_percent: i32,
    total_cents: i64,
}

pub(crate) fn view_of(
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
    let rows: Vec<OrderRecord> = agreement_orders::table
        .filter(agreement_orders::agreement_id.eq(head.id.0))
        .order(agreement_orders::id.desc())
        .select(OrderRecord::as_select())
        .load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut words = summaries(conn, &ids)?;
    let orders = rows
        .into_iter()
        .map(|r| OrderRow {
            id: r.id,
            kind: r.kind,
            state: r.state,
            placed_by: r.placed_by,
            placed_at: utc(r.placed_at),
            invoiced_at: r.invoiced_at.map(utc),
            trued_up_at: r.trued_up_at.map(utc),
            discount_percent: r.discount_percent,
            total: billing::format_money(r.total_cents),
            summary: words.remove(&r.id).unwrap_or_default(),
        })
        .collect();
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
        .load::<(String, InvoiceKind, NaiveDateTime, String, i64)>(conn)?
        .into_iter()
        .map(|(number, kind, at, to, total)| InvoiceRow {
            number,
            kind,
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
        Some(t) => Some(crate::domain::subscriptions::tenant_name(conn, t)?),
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
    authz::may(actor, Action::ViewAgreement, &Target::Tenant(tenant))?;
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
    authz::may(actor, Action::ManageAgreements, &authz::Target::Provider)?;
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
    authz::may(actor, Action::ViewAgreement, &head.target())?;
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
pub fn line(
    product: ProductId,
    item: &str,
    quantity: &str,
) -> Result<Option<OrderLine>, DomainError> {
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
        product,
        item: Item::parse(item)?,
        quantity: n,
    }))
}
