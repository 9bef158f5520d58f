//! The yearly true-up: reservations since the last anniversary are invoiced on the next.

use super::*;

/// At each agreement's anniversary: one true-up invoice of the year's reservations, addressed
/// to the partner (never charged to a card), and the agreement subscriptions' next year. One
/// agreement per transaction; a failed one is counted in `failures` and the rest go on. Run by
/// `tick`; a second run finds nothing due.
pub fn run_true_ups(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    failures: &mut usize,
) -> Result<usize, DomainError> {
    let due: Vec<i64> = agreements::table
        .filter(agreements::next_true_up.le(naive(now)))
        .order(agreements::id)
        .select(agreements::id)
        .load(conn)?;
    let system = Actor::System("true-up");
    let mut billed = 0;
    for id in due {
        let done = crate::domain::db::transaction(conn, |conn| true_up(conn, &system, now, id));
        if crate::domain::db::keep_going(failures, "true-up", id, done) == Some(true) {
            billed += 1;
        }
    }
    Ok(billed)
}

/// One agreement's anniversary, if it is still due; true when it billed a true-up.
fn true_up(
    conn: &mut DbConnection,
    system: &Actor,
    now: DateTime<Utc>,
    id: i64,
) -> Result<bool, DomainError> {
    let head = head(conn, AgreementId(id))?;
    let anniversary = naive(head.next_true_up);
    let next = anniversary
        .checked_add_months(Months::new(12))
        .unwrap_or(anniversary);
    // Moving the anniversary first claims it: a tick beside this one finds it done.
    let claimed = diesel::update(
        agreements::table
            .find(id)
            .filter(agreements::next_true_up.eq(anniversary))
            .filter(agreements::next_true_up.le(naive(now))),
    )
    .set(agreements::next_true_up.eq(next))
    .execute(conn)?;
    if claimed == 0 {
        return Ok(false);
    }
    let mut billed = false;
    let reservations: Vec<(i64, i64)> = agreement_orders::table
        .filter(agreement_orders::agreement_id.eq(id))
        .filter(agreement_orders::kind.eq(OrderKind::Reservation))
        .filter(agreement_orders::state.eq(OrderState::Invoiced))
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
        let number = invoice(
            conn,
            now,
            &head,
            InvoiceKind::TrueUp,
            total,
            Some(anniversary),
        )?;
        audit::record(
            conn,
            system,
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
        billed = true;
    }
    if let Some(tenant) = head.tenant {
        licenses::lock(conn, tenant)?;
        sync_subscriptions(conn, now, head.id, tenant)?;
    }
    Ok(billed)
}
