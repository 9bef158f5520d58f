//! Add multiple users: the upload form and its sample CSV, the preview, Import, the progress
//! and the result, and the generated passwords' one download.

use super::*;
use crate::domain::users::import::{
    self, ImportId, ImportRow, ImportState, ImportSummary, MAX_BYTES, MAX_ROWS, Passwords,
};
use crate::web::csv::field as csv_field;
use crate::web::upload::Upload;

/// Rows of the file a page of the preview or the result shows.
const ROWS_PER_PAGE: i64 = 100;

#[derive(Template)]
#[template(path = "users/import.html")]
pub struct ImportFormPage {
    frame: Frame,
    error: Option<String>,
    max_mb: usize,
    max_rows: usize,
}

fn form_page(request: &TenantRequest, error: Option<String>) -> ImportFormPage {
    ImportFormPage {
        frame: Frame::new("Add multiple users", &request.session, "/users"),
        error,
        max_mb: MAX_BYTES / (1024 * 1024),
        max_rows: MAX_ROWS,
    }
}

/// GET /users/import: Add multiple users.
pub async fn import_form(request: TenantRequest) -> Result<HttpResponse, WebError> {
    request.session.require(|p| p.manage_users)?;
    crate::web::render(&form_page(&request, None))
}

/// GET /users/import/sample.csv: a file to start from, at the tenant's domain and with one of
/// its products.
pub async fn import_sample(request: TenantRequest) -> Result<HttpResponse, WebError> {
    request.session.require(|p| p.manage_users)?;
    let (domain, product) = request
        .db(|conn, actor, tenant, _| {
            let domain = crate::domain::tenants::get(conn, actor, tenant)?.domain;
            let product = users::assignable_products(conn, actor, tenant)?
                .into_iter()
                .find(|p| p.self_service.is_none())
                .map(|p| p.product_name)
                .unwrap_or_default();
            Ok((domain, product))
        })
        .await?;
    let mut body = String::from("Display name,Sign-in name,Licenses\r\n");
    for (name, local, licenses) in [
        ("Alex Example", "alex.example", product.as_str()),
        ("Sam Sample", "sam.sample", ""),
    ] {
        body.push_str(&format!(
            "{},{},{}\r\n",
            csv_field(name),
            csv_field(&format!("{local}@{domain}")),
            csv_field(licenses)
        ));
    }
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"add-multiple-users-sample.csv\"",
        ))
        .body(body))
}

