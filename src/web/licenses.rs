//! Billing > Licenses: one row per product; a product's page with its assigned users,
//! Unassign licenses and Assign licenses; self-service purchases and Take over.
//!
//! A little over 500 lines: the product page and its Unassign (one user, the selected, or every
//! match of its search) read together here; Take over and the self-service pages are the next to
//! move out (`licenses/take_over.rs`) when it grows again.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::forms::{Form, Query};
use super::frame::Frame;
use super::session::{TenantRequest, flash};
use super::{WebError, redirect};
use crate::domain::licenses::MORE_LICENSES;
use crate::domain::licenses::{self, PoolDetail, PoolRef, PoolSummary};
use crate::domain::users::{self, UserFilter, UserRow, UserSort};
use crate::domain::{DomainError, ProductId, SubscriptionId, UserId};

#[derive(Template)]
#[template(path = "licenses/list.html")]
pub struct LicensesPage {
    frame: Frame,
    conflicts: Vec<PoolSummary>,
    pools: Vec<PoolSummary>,
}

/// GET /licenses
pub async fn list(
    TenantRequest {
        session,
        state,
        actor,
        tenant,
        ..
    }: TenantRequest,
) -> Result<HttpResponse, WebError> {
    let pools = state
        .db(move |conn| licenses::pools(conn, &actor, tenant))
        .await?;
    super::render(&LicensesPage {
        frame: Frame::new("Licenses", &session, "/licenses"),
        conflicts: PoolSummary::conflicts(&pools),
        pools,
    })
}

/// Paging and search of a list of users.
#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    pub q: String,
    after_key: Option<String>,
    after_id: Option<i64>,
    /// `name` or `email` (a product's page sorts its assigned users by these headers).
    #[serde(default)]
    sort: String,
    #[serde(default)]
    order: String,
}

impl ListQuery {
    pub fn after(&self) -> Option<(String, i64)> {
        Some((self.after_key.clone()?, self.after_id?))
    }
}

#[derive(Template)]
#[template(path = "licenses/product.html")]
pub struct ProductPage {
    frame: Frame,
    base: String,
    detail: PoolDetail,
    q: String,
    can_assign: bool,
    can_take_over: bool,
    /// The groups carrying the product and the others (a tenant pool, for who may see groups).
    groups: Option<crate::domain::groups::ProductGroups>,
    can_assign_groups: bool,
    self_service_note: &'static str,
    /// Export users of the product's assigned users, for those who may see users.
    export_link: Option<String>,
    /// Unassign licenses sent with no user selected: said next to the table.
    selection_error: Option<&'static str>,
    /// The pool's "Alert below" (`Some(None)`: none set), for those who may set it.
    alert: Option<Option<i32>>,
    /// "10 assigned users": how many the search finds.
    total: String,
    /// Display name and Sign-in name.
    headers: [super::sorting::SortHeader; 2],
    /// `&sort=…&order=…` (escaped for the page) that the next page's link keeps.
    order_params: String,
    /// The order asked for, which the search form keeps.
    sort: String,
    order: String,
}

async fn product_page(
    TenantRequest {
        session,
        state,
        actor,
        tenant,
        ..
    }: TenantRequest,
    pool: PoolRef,
    query: ListQuery,
    selection_error: Option<&'static str>,
) -> Result<HttpResponse, WebError> {
    let (q, after) = (query.q.clone(), query.after());
    let (order, sort) = super::users::user_sort(&query.sort, &query.order);
    let view_groups = session.permissions().view_groups;
    let set_alerts = session.permissions().set_license_alerts;
    let (detail, groups, alert) = state
        .db(move |conn| {
            let detail = licenses::pool_detail_sorted(conn, &actor, tenant, pool, &q, sort, after)?;
            let groups = match pool {
                PoolRef::Tenant(product) if view_groups => Some(
                    crate::domain::groups::for_product(conn, &actor, tenant, product)?,
                ),
                _ => None,
            };
            let alert = match pool {
                PoolRef::Tenant(product) if set_alerts => {
                    Some(licenses::alert_below(conn, &actor, tenant, product)?)
                }
                _ => None,
            };
            Ok((detail, groups, alert))
        })
        .await?;
    let order_params = serde_html_form::to_string(order.params()).unwrap_or_default();
    // The export lists the same users in the same order (not the search: it takes every holder).
    let export_link = match pool {
        PoolRef::Tenant(product) if session.permissions().view_users => Some(format!(
            "/users/export.csv?filter=product-{product}&{order_params}"
        )),
        _ => None,
    };
    let base = pool_path(pool);
    let keep = [("q", query.q.as_str())];
    let headers = [
        order.header(&base, &keep, "name", "Display name"),
        order.header(&base, &keep, "email", "Sign-in name"),
    ];
    let page = ProductPage {
        headers,
        order_params: format!("&{order_params}"),
        sort: query.sort.clone(),
        order: query.order.clone(),
        export_link,
        frame: Frame::new(&detail.summary.product_name, &session, "/licenses"),
        base,
        can_assign: detail.offer.assign,
        can_take_over: detail.offer.take_over,
        can_assign_groups: session.permissions().assign_group_licenses,
        groups,
        self_service_note: licenses::SELF_SERVICE_REFUSAL,
        total: super::sorting::total(detail.matches, "assigned user", "assigned users"),
        detail,
        q: query.q,
        selection_error,
        alert,
    };
    match selection_error {
        None => super::render(&page),
        Some(_) => super::render_with(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, &page),
    }
}

