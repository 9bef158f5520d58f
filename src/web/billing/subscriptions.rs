use super::*;
use crate::domain::subscriptions::SubscriptionSort;
use crate::web::sorting::{SortHeader, SortOrder, SortQuery, total};

#[derive(Template)]
#[template(path = "billing/products.html")]
pub struct ProductsPage {
    frame: Frame,
    rows: Vec<SubscriptionRow>,
    /// "3 subscriptions".
    total: String,
    /// Product, Licenses, Status, Next renewal.
    headers: [SortHeader; 4],
    conflicts: Vec<PoolSummary>,
}

/// GET /billing/products
pub async fn products(
    TenantRequest {
        session,
        state,
        actor,
        tenant,
        ..
    }: TenantRequest,
    query: crate::web::forms::Query<SortQuery>,
) -> Result<HttpResponse, WebError> {
    let order = SortOrder::resolve(
        &query.0,
        &["product", "licenses", "state", "renewal"],
        false,
    );
    let sort = match order.column {
        "licenses" => SubscriptionSort::Licenses,
        "state" => SubscriptionSort::State,
        "renewal" => SubscriptionSort::Renewal,
        _ => SubscriptionSort::Product,
    };
    let descending = order.descending;
    let (rows, pools) = state
        .db(move |conn| {
            Ok((
                crate::domain::subscriptions::list_sorted(conn, &actor, tenant, sort, descending)?,
                licenses::pools(conn, &actor, tenant)?,
            ))
        })
        .await?;
    let path = "/billing/products";
    crate::web::render(&ProductsPage {
        frame: Frame::new("Your products", &session, path),
        total: total(rows.len() as i64, "subscription", "subscriptions"),
        headers: [
            order.header(path, &[], "product", "Product"),
            order.header(path, &[], "licenses", "Licenses"),
            order.header(path, &[], "state", "Status"),
            order.header(path, &[], "renewal", "Next renewal"),
        ],
        rows,
        conflicts: PoolSummary::conflicts(&pools),
    })
}

#[derive(Template)]
#[template(path = "billing/subscription.html")]
pub struct SubscriptionPage {
    frame: Frame,
    sub: SubscriptionRow,
    error: Option<String>,
}

async fn subscription_page(
    request: &TenantRequest,
    id: SubscriptionId,
    error: Option<String>,
) -> Result<SubscriptionPage, WebError> {
    let sub = request
        .db(move |conn, actor, tenant, _| {
            crate::domain::subscriptions::get(conn, actor, tenant, id)
        })
        .await?;
    Ok(SubscriptionPage {
        frame: Frame::new(&sub.product_name, &request.session, "/billing/products"),
        sub,
        error,
    })
}

