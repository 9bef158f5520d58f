use super::*;
use crate::domain::subscriptions::BillingPeriod;

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
        .db(move |conn| crate::domain::subscriptions::catalog(conn, &actor, tenant))
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
    crate::web::render(&page)
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
            let period = BillingPeriod::parse(&form.period)?;
            crate::domain::subscriptions::subscribe(
                conn,
                &actor,
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
                &session.session,
                "Thanks for your purchase. The licenses are ready to assign.",
            );
            Ok(redirect(&format!("/billing/subscriptions/{}", id.0)))
        }
        Err(WebError::Domain(e)) if crate::web::errors::is_for_the_form(&e) => {
            let page = buy_page(&session, &state, Some(e.to_string())).await?;
            crate::web::render_with(crate::web::errors::status_of(&e), &page)
        }
        Err(e) => Err(e),
    }
}
