//! Charges: recorded pending with an idempotency key before the gateway is asked, settled after.

use super::*;

// ---------------------------------------------------------------- charges

/// How long a charge may stay pending before `tick` takes it for one a crash or a lost answer
/// left behind; a younger one belongs to a request still under way.
pub const SETTLE_PENDING_AFTER: chrono::Duration = chrono::Duration::minutes(2);

text_enum! {
    /// What a card charge pays for.
    pub(crate) enum Purpose {
        AddLicenses = "add_licenses",
        Subscribe = "subscribe",
        Renewal = "renewal",
    }
}

text_enum! {
    /// A card charge is pending until the gateway's answer is recorded.
    pub(crate) enum ChargeState {
        Pending = "pending",
        Settled = "settled",
        Declined = "declined",
    }
}

/// A card charge as recorded: pending until the gateway's answer is recorded.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = charges)]
pub(crate) struct ChargeRow {
    pub id: i64,
    pub tenant_id: i64,
    pub purpose: Purpose,
    pub subscription_id: Option<i64>,
    pub product_id: i64,
    pub payment_method_id: PaymentMethodId,
    pub idempotency_key: String,
    pub amount_cents: i64,
    pub licenses: i32,
    pub term_start: chrono::NaiveDateTime,
    pub term_end: chrono::NaiveDateTime,
    pub state: ChargeState,
    pub gateway_reference: Option<String>,
    pub bill_id: Option<i64>,
}

impl ChargeRow {
    pub(crate) fn tenant(&self) -> TenantId {
        TenantId(self.tenant_id)
    }

    /// Why the gateway declined it, when it did.
    pub(crate) fn decline(&self) -> Option<Decline> {
        (self.state == ChargeState::Declined)
            .then(|| Decline::from_code(self.gateway_reference.as_deref().unwrap_or_default()))
    }
}

/// A charge about to be made.
pub(crate) struct NewCharge {
    pub purpose: Purpose,
    pub tenant: TenantId,
    pub subscription: Option<i64>,
    pub product: i64,
    pub payment_method: PaymentMethodId,
    pub amount_cents: i64,
    pub licenses: i32,
    pub term_start: chrono::NaiveDateTime,
    pub term_end: chrono::NaiveDateTime,
}

/// Step 1 of a card charge, inside the caller's transaction: records it as pending, with the
/// idempotency key the gateway will get. The key names what is paid (the purpose, the tenant,
/// the subscription or product) and ends in a random part, so a database restored from a
/// backup, whose ids start again, never sends a key the gateway has seen.
pub(crate) fn record_pending(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    new: &NewCharge,
) -> Result<ChargeRow, DomainError> {
    let paid = match new.subscription {
        Some(sub) => format!("s{sub}"),
        None => format!("p{}", new.product),
    };
    let key = format!(
        "allot-{}-t{}-{paid}-{:016x}",
        new.purpose.as_str(),
        new.tenant,
        rand::random::<u64>()
    );
    let id: i64 = diesel::insert_into(charges::table)
        .values((
            charges::tenant_id.eq(new.tenant.0),
            charges::purpose.eq(new.purpose),
            charges::subscription_id.eq(new.subscription),
            charges::product_id.eq(new.product),
            charges::payment_method_id.eq(new.payment_method),
            charges::idempotency_key.eq(&key),
            charges::amount_cents.eq(new.amount_cents),
            charges::licenses.eq(new.licenses),
            charges::term_start.eq(new.term_start),
            charges::term_end.eq(new.term_end),
            charges::state.eq(ChargeState::Pending),
            charges::created_at.eq(naive(now)),
        ))
        .returning(charges::id)
        .get_result(conn)?;
    charge_row(conn, id)
}

pub(crate) fn charge_row(conn: &mut DbConnection, id: i64) -> Result<ChargeRow, DomainError> {
    Ok(charges::table
        .find(id)
        .select(ChargeRow::as_select())
        .first(conn)?)
}

/// Step 2: asks the gateway to make the charge, with its key. Never inside a transaction: the
/// transaction could be run again (busy) or rolled back after the card was charged.
pub(crate) fn ask_gateway(
    conn: &mut DbConnection,
    gateway: &dyn PaymentGateway,
    now: DateTime<Utc>,
    charge: &ChargeRow,
) -> Result<Result<Approval, ChargeFailure>, DomainError> {
    if crate::domain::db::in_transaction(conn) != Some(false) {
        return Err(DomainError::storage(
            "a card is never charged inside a database transaction",
        ));
    }
    // The card as it was chosen, even if it has been removed since: it is what was charged.
    let card: PaymentMethod = payment_methods::table
        .find(charge.payment_method_id)
        .select(PaymentMethod::as_select())
        .first(conn)?;
    Ok(gateway.charge(
        &charge.idempotency_key,
        &card.card(),
        charge.amount_cents,
        now,
    ))
}

/// Step 3, inside the caller's transaction (which holds the tenant's license lock and has
/// found the charge still pending): records the gateway's answer and the bill written for it.
/// Lost to a concurrent settler after all, it answers Busy, so the transaction is rolled back
/// and run again, and then finds the charge settled.
pub(crate) fn record_answer(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    charge: &ChargeRow,
    answer: &Result<Approval, Decline>,
    bill: Option<i64>,
    subscription: Option<i64>,
) -> Result<(), DomainError> {
    let (state, answered) = match answer {
        Ok(approval) => (ChargeState::Settled, approval.reference.as_str()),
        Err(decline) => (ChargeState::Declined, decline.code()),
    };
    let changed = diesel::update(
        charges::table
            .find(charge.id)
            .filter(charges::state.eq(ChargeState::Pending)),
    )
    .set((
        charges::state.eq(state),
        charges::gateway_reference.eq(Some(answered)),
        charges::bill_id.eq(bill),
        charges::subscription_id.eq(subscription.or(charge.subscription_id)),
        charges::settled_at.eq(Some(naive(now))),
    ))
    .execute(conn)?;
    if changed == 0 {
        return Err(DomainError::Busy);
    }
    Ok(())
}

/// Charges pending since before `before`, oldest first.
pub(crate) fn pending_before(
    conn: &mut DbConnection,
    before: DateTime<Utc>,
) -> Result<Vec<i64>, DomainError> {
    Ok(charges::table
        .filter(charges::state.eq(ChargeState::Pending))
        .filter(charges::created_at.le(naive(before)))
        .order(charges::id)
        .select(charges::id)
        .load(conn)?)
}

/// Whether a renewal of the subscription is pending: it is not begun again meanwhile.
pub(crate) fn renewal_pending(
    conn: &mut DbConnection,
    subscription: i64,
) -> Result<bool, DomainError> {
    let pending: i64 = charges::table
        .filter(charges::subscription_id.eq(subscription))
        .filter(charges::purpose.eq(Purpose::Renewal))
        .filter(charges::state.eq(ChargeState::Pending))
        .count()
        .get_result(conn)?;
    Ok(pending > 0)
}

/// A bill's number.
pub(crate) fn bill_number(conn: &mut DbConnection, bill: i64) -> Result<String, DomainError> {
    Ok(bills::table.find(bill).select(bills::number).first(conn)?)
}

/// A card's label ("Visa •••• 4242"), removed or not.
pub(crate) fn method_label(
    conn: &mut DbConnection,
    method: PaymentMethodId,
) -> Result<String, DomainError> {
    let card: PaymentMethod = payment_methods::table
        .find(method)
        .select(PaymentMethod::as_select())
        .first(conn)?;
    Ok(card.label())
}
