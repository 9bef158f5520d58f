//! A request's page and thread: comments, internal notes, taking, assigning and its states.

use super::*;

/// One request with its thread. Tenant admins of its tenant see it without internal notes;
/// staff who may work it see everything.
pub fn view(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    id: ServiceRequestId,
) -> Result<Request, DomainError> {
    let head = head(conn, id)?;
    let side = side_of(actor, &head)?;
    let (
        description,
        requester_name,
        requester_email,
        created_at,
        updated_at,
        tenant_name,
        exported,
    ): (
        String,
        String,
        String,
        NaiveDateTime,
        NaiveDateTime,
        String,
        Option<NaiveDateTime>,
    ) = service_requests::table
        .inner_join(users::table)
        .inner_join(tenants::table)
        .filter(service_requests::id.eq(id.0))
        .select((
            service_requests::description,
            users::display_name,
            users::email,
            service_requests::created_at,
            service_requests::updated_at,
            tenants::name,
            tenants::data_exported_at,
        ))
        .first(conn)?;
    let assigned = match head.assigned {
        Some(staff_id) => Some((
            staff_id,
            staff::table
                .find(staff_id.0)
                .select(staff::display_name)
                .first::<String>(conn)?,
        )),
        None => None,
    };
    let mut thread = service_request_comments::table
        .filter(service_request_comments::request_id.eq(id.0))
        .into_boxed();
    if side == Side::Customer {
        thread = thread.filter(service_request_comments::internal.eq(false));
    }
    let comments = thread
        .order(service_request_comments::id)
        .select((
            service_request_comments::author_kind,
            service_request_comments::author,
            service_request_comments::body,
            service_request_comments::internal,
            service_request_comments::created_at,
        ))
        .load::<(AuthorKind, String, String, bool, NaiveDateTime)>(conn)?
        .into_iter()
        .map(|(author_kind, author, body, internal, at)| Comment {
            author_kind,
            author,
            body,
            internal,
            created_at: utc(at),
        })
        .collect();
    let subscription = match head.subscription {
        Some(sub) => subscriptions::row_of(conn, head.tenant, sub)?,
        None => None,
    };
    let (agreement, agreement_attached_to) = match head.agreement {
        Some(a) => {
            let (number, attached): (String, Option<i64>) = agreement_table::table
                .find(a.0)
                .select((agreement_table::number, agreement_table::tenant_id))
                .first(conn)?;
            // Staff see whose agreement it is, beside whose request; a tenant sees only its own.
            let attached_to = match (side, attached) {
                (Side::Staff, Some(t)) => Some(subscriptions::tenant_name(conn, TenantId(t))?),
                _ => None,
            };
            (Some((a, number)), attached_to)
        }
        None => (None, None),
    };
    let data_safety = match (&subscription, head.kind) {
        (Some(sub), Kind::CancelSubscription) => Some(DataSafety {
            deleted_on: subscriptions::data_deleted_on(conn, head.tenant, sub.id, now)?,
            if_cancelled_today: sub.recurring_billing && sub.state.is_current(),
            exported_at: exported.map(utc),
        }),
        _ => None,
    };
    Ok(Request {
        id,
        tenant: head.tenant,
        tenant_name,
        kind: head.kind,
        subject: head.subject,
        description,
        subscription,
        quantity: head.quantity,
        agreement,
        agreement_attached_to,
        target: head.target,
        state: head.state,
        requester_name,
        requester_email,
        assigned,
        created_at: utc(created_at),
        updated_at: utc(updated_at),
        comments,
        data_safety,
    })
}

// ------------------------------------------------------------------ the thread and states