fn pool_path(pool: PoolRef) -> String {
    match pool {
        PoolRef::Tenant(p) => format!("/licenses/{}", p.0),
        PoolRef::SelfService(s) => format!("/licenses/purchases/{}", s.0),
    }
}

/// GET /licenses/{product}
pub async fn product(
    request: TenantRequest,
    path: web::Path<i64>,
    query: Query<ListQuery>,
) -> Result<HttpResponse, WebError> {
    product_page(
        request,
        PoolRef::Tenant(ProductId(path.into_inner())),
        query.0,
        None,
    )
    .await
}

/// GET /licenses/purchases/{subscription}
pub async fn purchase(
    request: TenantRequest,
    path: web::Path<i64>,
    query: Query<ListQuery>,
) -> Result<HttpResponse, WebError> {
    product_page(
        request,
        PoolRef::SelfService(SubscriptionId(path.into_inner())),
        query.0,
        None,
    )
    .await
}

/// The users chosen with check boxes, or (Select all N matching, on a product's page) every
/// holder the search finds, found again on the server; and whether the confirmation was given.
#[derive(Deserialize)]
pub struct ChosenUsers {
    #[serde(default)]
    users: Vec<i64>,
    #[serde(default)]
    all_matching: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    confirm: Option<String>,
}

impl ChosenUsers {
    fn ids(&self) -> Vec<UserId> {
        self.users.iter().map(|u| UserId(*u)).collect()
    }

    fn all(&self) -> bool {
        self.all_matching == "yes"
    }

    /// The form fields that choose the same users again.
    fn fields(&self) -> Vec<(&'static str, String)> {
        if self.all() {
            vec![("all_matching", "yes".into()), ("q", self.q.clone())]
        } else {
            self.users
                .iter()
                .map(|u| ("users", u.to_string()))
                .collect()
        }
    }
}

/// The holders of `pool` that `chosen` means: the checked ones, or all the search finds.
fn chosen_holders(
    conn: &mut crate::domain::DbConnection,
    actor: &crate::domain::Actor,
    tenant: crate::domain::TenantId,
    pool: PoolRef,
    chosen: &ChosenUsers,
) -> Result<Vec<UserId>, DomainError> {
    if !chosen.all() {
        return Ok(chosen.ids());
    }
    let mut ids = Vec::new();
    let mut after = None;
    loop {
        let page = licenses::pool_detail(conn, actor, tenant, pool, &chosen.q, after)?;
        ids.extend(page.holders.iter().map(|h| h.user));
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(ids),
        }
    }
}

/// Names a confirmation lists before "and N more".
const NAMED: usize = 20;

