use super::*;
use crate::domain::subscriptions::BillingPeriod;

#[derive(Template)]
#[template(path = "billing/buy.html")]
pub struct BuyPage {
    frame: Frame,
    catalog: Vec<CatalogItem>,
    error: Option<String>,
}

async fn buy_page(request: &TenantRequest, error: Option<String>) -> Result<BuyPage, WebError> {
    let catalog = request
        .db(move |conn, actor, tenant, _| {
            crate::domain::subscriptions::catalog(conn, actor, tenant)
        })
        .await?;
    Ok(BuyPage {
        frame: Frame::new("Buy a subscription", &request.session, "/billing/products"),
        catalog,
        error,
    })
}

/// GET /billing/buy: the product catalog.
pub async fn buy_form(request: TenantRequest) -> Result<HttpResponse, WebError> {
    let page = buy_page(&request, None).await?;
    crate::web::render(&page)
}

#[derive(Deserialize)]
pub struct SubscribeForm {
    product: i64,
    #[serde(default)]
    quantity: String,
    #[serde(default)]
    period: String,
    #[serde(default)]
    confirm: Option<String>,
}

/// POST /billing/buy
pub async fn subscribe(
    request: TenantRequest,
    form: Form<SubscribeForm>,
) -> Result<HttpResponse, WebError> {
    let gateway = request.state.gateway.clone();
    let form = form.0;
    if form.confirm.as_deref() != Some("yes") {
        let (product, text, period) = (form.product, form.quantity.clone(), form.period.clone());
        let reviewed = request
            .db(move |conn, actor, tenant, now| {
                let n = quantity(&text)?;
                let period = BillingPeriod::parse(&period)?;
                crate::domain::subscriptions::review_subscription(
                    conn,
                    actor,
                    now,
                    tenant,
                    ProductId(product),
                    n,
                    period,
                )
            })
            .await;
        return match reviewed {
            Ok(review) => {
                let fields = vec![
                    ("product", form.product.to_string()),
                    ("quantity", review.licenses.to_string()),
                    ("period", form.period.trim().to_owned()),
                ];
                crate::web::render(&ReviewPage::new(
                    &request,
                    Reviewing::Subscribe,
                    review,
                    "/billing/buy".to_owned(),
                    fields,
                    "/billing/buy".to_owned(),
                ))
            }
            Err(WebError::Domain(e)) if crate::web::errors::is_for_the_form(&e) => {
                let page = buy_page(&request, Some(e.to_string())).await?;
                crate::web::render_with(crate::web::errors::status_of(&e), &page)
            }
            Err(e) => Err(e),
        };
    }
    let result = request
        .db(move |conn, actor, tenant, now| {
            let n = quantity(&form.quantity)?;
            let period = BillingPeriod::parse(&form.period)?;
            crate::domain::subscriptions::subscribe(
                conn,
                actor,
                gateway.as_ref(),
                now,
                tenant,
                ProductId(form.product),
                n,
                period,
            )
        })
        .await;
    match result {
        Ok(id) => {
            flash(
                &request.session.session,
                "Thanks for your purchase. The licenses are ready to assign.",
            );
            Ok(redirect(&format!("/billing/subscriptions/{}", id.0)))
        }
        Err(WebError::Domain(e)) if crate::web::errors::is_for_the_form(&e) => {
            let page = buy_page(&request, Some(e.to_string())).await?;
            crate::web::render_with(crate::web::errors::status_of(&e), &page)
        }
        Err(e) => Err(e),
    }
}
