//! Delete for the users checked on Active users, or all that match (Select all N matching):
//! a confirmation naming them, then one transaction.

use super::*;
use manage::{ManageQuery, NAMED, chosen_users};

#[derive(Template)]
#[template(path = "users/delete_many.html")]
pub struct DeleteManyPage {
    frame: Frame,
    /// How many would be deleted, and the first `NAMED` of them.
    count: usize,
    named: Vec<(String, String)>,
    /// The chosen users the admin may not delete (their own account, a higher admin).
    refused: Vec<(String, String)>,
    fields: Vec<(&'static str, String)>,
}

impl DeleteManyPage {
    fn more(&self) -> usize {
        self.count - self.named.len()
    }
}

/// GET /users/delete?users=…|all_matching=yes&q=&filter=: the confirmation.
pub async fn delete_many_form(
    request: TenantRequest,
    query: Query<ManageQuery>,
) -> Result<HttpResponse, WebError> {
    request.session.require(|p| p.manage_users)?;
    let chosen = query.0;
    if chosen.is_empty() {
        flash(
            &request.session.session,
            "Select the users you want to delete, then select Delete.",
        );
        return Ok(redirect("/users"));
    }
    let fields = chosen.fields();
    let (found, plan) = request
        .db(move |conn, actor, tenant, _| {
            let found = chosen_users(conn, actor, tenant, &chosen)?;
            let ids = manage::ids_of(found.clone());
            Ok((found, users::to_delete_many(conn, actor, tenant, &ids)?))
        })
        .await?;
    let names: std::collections::HashMap<i64, (String, String)> = found
        .into_iter()
        .map(|(id, name, email)| (id, (name, email)))
        .collect();
    let pick = |ids: &[UserId], at_most: usize| -> Vec<(String, String)> {
        ids.iter()
            .take(at_most)
            .filter_map(|id| names.get(&id.0).cloned())
            .collect()
    };
    super::super::render(&DeleteManyPage {
        frame: Frame::new("Delete users", &request.session, "/users"),
        count: plan.deletable.len(),
        named: pick(&plan.deletable, NAMED),
        refused: pick(&plan.refused, usize::MAX),
        fields,
    })
}

/// POST /users/delete: deletes them (the matches found again), then back to Active users.
pub async fn delete_many(
    request: TenantRequest,
    form: Form<ManageQuery>,
) -> Result<HttpResponse, WebError> {
    request.session.require(|p| p.manage_users)?;
    let chosen = form.0;
    let deleted = request
        .db(move |conn, actor, tenant, now| {
            crate::domain::db::transaction(conn, |conn| {
                let ids = manage::ids_of(chosen_users(conn, actor, tenant, &chosen)?);
                users::delete_many(conn, actor, now, tenant, &ids)
            })
        })
        .await?;
    flash(
        &request.session.session,
        format!(
            "Deleted {}. Their licenses are available to assign to someone else. You can restore them from Deleted users for {} days.",
            super::super::sorting::total(deleted as i64, "user", "users"),
            users::RESTORE_DAYS
        ),
    );
    Ok(redirect("/users"))
}
