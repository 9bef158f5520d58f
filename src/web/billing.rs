//! Billing: Your products and a subscription's page (Buy licenses, Remove licenses, recurring
//! billing, Cancel subscription), buying a new subscription, Bills & payments, Payment methods,
//! and Export data.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::forms::Form;
use super::frame::Frame;
use super::session::{AdminSession, flash};
use super::{AppState, WebError, redirect};
use crate::domain::billing::{self, Bill, NewCard, PaymentMethod};
use crate::domain::licenses::{self, PoolSummary};
use crate::domain::subscriptions::{self, Cancelled, CatalogItem, RemovalPreview, SubscriptionRow};
use crate::domain::{DomainError, ProductId, SubscriptionId, users as user_store};

#[derive(Template)]
#[template(path = "billing/products.html")]
pub struct ProductsPage {
    frame: Frame,
    rows: Vec<SubscriptionRow>,
    conflicts: Vec<PoolSummary>,
}

/// The pools in conflict, for the banner with the four ways out.
pub(super) fn conflicts_of(pools: Vec<PoolSummary>) -> Vec<PoolSummary> {
    pools.into_iter().filter(|p| p.beyond() > 0).collect()
}

/// GET /billing/products
pub async fn products(
    session: AdminSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, WebError> {
    let tenant = session.tenant()?;
    let actor = session.actor().clone();
    let (rows, pools) = state
        .db(move |conn| {
            Ok((
                subscriptions::list(conn, &actor, tenant)?,
                licenses::pools(conn, &actor, tenant)?,
            ))
        })
        .await?;
    super::render(&ProductsPage {
        frame: Frame::new("Your products", &session, "/billing/products"),
        rows,
        conflicts: conflicts_of(pools),
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
    session: &AdminSession,
    state: &web::Data<AppState>,
    id: SubscriptionId,
    error: Option<String>,
) -> Result<SubscriptionPage, WebError> {
    let tenant = session.tenant()?;
    let actor = session.actor().clone();
    let sub = state
        .db(move |conn| subscriptions::get(conn, &actor, tenant, id))
        .await?;
    Ok(SubscriptionPage {
        frame: Frame::new(&sub.product_name, session, "/billing/products"),
        sub,
        error,
    })
}

/// GET /billing/subscriptions/{id}
pub async fn subscription(
    session: AdminSession,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, WebError> {
    let page = subscription_page(&session, &state, SubscriptionId(path.into_inner()), None).await?;
    super::render(&page)
}

/// Shows a change's error on the subscription's page, with its 4xx status.
async fn on_subscription_page(
    session: &AdminSession,
    state: &web::Data<AppState>,
    id: SubscriptionId,
    e: DomainError,
) -> Result<HttpResponse, WebError> {
    if !super::errors::is_for_the_form(&e) {
        return Err(e.into());
    }
    let page = subscription_page(session, state, id, Some(e.to_string())).await?;
    super::render_with(super::errors::status_of(&e), &page)
}

#[derive(Deserialize)]
pub struct QuantityForm {
    #[serde(default)]
    quantity: String,
    #[serde(default)]
    confirm: Option<String>,
}

fn quantity(text: &str) -> Result<i32, DomainError> {
    text.trim()
        .parse()
        .map_err(|_| DomainError::invalid("quantity", "Enter a number of licenses."))
}

/// POST /billing/subscriptions/{id}/buy: Buy licenses.
pub async fn buy(
    session: AdminSession,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: Form<QuantityForm>,
) -> Result<HttpResponse, WebError> {
    let tenant = session.tenant()?;
    let id = SubscriptionId(path.into_inner());
    let actor = session.actor().clone();
    let gateway = state.gateway.clone();
    let now = state.clock.now();
    let text = form.0.quantity;
    let result = state
        .db(move |conn| {
            let n = quantity(&text)?;
            subscriptions::buy_licenses(conn, &actor, gateway.as_ref(), now, tenant, id, n)
                .map(|bill| (n, bill))
        })
        .await;
    match result {
        Ok((n, bill)) => {
            flash(
                &session.session,
                format!(
                    "Bought {}. The charge is on bill {bill}.",
                    billing::count_of(n, "license")
                ),
            );
            Ok(redirect(&format!("/billing/subscriptions/{}", id.0)))
        }
        Err(WebError::Domain(e)) => on_subscription_page(&session, &state, id, e).await,
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "billing/remove.html")]
pub struct RemovePage {
    frame: Frame,
    sub_id: i64,
    licenses: i32,
    preview: RemovalPreview,
}

/// POST /billing/subscriptions/{id}/remove: Remove licenses; below the assigned count, first a
/// confirmation naming the users who would be beyond the count.
pub async fn remove(
    session: AdminSession,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: Form<QuantityForm>,
) -> Result<HttpResponse, WebError> {
    let tenant = session.tenant()?;
    let id = SubscriptionId(path.into_inner());
    let actor = session.actor().clone();
    let now = state.clock.now();
    let form = form.0;
    let confirmed = form.confirm.as_deref() == Some("yes");
    let text = form.quantity.clone();
    let result = state
        .db(move |conn| {
            let n = quantity(&text)?;
            let preview = subscriptions::preview_removal(conn, &actor, tenant, id, n)?;
            if !preview.beyond.is_empty() && !confirmed {
                return Ok((n, Some(preview)));
            }
            subscriptions::remove_licenses(conn, &actor, now, tenant, id, n, confirmed)?;
            Ok((n, None))
        })
        .await;
    match result {
        Ok((n, Some(preview))) => super::render(&RemovePage {
            frame: Frame::new("Remove licenses", &session, "/billing/products"),
            sub_id: id.0,
            licenses: n,
            preview,
        }),
        Ok((n, None)) => {
            flash(
                &session.session,
                format!("Removed {}.", billing::count_of(n, "license")),
            );
            Ok(redirect(&format!("/billing/subscriptions/{}", id.0)))
        }
        Err(WebError::Domain(e)) => on_subscription_page(&session, &state, id, e).await,
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct RecurringForm {
    on: String,
}

/// POST /billing/subscriptions/{id}/recurring: Turn off (or on) recurring billing.
pub async fn recurring(
    session: AdminSession,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: Form<RecurringForm>,
) -> Result<HttpResponse, WebError> {
    let tenant = session.tenant()?;
    let id = SubscriptionId(path.into_inner());
    let actor = session.actor().clone();
    let now = state.clock.now();
    let on = match form.0.on.as_str() {
        "yes" => true,
        "no" => false,
        _ => return Err(WebError::BadForm),
    };
    match state
        .db(move |conn| subscriptions::set_recurring_billing(conn, &actor, now, tenant, id, on))
        .await
    {
        Ok(()) => {
            flash(
                &session.session,
                if on {
                    "Recurring billing is on: the subscription renews at the end of its term."
                } else {
                    "Recurring billing is off: the subscription ends with its term."
                },
            );
            Ok(redirect(&format!("/billing/subscriptions/{}", id.0)))
        }
        Err(WebError::Domain(e)) => on_subscription_page(&session, &state, id, e).await,
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
    session: AdminSession,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, WebError> {
    let tenant = session.tenant()?;
    let id = SubscriptionId(path.into_inner());
    let actor = session.actor().clone();
    let now = state.clock.now();
    let (sub, window_ends) = state
        .db(move |conn| {
            crate::domain::authz::may(&actor, crate::domain::Action::ManageBilling, Some(tenant))?;
            let sub = subscriptions::get(conn, &actor, tenant, id)?;
            let ends = subscriptions::cancellation_window_ends(conn, tenant, id)?;
            Ok((sub, ends))
        })
        .await?;
    super::render(&CancelPage {
        frame: Frame::new("Cancel subscription", &session, "/billing/products"),
        in_window: now < window_ends,
        window_ends,
        sub,
    })
}

/// POST /billing/subscriptions/{id}/cancel
pub async fn cancel(
    session: AdminSession,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    _form: Form<super::NoFields>,
) -> Result<HttpResponse, WebError> {
    let tenant = session.tenant()?;
    let id = SubscriptionId(path.into_inner());
    let actor = session.actor().clone();
    let now = state.clock.now();
    match state
        .db(move |conn| subscriptions::cancel(conn, &actor, now, tenant, id))
        .await
    {
        Ok(Cancelled::Now { refund_cents, bill }) => {
            flash(
                &session.session,
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
                &session.session,
                format!(
                    "The cancellation window has passed, so recurring billing is now off: the subscription ends on {}.",
                    ends.format("%B %-d, %Y")
                ),
            );
            Ok(redirect(&format!("/billing/subscriptions/{}", id.0)))
        }
        Err(WebError::Domain(e)) => on_subscription_page(&session, &state, id, e).await,
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "billing/buy.html")]
pub struct BuyPage {
    frame: Frame,
    catalog: Vec<CatalogItem>,
    error: Option<String>,
}

async fn buy_page(
    session: &AdminSession,
    state: &web::Data<AppState>,
    error: Option<String>,
) -> Result<BuyPage, WebError> {
    let tenant = session.tenant()?;
    let actor = session.actor().clone();
    let catalog = state
        .db(move |conn| subscriptions::catalog(conn, &actor, tenant))
        .await?;
    Ok(BuyPage {
        frame: Frame::new("Buy a subscription", session, "/billing/products"),
        catalog,
        error,
    })
}

/// GET /billing/buy: the product catalog.
pub async fn buy_form(
    session: AdminSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, WebError> {
    let page = buy_page(&session, &state, None).await?;
    super::render(&page)
}

#[derive(Deserialize)]
pub struct SubscribeForm {
    product: i64,
    #[serde(default)]
    quantity: String,
    #[serde(default)]
    period: String,
}

/// POST /billing/buy
pub async fn subscribe(
    session: AdminSession,
    state: web::Data<AppState>,
    form: Form<SubscribeForm>,
) -> Result<HttpResponse, WebError> {
    let tenant = session.tenant()?;
    let actor = session.actor().clone();
    let gateway = state.gateway.clone();
    let now = state.clock.now();
    let form = form.0;
    let result = state
        .db(move |conn| {
            let n = quantity(&form.quantity)?;
            subscriptions::subscribe(
                conn,
                &actor,
                gateway.as_ref(),
                now,
                tenant,
                ProductId(form.product),
                n,
                form.period == "yearly",
            )
        })
        .await;
    match result {
        Ok(id) => {
            flash(
                &session.session,
                "Thanks for your purchase. The licenses are ready to assign.",
            );
            Ok(redirect(&format!("/billing/subscriptions/{}", id.0)))
        }
        Err(WebError::Domain(e)) if super::errors::is_for_the_form(&e) => {
            let page = buy_page(&session, &state, Some(e.to_string())).await?;
            super::render_with(super::errors::status_of(&e), &page)
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "billing/bills.html")]
pub struct BillsPage {
    frame: Frame,
    bills: Vec<Bill>,
}

/// GET /billing/bills: Bills & payments.
pub async fn bills(
    session: AdminSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, WebError> {
    let tenant = session.tenant()?;
    let actor = session.actor().clone();
    let bills = state
        .db(move |conn| billing::bills(conn, &actor, tenant))
        .await?;
    super::render(&BillsPage {
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
    session: AdminSession,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, WebError> {
    let tenant = session.tenant()?;
    let actor = session.actor().clone();
    let id = path.into_inner();
    let bill = state
        .db(move |conn| billing::bill(conn, &actor, tenant, id))
        .await?;
    super::render(&BillPage {
        frame: Frame::new(&format!("Bill {}", bill.number), &session, "/billing/bills"),
        tenant_name: session.signed_in.place.clone(),
        bill,
    })
}

#[derive(Template)]
#[template(path = "billing/payment_methods.html")]
pub struct PaymentMethodsPage {
    frame: Frame,
    methods: Vec<PaymentMethod>,
    error: Option<String>,
    holder: String,
}

async fn methods_page(
    session: &AdminSession,
    state: &web::Data<AppState>,
    error: Option<String>,
    holder: String,
) -> Result<PaymentMethodsPage, WebError> {
    let tenant = session.tenant()?;
    let actor = session.actor().clone();
    let methods = state
        .db(move |conn| billing::payment_methods(conn, &actor, tenant))
        .await?;
    Ok(PaymentMethodsPage {
        frame: Frame::new("Payment methods", session, "/billing/payment-methods"),
        methods,
        error,
        holder,
    })
}

/// GET /billing/payment-methods
pub async fn payment_methods(
    session: AdminSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, WebError> {
    let page = methods_page(&session, &state, None, String::new()).await?;
    super::render(&page)
}

/// Runs a card change, then retries what a failed payment left past due or disabled.
async fn card_change<F>(
    session: AdminSession,
    state: web::Data<AppState>,
    holder: String,
    done: &str,
    change: F,
) -> Result<HttpResponse, WebError>
where
    F: FnOnce(&mut crate::domain::DbConnection) -> Result<(), DomainError> + Send + 'static,
{
    let tenant = session.tenant()?;
    let actor = session.actor().clone();
    let gateway = state.gateway.clone();
    let now = state.clock.now();
    let result = state
        .db(move |conn| {
            change(conn)?;
            subscriptions::retry_after_card_update(conn, gateway.as_ref(), &actor, now, tenant)
        })
        .await;
    match result {
        Ok(renewed) => {
            let mut message = done.to_owned();
            if renewed > 0 {
                message.push_str(&format!(
                    " The payment went through: {} active again.",
                    if renewed == 1 {
                        "1 subscription is".to_owned()
                    } else {
                        format!("{renewed} subscriptions are")
                    }
                ));
            }
            flash(&session.session, message);
            Ok(redirect("/billing/payment-methods"))
        }
        Err(WebError::Domain(e)) if super::errors::is_for_the_form(&e) => {
            let page = methods_page(&session, &state, Some(e.to_string()), holder).await?;
            super::render_with(super::errors::status_of(&e), &page)
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct CardForm {
    #[serde(default)]
    holder: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    exp_month: String,
    #[serde(default)]
    exp_year: String,
    #[serde(default)]
    security_code: String,
    #[serde(default)]
    make_default: Option<String>,
}

/// POST /billing/payment-methods: Add a card.
pub async fn add_card(
    session: AdminSession,
    state: web::Data<AppState>,
    form: Form<CardForm>,
) -> Result<HttpResponse, WebError> {
    let tenant = session.tenant()?;
    let actor = session.actor().clone();
    let gateway = state.gateway.clone();
    let now = state.clock.now();
    let form = form.0;
    let holder = form.holder.clone();
    let card = NewCard {
        holder: form.holder,
        number: form.number,
        exp_month: form.exp_month,
        exp_year: form.exp_year,
        security_code: form.security_code,
    };
    let make_default = form.make_default.is_some();
    card_change(session, state, holder, "Added the card.", move |conn| {
        billing::add_card(
            conn,
            &actor,
            gateway.as_ref(),
            now,
            tenant,
            &card,
            make_default,
        )
        .map(|_| ())
    })
    .await
}

#[derive(Deserialize)]
pub struct ExpiryForm {
    #[serde(default)]
    exp_month: String,
    #[serde(default)]
    exp_year: String,
}

/// POST /billing/payment-methods/{id}/expiry: update the card's expiration date.
pub async fn update_expiry(
    session: AdminSession,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: Form<ExpiryForm>,
) -> Result<HttpResponse, WebError> {
    let tenant = session.tenant()?;
    let actor = session.actor().clone();
    let now = state.clock.now();
    let id = path.into_inner();
    let form = form.0;
    card_change(
        session,
        state,
        String::new(),
        "Updated the card.",
        move |conn| {
            billing::update_expiry(
                conn,
                &actor,
                now,
                tenant,
                id,
                &form.exp_month,
                &form.exp_year,
            )
        },
    )
    .await
}

/// POST /billing/payment-methods/{id}/default
pub async fn set_default(
    session: AdminSession,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    _form: Form<super::NoFields>,
) -> Result<HttpResponse, WebError> {
    let tenant = session.tenant()?;
    let actor = session.actor().clone();
    let now = state.clock.now();
    let id = path.into_inner();
    card_change(
        session,
        state,
        String::new(),
        "The card is now the default.",
        move |conn| billing::set_default(conn, &actor, now, tenant, id),
    )
    .await
}

/// POST /billing/payment-methods/{id}/remove
pub async fn remove_card(
    session: AdminSession,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    _form: Form<super::NoFields>,
) -> Result<HttpResponse, WebError> {
    let tenant = session.tenant()?;
    let actor = session.actor().clone();
    let now = state.clock.now();
    let id = path.into_inner();
    card_change(
        session,
        state,
        String::new(),
        "Removed the card.",
        move |conn| billing::remove_card(conn, &actor, now, tenant, id),
    )
    .await
}

/// GET /billing/export.{csv,json}: the organization's users and their licenses.
pub async fn export(
    session: AdminSession,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let tenant = session.tenant()?;
    let actor = session.actor().clone();
    let format = path.into_inner();
    if format != "csv" && format != "json" {
        return Err(DomainError::NotFound.into());
    }
    let now = state.clock.now();
    let rows = state
        .db(move |conn| user_store::export(conn, &actor, now, tenant))
        .await?;
    let (content_type, body) = if format == "csv" {
        let mut out = String::from("display_name,sign_in_name,state,licenses\r\n");
        for r in &rows {
            out.push_str(&format!(
                "{},{},{},{}\r\n",
                csv_field(&r.display_name),
                csv_field(&r.email),
                csv_field(&r.state),
                csv_field(&r.licenses.join("; "))
            ));
        }
        ("text/csv; charset=utf-8", out)
    } else {
        let json =
            serde_json::to_string_pretty(&rows).map_err(|e| WebError::Internal(e.to_string()))?;
        ("application/json", json)
    };
    Ok(HttpResponse::build(StatusCode::OK)
        .content_type(content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"users-and-licenses.{format}\""),
        ))
        .body(body))
}

/// A CSV field, quoted when needed; a leading = + - @ is defused so spreadsheets don't run it.
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}
