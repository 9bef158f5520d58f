use super::*;
use crate::web::sorting::{SortHeader, SortOrder, SortQuery, total};

#[derive(Template)]
#[template(path = "billing/payment_methods.html")]
pub struct PaymentMethodsPage {
    frame: Frame,
    methods: Vec<PaymentMethod>,
    /// "2 cards".
    total: String,
    headers: [SortHeader; 3],
    error: Option<String>,
    holder: String,
}

async fn methods_page(
    request: &TenantRequest,
    query: &SortQuery,
    error: Option<String>,
    holder: String,
) -> Result<PaymentMethodsPage, WebError> {
    // "added" is the page's own order (the default card first); it has no link of its own.
    let order = SortOrder::resolve(query, &["added", "card", "expires", "holder"], false);
    let sort = match order.column {
        "card" => billing::CardSort::Card,
        "expires" => billing::CardSort::Expires,
        "holder" => billing::CardSort::Holder,
        _ => billing::CardSort::Added,
    };
    let descending = order.descending;
    let methods = request
        .db(move |conn, actor, tenant, _| {
            billing::payment_methods_sorted(conn, actor, tenant, sort, descending)
        })
        .await?;
    let path = "/billing/payment-methods";
    Ok(PaymentMethodsPage {
        frame: Frame::new("Payment methods", &request.session, path),
        total: total(methods.len() as i64, "card", "cards"),
        headers: [
            order.header(path, &[], "card", "Card"),
            order.header(path, &[], "expires", "Expires"),
            order.header(path, &[], "holder", "Name on card"),
        ],
        methods,
        error,
        holder,
    })
}

/// GET /billing/payment-methods
pub async fn payment_methods(
    request: TenantRequest,
    query: crate::web::forms::Query<SortQuery>,
) -> Result<HttpResponse, WebError> {
    let page = methods_page(&request, &query.0, None, String::new()).await?;
    crate::web::render(&page)
}

/// Makes a card change (one domain call, which also retries what a failed payment left past
/// due or disabled), then says what came back; a refused change shows the form again.
async fn card_change(
    request: TenantRequest,
    holder: String,
    done: &str,
    change: Result<CardChange, DomainError>,
) -> Result<HttpResponse, WebError> {
    let result = match change {
        Ok(change) => {
            let gateway = request.state.gateway.clone();
            request
                .db(move |conn, actor, tenant, now| {
                    billing::change_card(conn, actor, gateway.as_ref(), now, tenant, change)
                })
                .await
        }
        Err(e) => Err(e.into()),
    };
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
            flash(&request.session.session, message);
            Ok(redirect("/billing/payment-methods"))
        }
        Err(WebError::Domain(e)) if crate::web::errors::is_for_the_form(&e) => {
            let page =
                methods_page(&request, &SortQuery::default(), Some(e.to_string()), holder).await?;
            crate::web::render_with(crate::web::errors::status_of(&e), &page)
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
    request: TenantRequest,
    form: Form<CardForm>,
) -> Result<HttpResponse, WebError> {
    let form = form.0;
    let holder = form.holder.clone();
    let change = crate::web::forms::check_box("make_default", form.make_default.as_deref()).map(
        |make_default| CardChange::Add {
            card: NewCard {
                holder: form.holder,
                number: form.number,
                exp_month: form.exp_month,
                exp_year: form.exp_year,
                security_code: form.security_code,
            },
            make_default,
        },
    );
    card_change(request, holder, "Added the card.", change).await
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
    request: TenantRequest,
    path: web::Path<i64>,
    form: Form<ExpiryForm>,
) -> Result<HttpResponse, WebError> {
    let change = CardChange::Expiry {
        method: PaymentMethodId(path.into_inner()),
        month: form.0.exp_month,
        year: form.0.exp_year,
    };
    card_change(request, String::new(), "Updated the card.", Ok(change)).await
}

/// POST /billing/payment-methods/{id}/default
pub async fn set_default(
    request: TenantRequest,
    path: web::Path<i64>,
    _form: Form<crate::web::NoFields>,
) -> Result<HttpResponse, WebError> {
    let change = CardChange::Default(PaymentMethodId(path.into_inner()));
    card_change(
        request,
        String::new(),
        "The card is now the default.",
        Ok(change),
    )
    .await
}

/// POST /billing/payment-methods/{id}/remove
pub async fn remove_card(
    request: TenantRequest,
    path: web::Path<i64>,
    _form: Form<crate::web::NoFields>,
) -> Result<HttpResponse, WebError> {
    let change = CardChange::Remove(PaymentMethodId(path.into_inner()));
    card_change(request, String::new(), "Removed the card.", Ok(change)).await
}