#[derive(Template)]
#[template(path = "licenses/confirm.html")]
pub struct ConfirmPage {
    frame: Frame,
    action: String,
    back: String,
    heading: String,
    button: &'static str,
    /// Styled as dangerous: it takes licenses away.
    danger: bool,
    product_name: String,
    /// How many users, the first `NAMED` of them, and the fields that choose them again.
    count: usize,
    users: Vec<(i64, String, String)>,
    fields: Vec<(&'static str, String)>,
    lines: Vec<String>,
    error: Option<String>,
}

impl ConfirmPage {
    fn more(&self) -> usize {
        self.count - self.users.len()
    }
}

/// Names the chosen users (of this tenant) for a confirmation.
async fn describe(
    request: &TenantRequest,
    ids: Vec<UserId>,
) -> Result<Vec<(i64, String, String)>, WebError> {
    let named = request
        .db(move |conn, actor, tenant, _| users::names(conn, actor, tenant, &ids))
        .await?;
    Ok(named
        .into_iter()
        .map(|(id, name, email)| (id.0, name, email))
        .collect())
}

/// POST /licenses/{product}/unassign: first the confirmation, then (confirm=yes) the change.
pub async fn unassign(
    request: TenantRequest,
    path: web::Path<i64>,
    form: Form<ChosenUsers>,
) -> Result<HttpResponse, WebError> {
    let pool = PoolRef::Tenant(ProductId(path.into_inner()));
    let base = pool_path(pool);
    let chosen = form.0;
    if chosen.users.is_empty() && !chosen.all() {
        // The same page again, the message next to its table.
        return product_page(
            request,
            pool,
            ListQuery::default(),
            Some("Select the users whose licenses you want to unassign."),
        )
        .await;
    }
    if chosen.confirm.as_deref() == Some("yes") {
        let done = request
            .db(move |conn, actor, tenant, now| {
                // The matches found again and unassigned in one transaction.
                crate::domain::db::transaction(conn, |conn| {
                    let ids = chosen_holders(conn, actor, tenant, pool, &chosen)?;
                    licenses::unassign(conn, actor, now, tenant, pool, &ids)
                })
            })
            .await?;
        let held = done
            .data_held_until
            .map(|d| {
                format!(
                    " Their data for this product is kept until {}.",
                    d.format("%B %-d, %Y")
                )
            })
            .unwrap_or_default();
        let kept = match done.kept_through_groups.len() {
            0 => String::new(),
            n => format!(
                " {n} {} it through a group.",
                plural(n, "user keeps", "users keep")
            ),
        };
        flash(
            &request.session.session,
            format!(
                "Unassigned licenses from {} {}.{held}{kept}",
                done.unassigned.len(),
                plural(done.unassigned.len(), "user", "users")
            ),
        );
        return Ok(redirect(&base));
    }
    // The confirmation: who, and what happens to their data.
    let fields = chosen.fields();
    let (detail, mut ids) = request
        .db(move |conn, actor, tenant, _| {
            let ids = chosen_holders(conn, actor, tenant, pool, &chosen)?;
            Ok((
                licenses::pool_detail(conn, actor, tenant, pool, "", None)?,
                ids,
            ))
        })
        .await?;
    let count = ids.len();
    ids.truncate(NAMED);
    let users = describe(&request, ids).await?;
    let lines = licenses::unassign_notice(
        request.now,
        &detail.summary.product_name,
        &detail.data_holding_services,
    );
    super::render(&ConfirmPage {
        frame: Frame::new("Unassign licenses", &request.session, "/licenses"),
        action: format!("{base}/unassign"),
        back: base,
        heading: "Unassign licenses".into(),
        button: "Unassign",
        danger: true,
        product_name: detail.summary.product_name,
        count,
        users,
        fields,
        lines,
        error: None,
    })
}

#[derive(Template)]
#[template(path = "licenses/assign.html")]
pub struct AssignPage {
    frame: Frame,
    base: String,
    summary: PoolSummary,
    candidates: Vec<UserRow>,
    next: Option<(String, i64)>,
    q: String,
    /// Assign sent with no user selected: said next to the list.
    selection_error: Option<&'static str>,
}

/// GET /licenses/{product}/assign: pick users who don't have the product yet.
pub async fn assign_form(
    request: TenantRequest,
    path: web::Path<i64>,
    query: Query<ListQuery>,
) -> Result<HttpResponse, WebError> {
    assign_page(&request, ProductId(path.into_inner()), query.0, None).await
}

/// Assign licenses' list of candidates; `selection_error` is said next to it (422).
async fn assign_page(
    request: &TenantRequest,
    product: ProductId,
    query: ListQuery,
    selection_error: Option<&'static str>,
) -> Result<HttpResponse, WebError> {
    let pool = PoolRef::Tenant(product);
    let (q, after) = (query.q.clone(), query.after());
    let (detail, page) = request
        .db(move |conn, actor, tenant, _| {
            let detail = licenses::pool_detail(conn, actor, tenant, pool, "", None)?;
            let page = users::list(
                conn,
                actor,
                tenant,
                &q,
                UserFilter::LacksProduct(product),
                UserSort::Name,
                after,
            )?;
            Ok((detail, page))
        })
        .await?;
    let page = AssignPage {
        frame: Frame::new("Assign licenses", &request.session, "/licenses"),
        base: pool_path(pool),
        summary: detail.summary,
        candidates: page.rows,
        next: page.next,
        q: query.q,
        selection_error,
    };
    match selection_error {
        None => super::render(&page),
        Some(_) => super::render_with(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, &page),
    }
}

/// POST /licenses/{product}/assign: first the confirmation (how many remain), then the change.
pub async fn assign(
    request: TenantRequest,
    path: web::Path<i64>,
    form: Form<ChosenUsers>,
) -> Result<HttpResponse, WebError> {
    let product = ProductId(path.into_inner());
    let pool = PoolRef::Tenant(product);
    let base = pool_path(pool);
    let chosen = form.0;
    if chosen.users.is_empty() {
        // The same list again, the message next to it.
        return assign_page(
            &request,
            product,
            ListQuery::default(),
            Some("Select the users you want to assign licenses to."),
        )
        .await;
    }
    let summary = request
        .db(move |conn, actor, tenant, _| {
            licenses::pool_detail(conn, actor, tenant, pool, "", None).map(|d| d.summary)
        })
        .await?;
    let users = describe(&request, chosen.ids()).await?;
    let confirm_page = |error: Option<String>, lines: Vec<String>| ConfirmPage {
        frame: Frame::new("Assign licenses", &request.session, "/licenses"),
        action: format!("{base}/assign"),
        back: format!("{base}/assign"),
        heading: "Assign licenses".into(),
        button: "Assign",
        danger: false,
        product_name: summary.product_name.clone(),
        count: users.len(),
        users: users.clone(),
        fields: chosen.fields(),
        lines,
        error,
    };
    let refusal = |available: i64| {
        format!(
            "You selected {} users, but only {available} {} licenses are available. Nothing was assigned. {MORE_LICENSES}",
            chosen.users.len(),
            summary.product_name
        )
    };
    if chosen.confirm.as_deref() != Some("yes") {
        let available = summary.available();
        if chosen.users.len() as i64 > available {
            return super::render_with(
                actix_web::http::StatusCode::CONFLICT,
                &confirm_page(Some(refusal(available)), vec![]),
            );
        }
        let remain = available - chosen.users.len() as i64;
        return super::render(&confirm_page(
            None,
            vec![format!(
                "{available} {} available; {remain} will remain after this.",
                plural(available as usize, "license is", "licenses are")
            )],
        ));
    }
    let ids = chosen.ids();
    let result = request
        .db(move |conn, actor, tenant, now| licenses::assign(conn, actor, now, tenant, pool, &ids))
        .await;
    match result {
        Ok(done) => {
            let mut message = format!(
                "Assigned {} licenses to {} {}.",
                summary.product_name,
                done.assigned.len(),
                plural(done.assigned.len(), "user", "users")
            );
            if !done.already.is_empty() {
                message.push_str(&format!(" {} already had one.", done.already.len()));
            }
            flash(&request.session.session, message);
            Ok(redirect(&base))
        }
        Err(WebError::Domain(DomainError::NoLicensesLeft { available })) => super::render_with(
            actix_web::http::StatusCode::CONFLICT,
            &confirm_page(Some(refusal(available)), vec![]),
        ),
        Err(e) => Err(e),
    }
}

/// POST /licenses/purchases/{subscription}/take-over
pub async fn take_over(
    TenantRequest {
        session,
        state,
        actor,
        tenant,
        now,
    }: TenantRequest,
    path: web::Path<i64>,
    _form: Form<super::NoFields>,
) -> Result<HttpResponse, WebError> {
    let subscription = SubscriptionId(path.into_inner());
    let product = state
        .db(move |conn| licenses::take_over(conn, &actor, now, tenant, subscription))
        .await?;
    flash(
        &session.session,
        format!(
            "You took over the {product} subscription. Its licenses are now part of your organization's {product} licenses."
        ),
    );
    Ok(redirect("/licenses"))
}

pub fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}
