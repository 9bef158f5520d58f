//! Export users: Active users (with its search and filter) or a product's assigned users as a
//! CSV download, streamed a page of `EXPORT_PAGE_SIZE` users at a time, so a million users
//! leave the server without being held in memory at once. Fields are formula-safe, as the
//! billing export's are.

use super::*;
use crate::domain::users::{EXPORT_PAGE_SIZE, UserPage};
use crate::web::csv::field as csv_field;

const HEADER: &str = "Display name,Sign-in name,Sign-in blocked,Licenses\r\n";

fn csv_rows(page: &UserPage) -> String {
    let mut out = String::with_capacity(page.rows.len() * 80);
    for r in &page.rows {
        out.push_str(&format!(
            "{},{},{},{}\r\n",
            csv_field(&r.display_name),
            csv_field(&r.email),
            if r.blocked { "Yes" } else { "No" },
            csv_field(&r.licenses.join("; "))
        ));
    }
    out
}

/// GET /users/export.csv?q=&filter=&sort=: the users Active users lists with the same
/// search, filter and order, every page of them.
pub async fn export_csv(
    TenantRequest {
        state,
        actor,
        tenant,
        ..
    }: TenantRequest,
    query: Query<ListQuery>,
) -> Result<HttpResponse, WebError> {
    let query = query.0;
    let filter = parse_filter(&query.filter);
    // The same order as the list's headers.
    let (_, sort) = super::user_sort(&query.sort, &query.order);
    // The first page is read before the answer starts, so a refusal (a bad search, a role
    // that may not see users) is a status and a page, not a cut-off download.
    let q = query.q.clone();
    let first = {
        let actor = actor.clone();
        state
            .db(move |conn| {
                users::list_sized(
                    conn,
                    &actor,
                    tenant,
                    &q,
                    filter,
                    sort,
                    None,
                    EXPORT_PAGE_SIZE,
                )
            })
            .await?
    };
    let head = format!("{HEADER}{}", csv_rows(&first));
    let q = query.q;
    Ok(crate::web::csv::streamed(
        "users.csv",
        head,
        first.next,
        move |after| {
            let (state, actor, q) = (state.clone(), actor.clone(), q.clone());
            async move {
                let page = state
                    .db(move |conn| {
                        users::list_sized(
                            conn,
                            &actor,
                            tenant,
                            &q,
                            filter,
                            sort,
                            Some(after),
                            EXPORT_PAGE_SIZE,
                        )
                    })
                    .await?;
                Ok((csv_rows(&page), page.next))
            }
        },
    ))
}