/// POST /users/import: the file is read and previewed (nothing is created); the preview is
/// its own page. A file that can't be read is said on the form (413 too large, 422 otherwise).
pub async fn import_preview(
    request: TenantRequest,
    upload: Upload,
) -> Result<HttpResponse, WebError> {
    let Some(file) = upload.file("file") else {
        let page = form_page(&request, Some("Choose a CSV file to upload.".into()));
        return crate::web::render_with(StatusCode::UNPROCESSABLE_ENTITY, &page);
    };
    if file.bytes.len() > MAX_BYTES {
        let page = form_page(
            &request,
            Some(format!(
                "The file is larger than {} MB. Split it into smaller files.",
                MAX_BYTES / (1024 * 1024)
            )),
        );
        return crate::web::render_with(StatusCode::PAYLOAD_TOO_LARGE, &page);
    }
    let name = file.file_name.clone().unwrap_or_default();
    let bytes = file.bytes.clone();
    let done = request
        .db(move |conn, actor, tenant, now| {
            let rows = import::read_file(&bytes)?;
            import::preview(conn, actor, now, tenant, &name, &rows)
        })
        .await;
    match done {
        Ok(id) => Ok(redirect(&format!("/users/import/{}", id.0))),
        Err(WebError::Domain(e)) if crate::web::errors::is_for_the_form(&e) => {
            let page = form_page(&request, Some(e.to_string()));
            crate::web::render_with(crate::web::errors::status_of(&e), &page)
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "users/import_job.html")]
pub struct ImportPage {
    frame: Frame,
    job: ImportSummary,
    rows: Vec<ImportRow>,
    only_skipped: bool,
    next_link: Option<String>,
    /// The kinds of skipped rows and how many, as the totals list them.
    reasons: Vec<(String, i64)>,
}

impl ImportPage {
    fn previewed(&self) -> bool {
        self.job.state == ImportState::Previewed
    }

    fn running(&self) -> bool {
        self.job.state == ImportState::Running
    }

    fn finished(&self) -> bool {
        self.job.state == ImportState::Finished
    }

    /// "498 users will be created, 2 rows will be skipped." or, once run, what was done.
    fn totals(&self) -> String {
        let job = &self.job;
        match job.state {
            ImportState::Previewed => format!(
                "{} will be created, {} will be skipped.",
                count(job.will_create(), "user", "users"),
                count(job.skipped(), "row", "rows")
            ),
            _ => format!(
                "{} created, {} skipped.",
                count(job.will_create(), "user", "users"),
                count(job.skipped(), "row", "rows")
            ),
        }
    }

    fn progress(&self) -> String {
        format!("Imported {} of {} rows", self.job.done, self.job.total)
    }

    fn passwords_ready(&self) -> Option<i64> {
        match self.job.passwords {
            Passwords::Ready(n) => Some(n),
            _ => None,
        }
    }

    fn passwords_expired(&self) -> Option<String> {
        match self.job.passwords {
            Passwords::Expired(at) => Some(at.format("%B %-d, %Y").to_string()),
            _ => None,
        }
    }

    fn passwords_downloaded(&self) -> Option<String> {
        match self.job.passwords {
            Passwords::Downloaded(at) => Some(at.format("%B %-d, %Y at %H:%M UTC").to_string()),
            _ => None,
        }
    }
}

/// "1 user", "498 users".
fn count(n: i64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

#[derive(Deserialize)]
pub struct ImportQuery {
    #[serde(default)]
    skipped: String,
    after: Option<i32>,
}

/// GET /users/import/{id}: the preview, the progress (reloading itself while it runs) or the
/// result, with the file's rows a page at a time.
pub async fn import_show(
    request: TenantRequest,
    path: web::Path<i64>,
    query: Query<ImportQuery>,
) -> Result<HttpResponse, WebError> {
    let id = ImportId(path.into_inner());
    let only_skipped = query.0.skipped == "yes";
    let after = query.0.after.unwrap_or(0);
    let (job, (rows, next)) = request
        .db(move |conn, actor, tenant, _| {
            Ok((
                import::summary(conn, actor, tenant, id)?,
                import::rows(conn, actor, tenant, id, only_skipped, after, ROWS_PER_PAGE)?,
            ))
        })
        .await?;
    let next_link = next.map(|n| {
        format!(
            "/users/import/{}?{}after={n}",
            id.0,
            if only_skipped { "skipped=yes&" } else { "" }
        )
    });
    let reasons = job
        .counts
        .iter()
        .filter(|(k, _)| *k != import::RowKind::Created)
        .map(|(k, n)| (k.label().to_owned(), *n))
        .collect();
    let title = match job.state {
        ImportState::Previewed => "Add multiple users: preview",
        ImportState::Running => "Add multiple users: importing",
        ImportState::Finished => "Add multiple users: done",
    };
    crate::web::render(&ImportPage {
        frame: Frame::new(title, &request.session, "/users"),
        job,
        rows,
        only_skipped,
        next_link,
        reasons,
    })
}

/// POST /users/import/{id}/start: Import. A file of one step's rows is done before the answer;
/// a bigger one runs in the background (and in every tick), its page showing the progress.
pub async fn import_start(
    request: TenantRequest,
    path: web::Path<i64>,
    _form: Form<crate::web::NoFields>,
) -> Result<HttpResponse, WebError> {
    let id = ImportId(path.into_inner());
    let total = request
        .db(move |conn, actor, tenant, now| {
            import::start(conn, actor, now, tenant, id)?;
            let job = import::summary(conn, actor, tenant, id)?;
            if job.total <= import::STEP as i64 {
                let mut failures = 0;
                import::run(conn, now, id, 3, &mut failures);
            }
            Ok(job.total)
        })
        .await?;
    if total > import::STEP as i64 {
        crate::jobs::kick_user_import(request.state.pool.clone(), request.state.clock.clone(), id);
    }
    Ok(redirect(&format!("/users/import/{}", id.0)))
}

/// POST /users/import/{id}/passwords: Download passwords (CSV), once; they are erased as they
/// leave. A second try is answered on an error page (409).
pub async fn import_passwords(
    request: TenantRequest,
    path: web::Path<i64>,
    _form: Form<crate::web::NoFields>,
) -> Result<HttpResponse, WebError> {
    let id = ImportId(path.into_inner());
    let given = request
        .db(move |conn, actor, tenant, now| import::take_passwords(conn, actor, now, tenant, id))
        .await?;
    let mut body = String::from("Sign-in name,Password\r\n");
    for (email, password) in &given {
        body.push_str(&format!("{},{}\r\n", csv_field(email), csv_field(password)));
    }
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"passwords-import-{}.csv\"", id.0),
        ))
        .body(body))
}