/// Adds a comment. Tenant admins write to billing support, which reopens a request waiting on
/// them or resolved; staff reply to the customer (mailed) or write an internal note (never
/// shown to the tenant, never mailed).
pub fn comment(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    id: ServiceRequestId,
    body: &str,
    internal: bool,
) -> Result<(), DomainError> {
    let body = check_text("body", body, 1, "Write a comment.")?;
    let body = body.as_str();
    crate::domain::db::transaction(conn, |conn| {
        let head = head(conn, id)?;
        let side = side_of(actor, &head)?;
        if head.state == State::Closed {
            return Err(DomainError::Conflict(
                "This request is closed. File a new service request to ask again.".into(),
            ));
        }
        if internal || side == Side::Staff {
            authz::may(actor, Action::WorkServiceRequest, &head.target())?;
        }
        match side {
            Side::Customer => {
                let author = name_of(conn, actor)?;
                add_comment(conn, now, id, AuthorKind::Customer, &author, body, false)?;
                let reopened = match head.state {
                    State::WaitingOnCustomer | State::Resolved => {
                        Some(if head.assigned.is_some() {
                            State::InProgress
                        } else {
                            State::Open
                        })
                    }
                    _ => None,
                };
                touch(conn, now, id, reopened)?;
                audit::record(
                    conn,
                    actor,
                    now,
                    Some(head.tenant),
                    "Commented on service request",
                    &format!("#{id}"),
                    &reopened.map_or(String::new(), |s| format!("now {}", s.title())),
                )?;
            }
            Side::Staff => {
                let author = name_of(conn, actor)?;
                add_comment(conn, now, id, AuthorKind::Staff, &author, body, internal)?;
                touch(conn, now, id, None)?;
                if internal {
                    // Staff only: no tenant, so it never shows in the tenant's audit log.
                    audit::record(
                        conn,
                        actor,
                        now,
                        None,
                        "Added an internal note",
                        &format!("#{id}"),
                        "",
                    )?;
                } else {
                    audit::record(
                        conn,
                        actor,
                        now,
                        Some(head.tenant),
                        "Replied to service request",
                        &format!("#{id}"),
                        "",
                    )?;
                    let about = format!("reply:{id}:{}", now.timestamp_micros());
                    let subject = format!("Billing support replied to service request #{id}");
                    let link = format!("/support/requests/{id}");
                    let message = crate::domain::messages::NewMessage {
                        kind: crate::domain::messages::Kind::RequestReply,
                        about: &about,
                        subject: &subject,
                        body,
                        link: &link,
                    };
                    crate::domain::messages::post(conn, now, head.tenant, &message)?;
                    mail_requester(
                        conn,
                        now,
                        id,
                        &format!("Billing support replied to your service request #{id}"),
                        &format!("{body}\n\nReply or follow the request here:"),
                    )?;
                }
            }
        }
        Ok(())
    })
}

/// Staff take a request: it is theirs, and in progress.
pub fn take(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    id: ServiceRequestId,
) -> Result<(), DomainError> {
    authz::may(actor, Action::WorkServiceRequest, &Target::Provider)?;
    let Actor::Staff { staff, .. } = actor else {
        return Err(DomainError::Conflict(
            "Only a member of staff can take a request.".into(),
        ));
    };
    assign(conn, actor, now, id, *staff)
}

/// Staff give a request to a colleague who may work it (or to themselves). An open request
/// goes in progress.
pub fn assign(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    id: ServiceRequestId,
    to: StaffId,
) -> Result<(), DomainError> {
    crate::domain::db::transaction(conn, |conn| {
        let head = head(conn, id)?;
        authz::may(actor, Action::WorkServiceRequest, &head.target())?;
        if head.state == State::Closed {
            return Err(DomainError::Conflict("This request is closed.".into()));
        }
        let choices = staff_choices(conn, actor, head.kind)?;
        let Some((_, name)) = choices.into_iter().find(|(s, _)| *s == to) else {
            return Err(DomainError::invalid(
                "staff",
                "Choose a member of staff who works this kind of request.",
            ));
        };
        diesel::update(service_requests::table.find(id.0))
            .set(service_requests::assigned_staff_id.eq(Some(to.0)))
            .execute(conn)?;
        audit::record(
            conn,
            actor,
            now,
            None,
            "Assigned service request",
            &format!("#{id}"),
            &name,
        )?;
        if head.state == State::Open {
            move_to(conn, actor, now, &head, State::InProgress, None)?;
        } else {
            touch(conn, now, id, None)?;
        }
        Ok(())
    })
}

