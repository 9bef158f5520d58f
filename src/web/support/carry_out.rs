//! Carrying out what a request asks for: cancel, add or remove licenses, resend, remap.

use super::*;

#[derive(Deserialize)]
pub struct CancelForm {
    #[serde(default)]
    when: String,
}

/// POST /support/requests/{id}/cancel-subscription
pub async fn cancel_subscription(
    session: AdminSession,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: Form<CancelForm>,
) -> Result<HttpResponse, WebError> {
    let when = match form.0.when.as_str() {
        "now" => CancelWhen::Now,
        "term_end" => CancelWhen::AtTermEnd,
        _ => return Err(WebError::BadForm),
    };
    carry_out(session, state, request_id(path), Work::Cancel(when)).await
}

#[derive(Deserialize)]
pub struct LicensesForm {
    #[serde(default)]
    quantity: String,
    #[serde(default)]
    confirm: Option<String>,
}

pub(super) fn licenses_of(text: &str) -> Result<i32, DomainError> {
    text.trim()
        .parse()
        .map_err(|_| DomainError::invalid("quantity", "Enter a number of licenses."))
}

/// POST /support/requests/{id}/add-licenses
pub async fn add_licenses(
    session: AdminSession,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: Form<LicensesForm>,
) -> Result<HttpResponse, WebError> {
    match licenses_of(&form.0.quantity) {
        Ok(n) => carry_out(session, state, request_id(path), Work::AddLicenses(n)).await,
        Err(e) => {
            let id = request_id(path);
            after_change(&session, &state, id, Err(e.into()), "").await
        }
    }
}

/// POST /support/requests/{id}/remove-licenses: below the assigned count, first the page
/// again naming the users who would be beyond it, to confirm.
pub async fn remove_licenses(
    session: AdminSession,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: Form<LicensesForm>,
) -> Result<HttpResponse, WebError> {
    let id = request_id(path);
    let confirmed = form.0.confirm.as_deref() == Some("yes");
    let n = match licenses_of(&form.0.quantity) {
        Ok(n) => n,
        Err(e) => return after_change(&session, &state, id, Err(e.into()), "").await,
    };
    if !confirmed {
        let actor = session.actor().clone();
        let preview = state
            .db(move |conn| requests::preview_removal(conn, &actor, id, n))
            .await;
        match preview {
            Ok(preview) if !preview.beyond.is_empty() => {
                return request_page(
                    &session,
                    &state,
                    id,
                    None,
                    StatusCode::OK,
                    Some((n, preview)),
                )
                .await;
            }
            Ok(_) => {}
            Err(e) => return after_change(&session, &state, id, Err(e), "").await,
        }
    }
    carry_out(
        session,
        state,
        id,
        Work::RemoveLicenses {
            licenses: n,
            accept_conflict: confirmed,
        },
    )
    .await
}

#[derive(Deserialize)]
pub struct ResendForm {
    #[serde(default)]
    to: String,
}

/// POST /support/requests/{id}/resend-activation: only ever to the OSM on file.
pub async fn resend_activation(
    session: AdminSession,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    form: Form<ResendForm>,
) -> Result<HttpResponse, WebError> {
    let to = Some(form.0.to.trim().to_owned()).filter(|t| !t.is_empty());
    carry_out(
        session,
        state,
        request_id(path),
        Work::ResendActivation { to },
    )
    .await
}

/// POST /support/requests/{id}/remap
pub async fn remap(
    session: AdminSession,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    _form: Form<crate::web::NoFields>,
) -> Result<HttpResponse, WebError> {
    carry_out(session, state, request_id(path), Work::Remap).await
}

pub(super) async fn carry_out(
    session: AdminSession,
    state: web::Data<AppState>,
    id: ServiceRequestId,
    work: Work,
) -> Result<HttpResponse, WebError> {
    let actor = session.actor().clone();
    let gateway = state.gateway.clone();
    let now = state.clock.now();
    let result = state
        .db(move |conn| requests::carry_out(conn, &actor, gateway.as_ref(), now, id, work))
        .await;
    match result {
        Ok(done) => {
            flash(&session.session, done_message(&done));
            Ok(redirect(&format!("/support/requests/{id}")))
        }
        Err(e) => after_change(&session, &state, id, Err(e), "").await,
    }
}

pub(super) fn done_message(done: &Done) -> String {
    match done {
        Done::Cancelled(Cancelled::Now {
            refund_cents,
            bill: Some(bill),
        }) => format!(
            "The subscription is cancelled. A refund of {} is on bill {bill}.",
            billing::format_money(*refund_cents)
        ),
        Done::Cancelled(Cancelled::Now { bill: None, .. }) => {
            "The subscription is cancelled, with no refund.".to_owned()
        }
        Done::Cancelled(Cancelled::AtTermEnd { ends }) => format!(
            "Recurring billing is off: the subscription ends on {}.",
            ends.format("%B %-d, %Y")
        ),
        Done::Added { licenses, bill } => format!(
            "Added {}. The charge is on bill {bill}.",
            billing::count_of(*licenses, "license")
        ),
        Done::Resent { to } => format!("The activation email is on its way to the OSM, {to}."),
        Done::Remapped(preview) => format!(
            "Agreement {} is remapped from {} to {}.",
            preview.number, preview.from, preview.to
        ),
        Done::Removed { licenses, beyond } => format!(
            "Removed {}; {} beyond the count.",
            billing::count_of(*licenses, "license"),
            billing::count_of(*beyond as i64, "user")
        ),
    }
}
