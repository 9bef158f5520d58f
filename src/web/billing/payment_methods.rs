use super::*;

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
    crate::web::render(&page)
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
            crate::domain::subscriptions::retry_after_card_update(
                conn,
                gateway.as_ref(),
                &actor,
                now,
                tenant,
            )
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
        Err(WebError::Domain(e)) if crate::web::errors::is_for_the_form(&e) => {
            let page = methods_page(&session, &state, Some(e.to_string()), holder).await?;
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
    let make_default = form.make_default;
    card_change(session, state, holder, "Added the card.", move |conn| {
        let make_default = crate::web::forms::check_box("make_default", make_default.as_deref())?;
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
    let id = PaymentMethodId(path.into_inner());
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
    _form: Form<crate::web::NoFields>,
) -> Result<HttpResponse, WebError> {
    let tenant = session.tenant()?;
    let actor = session.actor().clone();
    let now = state.clock.now();
    let id = PaymentMethodId(path.into_inner());
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
    _form: Form<crate::web::NoFields>,
) -> Result<HttpResponse, WebError> {
    let tenant = session.tenant()?;
    let actor = session.actor().clone();
    let now = state.clock.now();
    let id = PaymentMethodId(path.into_inner());
    card_change(
        session,
        state,
        String::new(),
        "Removed the card.",
        move |conn| billing::remove_card(conn, &actor, now, tenant, id),
    )
    .await
}
