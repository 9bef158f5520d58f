//! Settings > Notifications: which Message center kinds are also emailed to me, the pools'
//! "Alert when available licenses fall below" thresholds (admins who may set them), and who
//! gets what (Global admins). The domain decides who may see and change each part.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::errors::{is_for_the_form, status_of};
use super::forms::Form;
use super::frame::Frame;
use super::session::{TenantRequest, flash};
use super::{WebError, redirect};
use crate::domain::licenses::{self, PoolAlert};
use crate::domain::messages::Kind;
use crate::domain::notifications::{self, Choice, Recipient};
use crate::domain::{DomainError, ProductId};

const HERE: &str = "/settings/notifications";

/// A threshold refused: which pool, what was typed, and why.
pub struct AlertError {
    product: ProductId,
    typed: String,
    message: String,
}

#[derive(Template)]
#[template(path = "settings/notifications.html")]
pub struct NotificationsPage {
    frame: Frame,
    choices: Vec<Choice>,
    /// The pools and their thresholds; `None` when the actor may not set them.
    alerts: Option<Vec<PoolAlert>>,
    /// Who gets what; `None` unless the actor may see it.
    recipients: Option<Vec<Recipient>>,
    kinds: Vec<Kind>,
    choices_error: Option<String>,
    alert_error: Option<AlertError>,
}

impl NotificationsPage {
    /// What each kind is, beside its check box.
    fn describe(&self, kind: &Kind) -> &'static str {
        match kind {
            Kind::RenewalSoon => {
                "14 and 3 days before a subscription renews, with what it will charge."
            }
            Kind::CardExpiring => "A card that expires before the renewal it pays.",
            Kind::PaymentFailed => "A charge that was declined; the subscription is past due.",
            Kind::LicenseConflict => "More users have a product than there are licenses.",
            Kind::RequestReply => "Billing support answered one of your service requests.",
            Kind::LowLicenses => "A pool's available licenses fell below the alert you set.",
        }
    }

    fn alert_error_of(&self, product: &ProductId) -> Option<&AlertError> {
        self.alert_error.as_ref().filter(|e| e.product == *product)
    }

    /// What the "Alert below" field shows: what was typed if it was refused, else the saved one.
    fn alert_value(&self, alert: &PoolAlert) -> String {
        match self.alert_error_of(&alert.pool.product) {
            Some(e) => e.typed.clone(),
            None => alert.below.map(|n| n.to_string()).unwrap_or_default(),
        }
    }
}

async fn page(
    request: &TenantRequest,
    choices_error: Option<String>,
    alert_error: Option<AlertError>,
) -> Result<NotificationsPage, WebError> {
    let (choices, alerts, recipients) = request
        .db(|conn, actor, tenant, _| {
            let choices = notifications::choices(conn, actor, tenant)?;
            let alerts = match licenses::alerts(conn, actor, tenant) {
                Ok(alerts) => Some(alerts),
                Err(DomainError::Forbidden) => None,
                Err(e) => return Err(e),
            };
            let recipients = match notifications::recipients(conn, actor, tenant) {
                Ok(recipients) => Some(recipients),
                Err(DomainError::Forbidden) => None,
                Err(e) => return Err(e),
            };
            Ok((choices, alerts, recipients))
        })
        .await?;
    Ok(NotificationsPage {
        frame: Frame::new("Notifications", &request.session, HERE),
        choices,
        alerts,
        recipients,
        kinds: Kind::ALL.to_vec(),
        choices_error,
        alert_error,
    })
}

/// GET /settings/notifications
pub async fn show(request: TenantRequest) -> Result<HttpResponse, WebError> {
    let page = page(&request, None, None).await?;
    super::render(&page)
}

#[derive(Deserialize, Default)]
pub struct ChoicesForm {
    /// The kinds to email, by their stored names; those left out are not emailed.
    #[serde(default)]
    email: Vec<String>,
}

/// POST /settings/notifications: Save my email choices.
pub async fn choose(
    request: TenantRequest,
    form: Form<ChoicesForm>,
) -> Result<HttpResponse, WebError> {
    let sent = form.0.email;
    let result = request
        .db(move |conn, actor, tenant, now| {
            let kinds = sent
                .iter()
                .map(|k| {
                    k.parse::<Kind>().map_err(|_| {
                        DomainError::invalid("email", format!("Unknown kind of message '{k}'."))
                    })
                })
                .collect::<Result<Vec<Kind>, _>>()?;
            notifications::choose(conn, actor, now, tenant, &kinds)
        })
        .await;
    match result {
        Ok(choices) => {
            let emailed = choices.iter().filter(|c| c.email).count();
            flash(
                &request.session.session,
                match emailed {
                    0 => "Saved. No messages will be emailed to you.".to_owned(),
                    1 => "Saved. 1 kind of message will also be emailed to you.".to_owned(),
                    n => format!("Saved. {n} kinds of messages will also be emailed to you."),
                },
            );
            Ok(redirect(HERE))
        }
        Err(WebError::Domain(e)) if is_for_the_form(&e) => {
            let page = page(&request, Some(e.to_string()), None).await?;
            super::render_with(status_of(&e), &page)
        }
        Err(other) => Err(other),
    }
}

#[derive(Deserialize, Default)]
pub struct AlertForm {
    #[serde(default)]
    below: String,
}

/// POST /settings/notifications/alerts/{product}: Save a pool's "Alert below".
pub async fn set_alert(
    request: TenantRequest,
    path: web::Path<i64>,
    form: Form<AlertForm>,
) -> Result<HttpResponse, WebError> {
    let product = ProductId(path.into_inner());
    let typed = form.0.below;
    let text = typed.clone();
    let result = request
        .db(move |conn, actor, tenant, now| {
            let below = licenses::parse_alert_below(&text);
            // Who may not set it hears so before hearing what is wrong with the number.
            licenses::alert_below(conn, actor, tenant, product)?;
            let below = below?;
            licenses::set_alert(conn, actor, now, tenant, product, below)?;
            Ok(below)
        })
        .await;
    match result {
        Ok(below) => {
            flash(
                &request.session.session,
                match below {
                    Some(n) => format!("Saved. You'll be told when fewer than {n} are available."),
                    None => "Saved. There is no alert for this product.".to_owned(),
                },
            );
            Ok(redirect(&format!("{HERE}#alert-{}", product.0)))
        }
        Err(WebError::Domain(e)) if is_for_the_form(&e) => {
            let status = match status_of(&e) {
                s if s.is_client_error() => s,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            let error = AlertError {
                product,
                typed,
                message: e.to_string(),
            };
            let page = page(&request, None, Some(error)).await?;
            super::render_with(status, &page)
        }
        Err(other) => Err(other),
    }
}