/// GET /billing/subscriptions/{id}
pub async fn subscription(
    request: TenantRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, WebError> {
    let page = subscription_page(&request, SubscriptionId(path.into_inner()), None).await?;
    crate::web::render(&page)
}

/// Shows a change's error on the subscription's page, with its 4xx status.
async fn on_subscription_page(
    request: &TenantRequest,
    id: SubscriptionId,
    e: DomainError,
) -> Result<HttpResponse, WebError> {
    if !crate::web::errors::is_for_the_form(&e) {
        return Err(e.into());
    }
    let page = subscription_page(request, id, Some(e.to_string())).await?;
    crate::web::render_with(crate::web::errors::status_of(&e), &page)
}

#[derive(Deserialize)]
pub struct QuantityForm {
    #[serde(default)]
    quantity: String,
    #[serde(default)]
    confirm: Option<String>,
}

pub(super) fn quantity(text: &str) -> Result<i32, DomainError> {
    text.trim()
        .parse()
        .map_err(|_| DomainError::invalid("quantity", "Enter a number of licenses."))
}

/// POST /billing/subscriptions/{id}/buy: Buy licenses.
pub async fn buy(
    request: TenantRequest,
    path: web::Path<i64>,
    form: Form<QuantityForm>,
) -> Result<HttpResponse, WebError> {
    let id = SubscriptionId(path.into_inner());
    let gateway = request.state.gateway.clone();
    let form = form.0;
    if form.confirm.as_deref() != Some("yes") {
        let text = form.quantity;
        let reviewed = request
            .db(move |conn, actor, tenant, now| {
                let n = quantity(&text)?;
                crate::domain::subscriptions::review_purchase(conn, actor, now, tenant, id, n)
            })
            .await;
        return review_or_refuse(&request, id, Reviewing::BuyLicenses, "buy", reviewed).await;
    }
    let text = form.quantity;
    let result = request
        .db(move |conn, actor, tenant, now| {
            let n = quantity(&text)?;
            crate::domain::subscriptions::buy_licenses(
                conn,
                actor,
                gateway.as_ref(),
                now,
                tenant,
                id,
                n,
            )
            .map(|bill| (n, bill))
        })
        .await;
    match result {
        Ok((n, bill)) => {
            flash(
                &request.session.session,
                format!(
                    "Bought {}. The charge is on bill {bill}.",
                    billing::count_of(n, "license")
                ),
            );
            Ok(redirect(&format!("/billing/subscriptions/{}", id.0)))
        }
        Err(WebError::Domain(e)) => on_subscription_page(&request, id, e).await,
        Err(e) => Err(e),
    }
}

/// Shows the review of a change to the subscription, or its refusal on the subscription's page.
async fn review_or_refuse(
    request: &TenantRequest,
    id: SubscriptionId,
    reviewing: Reviewing,
    verb: &str,
    reviewed: Result<Review, WebError>,
) -> Result<HttpResponse, WebError> {
    match reviewed {
        Ok(review) => {
            let fields = vec![("quantity", review.licenses.to_string())];
            crate::web::render(&ReviewPage::new(
                request,
                reviewing,
                review,
                format!("/billing/subscriptions/{}/{verb}", id.0),
                fields,
                format!("/billing/subscriptions/{}", id.0),
            ))
        }
        Err(WebError::Domain(e)) => on_subscription_page(request, id, e).await,
        Err(e) => Err(e),
    }
}

/// POST /billing/subscriptions/{id}/remove: Remove licenses, after a review of the credit, the
/// renewal and the users it would leave beyond the count.
pub async fn remove(
    request: TenantRequest,
    path: web::Path<i64>,
    form: Form<QuantityForm>,
) -> Result<HttpResponse, WebError> {
    let id = SubscriptionId(path.into_inner());
    let form = form.0;
    let text = form.quantity.clone();
    if form.confirm.as_deref() != Some("yes") {
        let reviewed = request
            .db(move |conn, actor, tenant, now| {
                let n = quantity(&text)?;
                crate::domain::subscriptions::review_removal(conn, actor, now, tenant, id, n)
            })
            .await;
        return review_or_refuse(&request, id, Reviewing::RemoveLicenses, "remove", reviewed).await;
    }
    // Confirmed on the review, which named any users beyond the count.
    let result = request
        .db(move |conn, actor, tenant, now| {
            let n = quantity(&text)?;
            crate::domain::subscriptions::remove_licenses(conn, actor, now, tenant, id, n, true)?;
            Ok(n)
        })
        .await;
    match result {
        Ok(n) => {
            flash(
                &request.session.session,
                format!("Removed {}.", billing::count_of(n, "license")),
            );
            Ok(redirect(&format!("/billing/subscriptions/{}", id.0)))
        }
        Err(WebError::Domain(e)) => on_subscription_page(&request, id, e).await,
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct RecurringForm {
    on: String,
}

/// POST /billing/subscriptions/{id}/recurring: Turn off (or on) recurring billing.
pub async fn recurring(
    request: TenantRequest,
    path: web::Path<i64>,
    form: Form<RecurringForm>,
) -> Result<HttpResponse, WebError> {
    let id = SubscriptionId(path.into_inner());
    let on = match form.0.on.as_str() {
        "yes" => true,
        "no" => false,
        _ => return Err(WebError::BadForm),
    };
    match request
        .db(move |conn, actor, tenant, now| {
            crate::domain::subscriptions::set_recurring_billing(conn, actor, now, tenant, id, on)
        })
        .await
    {
        Ok(()) => {
            flash(
                &request.session.session,
                if on {
                    "Recurring billing is on: the subscription renews at the end of its term."
                } else {
                    "Recurring billing is off: the subscription ends with its term."
                },
            );
            Ok(redirect(&format!("/billing/subscriptions/{}", id.0)))
        }
        Err(WebError::Domain(e)) => on_subscription_page(&request, id, e).await,
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "billing/cancel.html")]
pub struct CancelPage {
    frame: Frame,
    sub: SubscriptionRow,
    window_ends: chrono::DateTime<chrono::Utc>,
    in_window: bool,
}

/// GET /billing/subscriptions/{id}/cancel: warns to save the data first, offers the export,
/// and says what cancelling will do now.
pub async fn cancel_form(
    TenantRequest {
        session,
        state,
        actor,
        tenant,
        now,
    }: TenantRequest,
    path: web::Path<i64>,
) -> Result<HttpResponse, WebError> {
    let id = SubscriptionId(path.into_inner());
    let preview = state
        .db(move |conn| crate::domain::subscriptions::preview_cancel(conn, &actor, now, tenant, id))
        .await?;
    crate::web::render(&CancelPage {
        frame: Frame::new("Cancel subscription", &session, "/billing/products"),
        in_window: preview.in_window,
        window_ends: preview.window_ends,
        sub: preview.sub,
    })
}

/// POST /billing/subscriptions/{id}/cancel
pub async fn cancel(
    request: TenantRequest,
    path: web::Path<i64>,
    _form: Form<crate::web::NoFields>,
) -> Result<HttpResponse, WebError> {
    let id = SubscriptionId(path.into_inner());
    match request
        .db(move |conn, actor, tenant, now| {
            crate::domain::subscriptions::cancel(conn, actor, now, tenant, id)
        })
        .await
    {
        Ok(Cancelled::Now { refund_cents, bill }) => {
            flash(
                &request.session.session,
                match bill {
                    Some(bill) => format!(
                        "The subscription is cancelled. A refund of {} is on bill {bill}.",
                        billing::format_money(refund_cents)
                    ),
                    None => "The subscription is cancelled.".to_owned(),
                },
            );
            Ok(redirect("/billing/products"))
        }
        Ok(Cancelled::AtTermEnd { ends }) => {
            flash(
                &request.session.session,
                format!(
                    "The cancellation window has passed, so recurring billing is now off: the subscription ends on {}.",
                    ends.format("%B %-d, %Y")
                ),
            );
            Ok(redirect(&format!("/billing/subscriptions/{}", id.0)))
        }
        Err(WebError::Domain(e)) => on_subscription_page(&request, id, e).await,
        Err(e) => Err(e),
    }
}
