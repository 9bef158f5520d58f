//! Settings > Audit log.

use actix_web::HttpResponse;
use askama::Template;
use chrono::{NaiveDate, TimeZone, Utc};
use serde::Deserialize;

use super::WebError;
use super::forms::Query;
use super::frame::Frame;
use super::session::TenantRequest;
use super::sorting::{SortHeader, SortOrder, SortQuery, total};
use crate::domain::DomainError;
use crate::domain::audit::{self, AuditOrder, AuditSort, Entry, Filter};

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
    #[serde(default, skip_serializing_if = "String::is_empty")]
    sort: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    order: String,
    /// The page starts past this entry, in the list's order.
    #[serde(skip_serializing)]
    before: Option<i64>,
}

/// The columns the log sorts by; the first, newest first, is the default.
const COLUMNS: [&str; 3] = ["when", "who", "action"];

pub struct AuditHeaders {
    when: SortHeader,
    who: SortHeader,
    action: SortHeader,
}

#[derive(Template)]
#[template(path = "settings/audit.html")]
pub struct AuditPage {
    frame: Frame,
    entries: Vec<Entry>,
    actions: Vec<String>,
    query: AuditQuery,
    headers: AuditHeaders,
    /// "1,234 entries": all the filters match.
    total: String,
    /// The default order: the next page holds "Older entries".
    newest_first: bool,
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
    fn sort_order(&self) -> SortOrder {
        SortOrder::resolve(
            &SortQuery {
                sort: self.sort.clone(),
                order: self.order.clone(),
            },
            &COLUMNS,
            true,
        )
    }

    fn headers(&self) -> AuditHeaders {
        let order = self.sort_order();
        let path = "/settings/audit-log";
        let kept = [
            ("user", self.user.as_str()),
            ("product", self.product.as_str()),
            ("action", self.action.as_str()),
            ("from", self.from.as_str()),
            ("until", self.until.as_str()),
        ];
        AuditHeaders {
            when: order.header(path, &kept, "when", "When"),
            who: order.header(path, &kept, "who", "Who"),
            action: order.header(path, &kept, "action", "Action"),
        }
    }

    fn filter(&self) -> Result<Filter, DomainError> {
        let order = self.sort_order();
        Ok(Filter {
            user: self.user.clone(),
            product: self.product.clone(),
            action: self.action.clone(),
            from: day("from", &self.from)?,
            // "Until" includes the whole day.
            until: day("until", &self.until)?.map(|d| d + chrono::Duration::days(1)),
            order: AuditOrder {
                by: match order.column {
                    "who" => AuditSort::Who,
                    "action" => AuditSort::Action,
                    _ => AuditSort::When,
                },
                descending: order.descending,
            },
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
    let ((entries, next), count, actions) = state
        .db(move |conn| {
            Ok((
                audit::search(conn, &actor, tenant, &filter, before)?,
                audit::count(conn, &actor, tenant, &filter)?,
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
        headers: query.headers(),
        newest_first: query.sort_order()
            == SortOrder::resolve(&SortQuery::default(), &COLUMNS, true),
        total: total(count, "entry", "entries"),
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
/// of them, in its order (newest first unless sorted).
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
