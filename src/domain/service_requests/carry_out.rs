//! Carrying out what a request asks for, through the subscription and agreement rules.

use super::*;

// ------------------------------------------------------------------ carrying a request out

/// What billing support carries out for a request, as it asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Work {
    Cancel(CancelWhen),
    AddLicenses(i32),
    RemoveLicenses {
        licenses: i32,
        accept_conflict: bool,
    },
    /// Resend the activation email; `to` is the address billing support was asked to use.
    ResendActivation {
        to: Option<String>,
    },
    /// Remap the agreement to the organization the request names.
    Remap,
}

/// What carrying it out did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    Cancelled(Cancelled),
    Added { licenses: i32, bill: String },
    Removed { licenses: i32, beyond: usize },
    Resent { to: String },
    Remapped(RemapPreview),
}

/// Billing support's preview of "Remove licenses": who would be beyond the count.
pub fn preview_removal(
    conn: &mut DbConnection,
    actor: &Actor,
    id: ServiceRequestId,
    licenses: i32,
) -> Result<RemovalPreview, DomainError> {
    let head = head(conn, id)?;
    work_target(actor, &head, Kind::RemoveLicenses)?;
    subscriptions::removal_of(conn, head.tenant, subscription_of(&head)?, licenses)
}

/// Billing support's preview of a cancellation that ends the subscription now: the users its
/// licenses leave beyond the count (they lose the service, a license conflict).
pub fn preview_cancellation(
    conn: &mut DbConnection,
    actor: &Actor,
    id: ServiceRequestId,
) -> Result<Vec<(String, String)>, DomainError> {
    let head = head(conn, id)?;
    work_target(actor, &head, Kind::CancelSubscription)?;
    let sub = subscription_of(&head)?;
    let quantity = subscriptions::row_of(conn, head.tenant, sub)?
        .filter(|row| row.state.is_usable())
        .map_or(0, |row| row.quantity);
    if quantity == 0 {
        return Ok(Vec::new());
    }
    Ok(subscriptions::removal_of(conn, head.tenant, sub, quantity)?.beyond)
}

/// Billing support's preview of a remap: what it does to both organizations.
pub fn preview_remap(
    conn: &mut DbConnection,
    actor: &Actor,
    id: ServiceRequestId,
) -> Result<RemapPreview, DomainError> {
    let head = head(conn, id)?;
    work_target(actor, &head, Kind::RemapAgreement)?;
    let agreement = requesters_agreement(conn, &head)?;
    agreements::preview_remap(conn, agreement, head.target.as_deref().unwrap_or(""))
}

pub(crate) fn subscription_of(head: &Head) -> Result<SubscriptionId, DomainError> {
    head.subscription
        .ok_or_else(|| DomainError::Conflict("This request names no subscription.".into()))
}

pub(crate) fn agreement_of(head: &Head) -> Result<AgreementId, DomainError> {
    head.agreement
        .ok_or_else(|| DomainError::Conflict("This request names no agreement.".into()))
}

/// The agreement the request names, as long as the requesting organization may still name it
/// (attached to it; or not attached yet, with its OSM one of its admins). Checked again when
/// the work is done: a request filed by another organization, or one whose agreement moved
/// since, is refused and changes nothing.
pub(crate) fn requesters_agreement(
    conn: &mut DbConnection,
    head: &Head,
) -> Result<AgreementId, DomainError> {
    let id = agreement_of(head)?;
    let agreement = agreements::head(conn, id)?;
    let named = agreements::named_target(conn, &agreement)?;
    if named.tenant() == Some(head.tenant) {
        return Ok(id);
    }
    let requester = subscriptions::tenant_name(conn, head.tenant)?;
    let whose = match agreement.tenant {
        Some(owner) => format!(
            "is attached to {}",
            subscriptions::tenant_name(conn, owner)?
        ),
        None => format!("is not attached yet and its OSM is not an admin of {requester}"),
    };
    Err(DomainError::Refused(format!(
        "Agreement {} {whose}, but this request was filed by {requester}. Only the agreement's own organization can ask for \"{}\": nothing was changed.",
        agreement.number,
        head.kind.title()
    )))
}

/// Checks that billing support may carry out this work on this request, as it asks.
pub(crate) fn work_target(actor: &Actor, head: &Head, asks: Kind) -> Result<(), DomainError> {
    authz::may(actor, Action::CarryOutServiceRequest, &head.target())?;
    if head.kind != asks {
        return Err(DomainError::Conflict(format!(
            "This request asks for \"{}\", not \"{}\".",
            head.kind.title(),
            asks.title()
        )));
    }
    if !head.state.is_active() {
        return Err(DomainError::Conflict(format!(
            "This request is {}. Reopen it (In progress) to carry it out.",
            head.state.title().to_lowercase()
        )));
    }
    Ok(())
}

