use super::*;

/// GET /billing/export.{csv,json}: the organization's users and their licenses.
pub async fn export(
    session: AdminSession,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let tenant = session.tenant()?;
    let actor = session.actor().clone();
    let format = path.into_inner();
    if format != "csv" && format != "json" {
        return Err(DomainError::NotFound.into());
    }
    let now = state.clock.now();
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

/// A CSV field, quoted when needed; a leading = + - @ is defused so spreadsheets don't run it.
pub(super) fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}
