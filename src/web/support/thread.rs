//! Working a request: Take, Assign to, Change state.

use super::*;

pub(super) fn request_id(path: web::Path<i64>) -> ServiceRequestId {
    ServiceRequestId(path.into_inner())
}

/// POST /support/requests/{id}/take
pub async fn take(
    AdminRequest {
        session,
        state,
        actor,
        now,
    }: AdminRequest,
    path: web::Path<i64>,
    _form: Form<crate::web::NoFields>,
) -> Result<HttpResponse, WebError> {
    let id = request_id(path);
    let result = state
        .db(move |conn| requests::take(conn, &actor, now, id))
        .await;
    after_change(&session, &state, id, result, "The request is yours.").await
}

#[derive(Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    staff: String,
}

/// POST /support/requests/{id}/assign
pub async fn assign(
    AdminRequest {
        session,
        state,
        actor,
        now,
    }: AdminRequest,
    path: web::Path<i64>,
    form: Form<AssignForm>,
) -> Result<HttpResponse, WebError> {
    let id = request_id(path);
    let to = form.0.staff;
    let result = state
        .db(move |conn| {
            let to = to.trim().parse().map(StaffId).map_err(|_| {
                DomainError::invalid("staff", "Choose a member of staff to assign it to.")
            })?;
            requests::assign(conn, &actor, now, id, to)
        })
        .await;
    after_change(&session, &state, id, result, "The request is assigned.").await
}

#[derive(Deserialize)]
pub struct StateForm {
    #[serde(default)]
    state: String,
    #[serde(default)]
    message: String,
}

/// POST /support/requests/{id}/state: Change state, along the allowed transitions only.
pub async fn change_state(
    AdminRequest {
        session,
        state,
        actor,
        now,
    }: AdminRequest,
    path: web::Path<i64>,
    form: Form<StateForm>,
) -> Result<HttpResponse, WebError> {
    let id = request_id(path);
    let form = form.0;
    let result = state
        .db(move |conn| {
            let to = State::parse(form.state.trim())?;
            requests::set_state(conn, &actor, now, id, to, &form.message)
        })
        .await;
    after_change(&session, &state, id, result, "The state is changed.").await
}
