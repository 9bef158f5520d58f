//! Volume licensing pages: the partner's agreements (enter one, change the OSM, enter an
//! order), the tenant's Settings > Agreements (add a license reservation), and the OSM's
//! activation link.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::forms::Form;
use super::frame::Frame;
use super::session::{AdminRequest, AdminSession, TenantRequest, flash};
use super::{AppState, WebError, redirect};
use crate::domain::agreements::{
    self, ActivationPreview, AgreementView, Head, Item, NewAgreement, OrderKind, OrderLine, Program,
};
use crate::domain::{AgreementId, DomainError, ProductId};

/// The products an order form offers.
type Catalog = Vec<(ProductId, String)>;

#[derive(Template)]
#[template(path = "agreements/list.html")]
pub struct ListPage {
    frame: Frame,
    agreements: Vec<Head>,
    programs: [Program; 3],
    form: NewAgreementForm,
    error: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
pub struct NewAgreementForm {
    #[serde(default)]
    number: String,
    #[serde(default)]
    program: String,
    #[serde(default)]
    customer: String,
    #[serde(default)]
    osm_email: String,
    #[serde(default)]
    partner: String,
    #[serde(default)]
    starts_on: String,
}

async fn list_page(
    session: &AdminSession,
    state: &web::Data<AppState>,
    form: NewAgreementForm,
    error: Option<String>,
) -> Result<ListPage, WebError> {
    let actor = session.actor().clone();
    let agreements = state.db(move |conn| agreements::all(conn, &actor)).await?;
    Ok(ListPage {
        frame: Frame::new("Agreements", session, "/agreements"),
        agreements,
        programs: Program::ALL,
        form,
        error,
    })
}

/// GET /agreements: the partner's agreements and "Enter an agreement".
pub async fn list(
    session: AdminSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, WebError> {
    let form = NewAgreementForm {
        partner: "Northwind Licensing".into(),
        ..Default::default()
    };
    super::render(&list_page(&session, &state, form, None).await?)
}

/// POST /agreements
pub async fn create(
    AdminRequest {
        session,
        state,
        actor,
        now,
    }: AdminRequest,
    form: Form<NewAgreementForm>,
) -> Result<HttpResponse, WebError> {
    let sent = form.0.clone();
    let result = state
        .db(move |conn| {
            let starts_on = match sent.starts_on.trim() {
                "" => None,
                day => Some(
                    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(|_| {
                        DomainError::invalid("starts_on", "Enter the start date as YYYY-MM-DD.")
                    })?,
                ),
            };
            agreements::create(
                conn,
                &actor,
                now,
                &NewAgreement {
                    number: sent.number,
                    program: sent.program,
                    customer: sent.customer,
                    osm_email: sent.osm_email,
                    partner: sent.partner,
                    starts_on,
                },
            )
        })
        .await;
    match result {
        Ok(id) => {
            flash(
                &session.session,
                "The agreement is entered. Enter its first order.",
            );
            Ok(redirect(&format!("/agreements/{id}")))
        }
        Err(e) => {
            super::errors::show_again(e, |message, status| async move {
                let page = list_page(&session, &state, form.0, Some(message)).await?;
                super::render_with(status, &page)
            })
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "agreements/show.html")]
pub struct AgreementPage {
    frame: Frame,
    view: AgreementView,
    catalog: Catalog,
    /// The partner's page (orders of both kinds, the OSM) or the tenant's.
    partner: bool,
    error: Option<String>,
}

async fn agreement_page(
    session: &AdminSession,
    state: &web::Data<AppState>,
    id: AgreementId,
    error: Option<String>,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, WebError> {
    let actor = session.actor().clone();
    let now = state.clock.now();
    let (view, catalog) = state
        .db(move |conn| {
            Ok((
                agreements::get(conn, &actor, now, id)?,
                agreements::products_for_orders(conn)?,
            ))
        })
        .await?;
    let partner = session.permissions().manage_agreements;
    let current = if partner {
        "/agreements"
    } else {
        "/settings/agreements"
    };
    super::render_with(
        status,
        &AgreementPage {
            frame: Frame::new(&format!("Agreement {}", view.head.number), session, current),
            view,
            catalog,
            partner,
            error,
        },
    )
}

/// GET /agreements/{id}
pub async fn show(
    session: AdminSession,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<HttpResponse, WebError> {
    agreement_page(
        &session,
        &state,
        AgreementId(path.into_inner()),
        None,
        actix_web::http::StatusCode::OK,
    )
    .await
}

async fn after_change(
    session: &AdminSession,
    state: &web::Data<AppState>,
    id: AgreementId,
    result: Result<(), WebError>,
    done: &str,
) -> Result<HttpResponse, WebError> {
    let back = format!("/agreements/{id}");
    super::errors::back_or_again(&session.session, result, done, &back, |message, status| {
        agreement_page(session, state, id, Some(message), status)
    })
    .await
}

#[derive(Deserialize)]
pub struct OsmForm {
    #[serde(default)]
    osm_email: String,
}

/// POST /agreements/{id}/osm: the partner changes the OSM.
pub async fn change_osm(
    AdminRequest {
        session,
        state,
        actor,
        now,
    }: AdminRequest,
    path: web::Path<i64>,
    form: Form<OsmForm>,
) -> Result<HttpResponse, WebError> {
    let id = AgreementId(path.into_inner());
    let email = form.0.osm_email;
    let result = state
        .db(move |conn| agreements::change_osm(conn, &actor, now, id, &email))
        .await;
    after_change(&session, &state, id, result, "The OSM is changed.").await
}

/// An order form: its kind and, per product, a quantity of licenses and of each add-on
/// (`licenses_<product>`, `production_instances_<product>`, `storage_gb_<product>`).
type OrderForm = std::collections::HashMap<String, String>;

fn lines_of(form: &OrderForm) -> Result<Vec<OrderLine>, DomainError> {
    let mut lines = Vec::new();
    for (key, value) in form {
        for item in Item::ALL {
            if let Some(product) = key.strip_prefix(&format!("{}_", item.as_str())) {
                let product: i64 = product
                    .parse()
                    .map_err(|_| DomainError::invalid("lines", "Unknown product."))?;
                if let Some(line) = agreements::line(ProductId(product), item.as_str(), value)? {
                    lines.push(line);
                }
            }
        }
    }
    lines.sort_by_key(|l| (l.product, l.item));
    Ok(lines)
}

/// POST /agreements/{id}/orders: a purchase order or a license reservation.
pub async fn enter_order(
    AdminRequest {
        session,
        state,
        actor,
        now,
    }: AdminRequest,
    path: web::Path<i64>,
    form: Form<OrderForm>,
) -> Result<HttpResponse, WebError> {
    let id = AgreementId(path.into_inner());
    let delay = state.purchase_order_delay;
    let form = form.0;
    let kind_text = form.get("kind").cloned().unwrap_or_default();
    let result = state
        .db(move |conn| {
            let kind = OrderKind::parse(&kind_text)?;
            let lines = lines_of(&form)?;
            agreements::enter_order(conn, &actor, now, id, kind, &lines, delay).map(|_| kind)
        })
        .await;
    let done = match &result {
        Ok(OrderKind::Reservation) => {
            "The license reservation is added: its licenses are available now and billed at the next true-up."
        }
        _ => "The purchase order is entered. It is provisioned within 12 hours.",
    };
    after_change(&session, &state, id, result.map(|_| ()), done).await
}

#[derive(Template)]
#[template(path = "agreements/tenant.html")]
pub struct TenantPage {
    frame: Frame,
    agreements: Vec<AgreementView>,
    can_reserve: bool,
}

/// GET /settings/agreements: the tenant's agreements.
pub async fn for_tenant(
    TenantRequest {
        session,
        state,
        actor,
        tenant,
        now,
    }: TenantRequest,
) -> Result<HttpResponse, WebError> {
    let agreements = state
        .db(move |conn| agreements::for_tenant(conn, &actor, now, tenant))
        .await?;
    super::render(&TenantPage {
        frame: Frame::new("Agreements", &session, "/settings/agreements"),
        can_reserve: session.permissions().reserve_licenses,
        agreements,
    })
}

#[derive(Template)]
#[template(path = "agreements/activate.html")]
pub struct ActivatePage {
    frame: Frame,
    token: String,
    preview: ActivationPreview,
    /// After attaching: the confirmation.
    done: bool,
}

/// GET /agreements/activate/{token}: the OSM's link. Signed out, it goes to sign-in and back.
pub async fn activate_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    use actix_web::FromRequest;
    let token = path.into_inner();
    let Ok(session) = AdminSession::extract(&req).await else {
        let next = format!("/agreements/activate/{token}");
        let query = serde_html_form::to_string([("next", next.as_str())])
            .map_err(|e| WebError::Internal(e.to_string()))?;
        return Ok(redirect(&format!("/signin?{query}")));
    };
    let actor = session.actor().clone();
    let now = state.clock.now();
    let sent = token.clone();
    let preview = state
        .db(move |conn| agreements::preview_activation(conn, &actor, now, &sent))
        .await?;
    super::render(&ActivatePage {
        frame: Frame::new("Activate agreement", &session, "/settings/agreements"),
        token,
        preview,
        done: false,
    })
}

/// POST /agreements/activate/{token}: attaches the agreement's licenses to the admin's
/// organization and shows what happened.
pub async fn activate(
    AdminRequest {
        session,
        state,
        actor,
        now,
    }: AdminRequest,
    path: web::Path<String>,
    _form: Form<super::NoFields>,
) -> Result<HttpResponse, WebError> {
    let token = path.into_inner();
    let sent = token.clone();
    let preview = state
        .db(move |conn| agreements::activate(conn, &actor, now, &sent))
        .await?;
    super::render(&ActivatePage {
        frame: Frame::new("Agreement attached", &session, "/settings/agreements"),
        token,
        preview,
        done: true,
    })
}