/// Carries out what the request asks for through the subscription rules (charges, refunds,
/// conflicts and the tenant's emails as in the admin center), notes it in the thread for the
/// customer and mails the requester, all in one transaction. An open request is taken.
/// Adding licenses is the exception: the card is charged once, outside any transaction
/// (`subscriptions::add_licenses`), and the request is noted after it.
pub fn carry_out(
    conn: &mut DbConnection,
    actor: &Actor,
    gateway: &dyn PaymentGateway,
    now: DateTime<Utc>,
    id: ServiceRequestId,
    work: Work,
) -> Result<Done, DomainError> {
    let added = match &work {
        Work::AddLicenses(licenses) => {
            let head = head(conn, id)?;
            work_target(actor, &head, Kind::AddLicenses)?;
            let sub = subscription_of(&head)?;
            Some(subscriptions::add_licenses(
                conn,
                actor,
                gateway,
                now,
                head.tenant,
                sub,
                *licenses,
            )?)
        }
        _ => None,
    };
    crate::domain::db::transaction(conn, |conn| {
        let head = head(conn, id)?;
        let asks = match &work {
            Work::Cancel(_) => Kind::CancelSubscription,
            Work::AddLicenses(_) => Kind::AddLicenses,
            Work::RemoveLicenses { .. } => Kind::RemoveLicenses,
            Work::ResendActivation { .. } => Kind::ResendActivationEmail,
            Work::Remap => Kind::RemapAgreement,
        };
        work_target(actor, &head, asks)?;
        if asks.needs_subscription() {
            // The tenant's license lock first, as every license change takes it.
            crate::domain::licenses::lock(conn, head.tenant)?;
        }
        let (done, note) = match work.clone() {
            Work::ResendActivation { to } => {
                let asked = to.or(head.target.clone());
                let agreement = requesters_agreement(conn, &head)?;
                let sent = agreements::resend_activation(conn, now, agreement, asked.as_deref())?;
                let note = format!(
                    "Billing support resent the activation email to the agreement's OSM, {sent}."
                );
                (Done::Resent { to: sent }, note)
            }
            Work::Remap => {
                let agreement = requesters_agreement(conn, &head)?;
                let preview = agreements::remap(
                    conn,
                    actor,
                    now,
                    agreement,
                    head.target.as_deref().unwrap_or(""),
                )?;
                let note = format!(
                    "Billing support remapped agreement {} from {} to {}.",
                    preview.number, preview.from, preview.to
                );
                (Done::Remapped(preview), note)
            }
            Work::Cancel(when) => {
                let sub = subscription_of(&head)?;
                let done =
                    subscriptions::cancel_on_request(conn, actor, now, head.tenant, sub, when)?;
                let note = match &done {
                    Cancelled::Now {
                        refund_cents,
                        bill: Some(bill),
                    } => format!(
                        "Billing support cancelled the subscription today. A refund of {} is on bill {bill}.",
                        billing::format_money(*refund_cents)
                    ),
                    Cancelled::Now { bill: None, .. } => {
                        "Billing support cancelled the subscription today. Its cancellation window had passed, so there is no refund.".to_owned()
                    }
                    Cancelled::AtTermEnd { ends } => format!(
                        "Billing support turned off recurring billing: the subscription ends with its term on {}.",
                        ends.format("%B %-d, %Y")
                    ),
                };
                (Done::Cancelled(done), note)
            }
            Work::AddLicenses(licenses) => {
                let bill = added.clone().ok_or(DomainError::NotFound)?;
                let note = format!(
                    "Billing support added {}. The charge is on bill {bill}.",
                    billing::count_of(licenses, "license")
                );
                (Done::Added { licenses, bill }, note)
            }
            Work::RemoveLicenses {
                licenses,
                accept_conflict,
            } => {
                let sub = subscription_of(&head)?;
                let preview = subscriptions::take_away_licenses(
                    conn,
                    actor,
                    now,
                    head.tenant,
                    sub,
                    licenses,
                    accept_conflict,
                )?;
                let note = if preview.beyond.is_empty() {
                    format!(
                        "Billing support removed {}.",
                        billing::count_of(licenses, "license")
                    )
                } else {
                    format!(
                        "Billing support removed {}. {} now beyond the count: assign fewer licenses, or add licenses, to end the license conflict.",
                        billing::count_of(licenses, "license"),
                        billing::count_of(preview.beyond.len() as i64, "user")
                    )
                };
                (
                    Done::Removed {
                        licenses,
                        beyond: preview.beyond.len(),
                    },
                    note,
                )
            }
        };
        add_comment(conn, now, id, AuthorKind::System, "allot", &note, false)?;
        if head.assigned.is_none()
            && let Actor::Staff { staff, .. } = actor
        {
            diesel::update(service_requests::table.find(id.0))
                .set(service_requests::assigned_staff_id.eq(Some(staff.0)))
                .execute(conn)?;
        }
        audit::record(
            conn,
            actor,
            now,
            Some(head.tenant),
            "Carried out service request",
            &format!("#{id}"),
            &note,
        )?;
        if head.state == State::Open {
            move_to(conn, actor, now, &head, State::InProgress, None)?;
        } else {
            touch(conn, now, id, None)?;
        }
        mail_requester(
            conn,
            now,
            id,
            &format!("Update on your service request #{id}"),
            &format!("{note}\n\nSee the request:"),
        )?;
        Ok(done)
    })
}