/// Staff move a request along an allowed transition. Resolving needs a message to the
/// customer, which goes into the thread and the email.
pub fn set_state(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    id: ServiceRequestId,
    to: State,
    message: &str,
) -> Result<(), DomainError> {
    // Empty is no message; anything else is checked as every text is.
    let message = match message.trim() {
        "" => String::new(),
        text => check_text("message", text, 1, "Write a message.")?,
    };
    let message = message.as_str();
    crate::domain::db::transaction(conn, |conn| {
        let head = head(conn, id)?;
        authz::may(actor, Action::WorkServiceRequest, &head.target())?;
        if !head.state.next_for_staff().contains(&to) {
            return Err(DomainError::Conflict(format!(
                "A request that is {} can't be moved to {}.{}",
                head.state.title().to_lowercase(),
                to.title().to_lowercase(),
                match head.state.next_for_staff() {
                    [] => String::new(),
                    next => format!(
                        " It can go to: {}.",
                        next.iter()
                            .map(|s| s.title().to_lowercase())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }
            )));
        }
        if to == State::Resolved && message.is_empty() {
            return Err(DomainError::invalid(
                "message",
                "Write the customer a message that says how the request was resolved.",
            ));
        }
        move_to(
            conn,
            actor,
            now,
            &head,
            to,
            Some(message).filter(|m| !m.is_empty()),
        )
    })
}

/// The tenant closes its own request, in any state but closed.
pub fn close(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    id: ServiceRequestId,
) -> Result<(), DomainError> {
    crate::domain::db::transaction(conn, |conn| {
        let head = head(conn, id)?;
        authz::may(actor, Action::FileServiceRequests, &head.target())?;
        if head.state == State::Closed {
            return Err(DomainError::Conflict(
                "This request is already closed.".into(),
            ));
        }
        move_to(conn, actor, now, &head, State::Closed, None)
    })
}

/// Changes the state, notes it in the thread, audits it and mails the requester.
pub(crate) fn move_to(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    head: &Head,
    to: State,
    message: Option<&str>,
) -> Result<(), DomainError> {
    let id = head.id;
    let who = name_of(conn, actor)?;
    if let Some(message) = message {
        let kind = match actor {
            Actor::System(_) => AuthorKind::System,
            _ => AuthorKind::Staff,
        };
        add_comment(conn, now, id, kind, &who, message, false)?;
    }
    add_comment(
        conn,
        now,
        id,
        AuthorKind::System,
        "allot",
        &format!("{who} changed the state to {}.", to.title()),
        false,
    )?;
    touch(conn, now, id, Some(to))?;
    audit::record(
        conn,
        actor,
        now,
        Some(head.tenant),
        "Changed service request state",
        &format!("#{id}"),
        &format!("{} → {}", head.state.title(), to.title()),
    )?;
    let body = match message {
        Some(message) => format!(
            "Your service request #{id} \"{}\" is now {}.\n\n{message}\n\nSee the request:",
            head.subject,
            to.title().to_lowercase()
        ),
        None => format!(
            "Your service request #{id} \"{}\" is now {}.\n\nSee the request:",
            head.subject,
            to.title().to_lowercase()
        ),
    };
    mail_requester(
        conn,
        now,
        id,
        &format!("Service request #{id} is {}", to.title().to_lowercase()),
        &body,
    )
}

/// How long a resolved request waits for the customer before it closes by itself.
pub const RESOLVED_UNTIL_CLOSED: Duration = Duration::days(14);

/// Closes the requests resolved at least 14 days ago with no word since: the customer had
/// their answer. One request per transaction; a failed one is counted in `failures` and the
/// rest go on. Run by `tick`; idempotent. Returns how many it closed.
pub fn close_resolved(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    failures: &mut usize,
) -> Result<usize, DomainError> {
    let due = |conn: &mut DbConnection, only: Option<i64>| {
        let mut query = service_requests::table
            .filter(service_requests::state.eq(State::Resolved))
            .filter(service_requests::updated_at.le(naive(now - RESOLVED_UNTIL_CLOSED)))
            .into_boxed();
        if let Some(id) = only {
            query = query.filter(service_requests::id.eq(id));
        }
        query
            .order(service_requests::id)
            .select(service_requests::id)
            .load::<i64>(conn)
    };
    let system = Actor::System("service requests");
    let mut closed = 0;
    for id in due(conn, None)? {
        let done = crate::domain::db::transaction(conn, |conn| {
            // Answered or closed since it was listed: it stays as it is.
            if due(conn, Some(id))?.is_empty() {
                return Ok(false);
            }
            let head = head(conn, ServiceRequestId(id))?;
            move_to(
                conn,
                &system,
                now,
                &head,
                State::Closed,
                Some(
                    "Closed 14 days after it was resolved, with no reply. To ask again, file a new service request.",
                ),
            )?;
            Ok(true)
        });
        if crate::domain::db::keep_going(failures, "close resolved request", id, done) == Some(true)
        {
            closed += 1;
        }
    }
    Ok(closed)
}
