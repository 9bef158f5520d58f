use super::*;

#[derive(Template)]
#[template(path = "billing/bills.html")]
pub struct BillsPage {
    frame: Frame,
    bills: Vec<Bill>,
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
) -> Result<HttpResponse, WebError> {
    let bills = state
        .db(move |conn| billing::bills(conn, &actor, tenant))
        .await?;
    crate::web::render(&BillsPage {
        frame: Frame::new("Bills & payments", &session, "/billing/bills"),
        bills,
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
