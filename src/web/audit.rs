//! Settings > Audit log.

use actix_web::HttpResponse;
use askama::Template;
use chrono::{NaiveDate, TimeZone, Utc};
use serde::Deserialize;

use super::WebError;
use super::forms::Query;
use super::frame::Frame;
use super::session::TenantRequest;
use crate::domain::DomainError;
use crate::domain::audit::{self, Entry, Filter};

#[derive(Deserialize, Default, serde::Serialize)]
pub struct AuditQuery {
    #[serde(default)]
    user: String,
    #[serde(default)]
    product: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    #[serde(skip_serializing)]
    before: Option<i64>,
}

#[derive(Template)]
#[template(path = "settings/audit.html")]
pub struct AuditPage {
    frame: Frame,
    entries: Vec<Entry>,
    actions: Vec<String>,
    query: AuditQuery,
    next_link: Option<String>,
    /// Export: the same filters, as a CSV download.
    export_link: String,
}

fn day(field: &'static str, text: &str) -> Result<Option<chrono::DateTime<Utc>>, DomainError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    // Years 1 to 9999: PostgreSQL's timestamps end before chrono's dates do (a date of 4713 BC
    // was a 500), and no entry is older than allot.
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .ok()
        .filter(|d| (1..=9999).contains(&chrono::Datelike::year(d)))
        .map(|d| Some(Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())))
        .ok_or_else(|| DomainError::invalid(field, "Enter dates as YYYY-MM-DD."))
}

impl AuditQuery {
    fn filter(&self) -> Result<Filter, DomainError> {
        Ok(Filter {
            user: self.user.clone(),
            product: self.product.clone(),
            action: self.action.clone(),
            from: day("from", &self.from)?,
            // "Until" includes the whole day.
            until: day("until", &self.until)?.map(|d| d + chrono::Duration::days(1)),
        })
    }
}

/// GET /settings/audit-log
pub async fn log(
    TenantRequest {
        session,
        state,
        actor,
        tenant,
        ..
    }: TenantRequest,
    query: Query<AuditQuery>,
) -> Result<HttpResponse, WebError> {
    let query = query.0;
    let filter = query.filter()?;
    let before = query.before;
    let ((entries, next), actions) = state
        .db(move |conn| {
            Ok((
                audit::search(conn, &actor, tenant, &filter, before)?,
                audit::actions(conn, &actor, tenant)?,
            ))
        })
        .await?;
    let export_link = format!(
        "/settings/audit-log/export.csv?{}",
        serde_html_form::to_string(&query).unwrap_or_default()
    );
    let next_link = next.map(|id| {
        format!(
            "/settings/audit-log?{}&before={id}",
            serde_html_form::to_string(&query).unwrap_or_default()
        )
    });
    super::render(&AuditPage {
        frame: Frame::new("Audit log", &session, "/settings/audit-log"),
        entries,
        actions,
        query,
        next_link,
        export_link,
    })
}

fn csv_entries(entries: &[Entry]) -> String {
    use super::csv::field;
    let mut out = String::with_capacity(entries.len() * 120);
    for e in entries {
        out.push_str(&format!(
            "{},{},{},{},{},{}\r\n",
            e.at.format("%Y-%m-%dT%H:%M:%SZ"),
            field(&e.actor),
            field(&e.action),
            field(&e.target),
            field(&e.detail),
            field(e.client_address.as_deref().unwrap_or(""))
        ));
    }
    out
}

/// GET /settings/audit-log/export.csv: the entries the log shows with the same filters, all
/// of them, newest first.
pub async fn export_csv(
    TenantRequest {
        state,
        actor,
        tenant,
        ..
    }: TenantRequest,
    query: Query<AuditQuery>,
) -> Result<HttpResponse, WebError> {
    let filter = query.0.filter()?;
    let (first, next) = {
        let (actor, filter) = (actor.clone(), filter.clone());
        state
            .db(move |conn| {
                audit::search_sized(conn, &actor, tenant, &filter, None, audit::EXPORT_PAGE_SIZE)
            })
            .await?
    };
    let head = format!(
        "Date (UTC),By,Action,Target,Detail,IP address\r\n{}",
        csv_entries(&first)
    );
    Ok(super::csv::streamed(
        "audit-log.csv",
        head,
        next,
        move |before| {
            let (state, actor, filter) = (state.clone(), actor.clone(), filter.clone());
            async move {
                let (page, next) = state
                    .db(move |conn| {
                        audit::search_sized(
                            conn,
                            &actor,
                            tenant,
                            &filter,
                            Some(before),
                            audit::EXPORT_PAGE_SIZE,
                        )
                    })
                    .await?;
                Ok((csv_entries(&page), next))
            }
        },
    ))
}
