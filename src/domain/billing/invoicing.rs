//! Bills and their lines, in integer cents: issued on purchase, renewal and license changes.

use super::*;

// ---------------------------------------------------------------- bills

text_enum! {
    /// What a bill is for.
    pub enum BillKind {
        Purchase = "purchase",
        Renewal = "renewal",
        /// More licenses on a running subscription.
        Change = "change",
        Refund = "refund",
        /// A volume licensing invoice.
        Invoice = "invoice",
    }
}

text_enum! {
    /// Whether a bill was paid: by card (paid or failed), on invoice (due), or a credit.
    pub enum BillState {
        Paid = "paid",
        Failed = "failed",
        Due = "due",
        Credited = "credited",
    }
}

impl BillState {
    pub fn title(self) -> &'static str {
        match self {
            BillState::Paid => "Paid",
            BillState::Failed => "Payment failed",
            BillState::Due => "Due (invoice)",
            BillState::Credited => "Refunded",
        }
    }
}

/// A bill as its page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bill {
    pub id: BillId,
    pub number: String,
    pub issued_at: DateTime<Utc>,
    pub kind: BillKind,
    pub state: BillState,
    pub total_cents: i64,
    pub payment_method: String,
    pub lines: Vec<BillLine>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillLine {
    pub description: String,
    pub quantity: i32,
    pub amount_cents: i64,
}

impl Bill {
    pub fn total(&self) -> String {
        format_money(self.total_cents)
    }

    pub fn state_title(&self) -> &'static str {
        self.state.title()
    }
}

impl BillLine {
    pub fn amount(&self) -> String {
        format_money(self.amount_cents)
    }
}

/// A line to bill.
pub(crate) struct Charge {
    pub subscription: Option<i64>,
    pub description: String,
    pub quantity: i32,
    pub amount_cents: i64,
}

/// Writes a bill with its lines; the total is the sum of the lines.
pub(crate) fn issue_bill(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    tenant: TenantId,
    kind: BillKind,
    state: BillState,
    payment_method: &str,
    lines: &[Charge],
) -> Result<(i64, String), DomainError> {
    let total: i64 = lines.iter().map(|l| l.amount_cents).sum();
    // The number comes from the id, known after the insert; a random placeholder keeps the
    // unique key happy until then.
    let placeholder = format!("pending-{}", rand::random::<u64>());
    let id = diesel::insert_into(bills::table)
        .values((
            bills::tenant_id.eq(tenant.0),
            bills::number.eq(&placeholder),
            bills::issued_at.eq(naive(now)),
            bills::kind.eq(kind),
            bills::state.eq(state),
            bills::total_cents.eq(total),
            bills::payment_method.eq(payment_method),
        ))
        .returning(bills::id)
        .get_result(conn)?;
    let number = format!("B{}-{id:06}", now.format("%Y%m"));
    diesel::update(bills::table.find(id))
        .set(bills::number.eq(&number))
        .execute(conn)?;
    for line in lines {
        diesel::insert_into(bill_lines::table)
            .values((
                bill_lines::bill_id.eq(id),
                bill_lines::subscription_id.eq(line.subscription),
                bill_lines::description.eq(&line.description),
                bill_lines::quantity.eq(line.quantity),
                bill_lines::amount_cents.eq(line.amount_cents),
                bill_lines::tenant_id.eq(tenant.0),
            ))
            .execute(conn)?;
    }
    Ok((id, number))
}

/// A bill's own columns, as stored.
#[derive(Queryable, Selectable)]
#[diesel(table_name = bills)]
pub(crate) struct BillRecord {
    id: i64,
    number: String,
    issued_at: chrono::NaiveDateTime,
    kind: BillKind,
    state: BillState,
    total_cents: i64,
    payment_method: String,
}

impl BillRecord {
    fn with_lines(self, lines: Vec<BillLine>) -> Bill {
        Bill {
            id: BillId(self.id),
            number: self.number,
            issued_at: utc(self.issued_at),
            kind: self.kind,
            state: self.state,
            total_cents: self.total_cents,
            payment_method: self.payment_method,
            lines,
        }
    }
}

/// The tenant's bills, newest first (Bills & payments).
pub fn bills(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
) -> Result<Vec<Bill>, DomainError> {
    bills_sorted(conn, actor, tenant, BillSort::Date, true)
}

/// What Bills & payments sorts by (its column headers); equal ones by date, then number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BillSort {
    #[default]
    Date,
    Number,
    Amount,
}

/// How many bills the tenant has (the list shows its latest `BILLS_SHOWN`).
pub fn bill_count(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
) -> Result<i64, DomainError> {
    authz::may(actor, Action::ViewBilling, &authz::Target::Tenant(tenant))?;
    Ok(bills::table
        .filter(bills::tenant_id.eq(tenant.0))
        .count()
        .get_result(conn)?)
}

/// The most bills one page lists: a tenant gets a few a month, so it is not paged.
pub const BILLS_SHOWN: i64 = 500;

/// The tenant's bills in the order asked.
pub fn bills_sorted(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    sort: BillSort,
    descending: bool,
) -> Result<Vec<Bill>, DomainError> {
    authz::may(actor, Action::ViewBilling, &authz::Target::Tenant(tenant))?;
    let query = bills::table
        .filter(bills::tenant_id.eq(tenant.0))
        .into_boxed();
    let query = match (sort, descending) {
        (BillSort::Date, true) => query.order((bills::issued_at.desc(), bills::id.desc())),
        (BillSort::Date, false) => query.order((bills::issued_at, bills::id)),
        (BillSort::Number, true) => query.order((bills::number.desc(), bills::id.desc())),
        (BillSort::Number, false) => query.order((bills::number, bills::id)),
        (BillSort::Amount, true) => query.order((
            bills::total_cents.desc(),
            bills::issued_at.desc(),
            bills::id.desc(),
        )),
        (BillSort::Amount, false) => query.order((bills::total_cents, bills::issued_at, bills::id)),
    };
    let rows: Vec<BillRecord> = query
        .limit(BILLS_SHOWN)
        .select(BillRecord::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(|r| r.with_lines(vec![])).collect())
}

/// One bill with its lines; a bill of another tenant is not found.
pub fn bill(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    id: BillId,
) -> Result<Bill, DomainError> {
    authz::may(actor, Action::ViewBilling, &authz::Target::Tenant(tenant))?;
    let record: BillRecord = bills::table
        .filter(bills::id.eq(id.0))
        .filter(bills::tenant_id.eq(tenant.0))
        .select(BillRecord::as_select())
        .first(conn)?;
    let lines = bill_lines::table
        .filter(bill_lines::bill_id.eq(record.id))
        .order(bill_lines::id)
        .select((
            bill_lines::description,
            bill_lines::quantity,
            bill_lines::amount_cents,
        ))
        .load::<(String, i32, i64)>(conn)?
        .into_iter()
        .map(|(description, quantity, amount_cents)| BillLine {
            description,
            quantity,
            amount_cents,
        })
        .collect();
    Ok(record.with_lines(lines))
}
