use super::*;

#[derive(Deserialize)]
pub struct ExportForm {
    #[serde(default)]
    format: String,
}

/// The formats Export data writes.
fn export_format(text: &str) -> Option<&'static str> {
    match text.trim() {
        "csv" => Some("csv"),
        "json" => Some("json"),
        _ => None,
    }
}

#[derive(Template)]
#[template(path = "billing/export.html")]
pub struct ExportPage {
    frame: Frame,
    format: &'static str,
    exported_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// GET /billing/export.{csv,json}: the Export data page, for an old link or a bookmark. A GET
/// changes nothing: the export, which is recorded, is the page's POST.
pub async fn export_page(
    TenantRequest {
        session,
        state,
        actor,
        tenant,
        ..
    }: TenantRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let format = export_format(&path.into_inner()).ok_or(DomainError::NotFound)?;
    let exported_at = state
        .db(move |conn| user_store::last_export(conn, &actor, tenant))
        .await?;
    crate::web::render(&ExportPage {
        frame: Frame::new("Export data", &session, "/billing/products"),
        format,
        exported_at,
    })
}

/// POST /billing/export: the organization's users and their licenses as a download (CSV or
/// JSON); the export is recorded, so billing support sees the data was saved.
pub async fn export(
    TenantRequest {
        state,
        actor,
        tenant,
        now,
        ..
    }: TenantRequest,
    form: Form<ExportForm>,
) -> Result<HttpResponse, WebError> {
    let format = export_format(&form.0.format)
        .ok_or_else(|| DomainError::invalid("format", "Choose CSV or JSON."))?;
    let rows = state
        .db(move |conn| user_store::export(conn, &actor, now, tenant))
        .await?;
    let (content_type, body) = if format == "csv" {
        let mut out = String::from("display_name,sign_in_name,state,licenses\r\n");
        for r in &rows {
            out.push_str(&format!(
                "{},{},{},{}\r\n",
                csv_field(&r.display_name),
                csv_field(&r.email),
                csv_field(&r.state),
                csv_field(&r.licenses.join("; "))
            ));
        }
        ("text/csv; charset=utf-8", out)
    } else {
        let json =
            serde_json::to_string_pretty(&rows).map_err(|e| WebError::Internal(e.to_string()))?;
        ("application/json", json)
    };
    Ok(HttpResponse::build(StatusCode::OK)
        .content_type(content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"users-and-licenses.{format}\""),
        ))
        .body(body))
}

pub(crate) use crate::web::csv::field as csv_field;
