use super::*;
use crate::web::sorting::{SortHeader, SortOrder, SortQuery, total};

#[derive(Template)]
#[template(path = "billing/bills.html")]
pub struct BillsPage {
    frame: Frame,
    bills: Vec<Bill>,
    /// "12 bills".
    total: String,
    headers: [SortHeader; 3],
}

/// GET /billing/bills: Bills & payments.
pub async fn bills(
    TenantRequest {
        session,
        state,
        actor,
        tenant,
        ..
    }: TenantRequest,
    query: crate::web::forms::Query<SortQuery>,
) -> Result<HttpResponse, WebError> {
    let order = SortOrder::resolve(&query.0, &["date", "number", "amount"], true);
    let sort = match order.column {
        "number" => billing::BillSort::Number,
        "amount" => billing::BillSort::Amount,
        _ => billing::BillSort::Date,
    };
    let descending = order.descending;
    let (bills, count) = state
        .db(move |conn| {
            Ok((
                billing::bills_sorted(conn, &actor, tenant, sort, descending)?,
                billing::bill_count(conn, &actor, tenant)?,
            ))
        })
        .await?;
    let path = "/billing/bills";
    crate::web::render(&BillsPage {
        frame: Frame::new("Bills & payments", &session, path),
        bills,
        total: total(count, "bill", "bills"),
        headers: [
            order.header(path, &[], "number", "Bill"),
            order.header(path, &[], "date", "Date"),
            order.header(path, &[], "amount", "Amount"),
        ],
    })
}

#[derive(Template)]
#[template(path = "billing/bill.html")]
pub struct BillPage {
    frame: Frame,
    bill: Bill,
    tenant_name: String,
}

/// GET /billing/bills/{id}: a bill with its lines, printable.
pub async fn bill(
    TenantRequest {
        session,
        state,
        actor,
        tenant,
        ..
    }: TenantRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, WebError> {
    let id = BillId(path.into_inner());
    let bill = state
        .db(move |conn| billing::bill(conn, &actor, tenant, id))
        .await?;
    crate::web::render(&BillPage {
        frame: Frame::new(&format!("Bill {}", bill.number), &session, "/billing/bills"),
        tenant_name: session.signed_in.place.clone(),
        bill,
    })
}
