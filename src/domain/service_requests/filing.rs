//! Filing a request: who may file which kind, the checks on its fields, and the subject line.

use super::*;
use crate::domain::UserId;
use crate::domain::schema::api_tokens;

// ------------------------------------------------------------------ filing and reading

/// Files a request for the admin's tenant and mails the requester a confirmation. A request
/// about a subscription must name one of the tenant's own running subscriptions.
pub fn file(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    new: &NewRequest,
) -> Result<ServiceRequestId, DomainError> {
    authz::may(
        actor,
        Action::FileServiceRequests,
        &authz::Target::Tenant(tenant),
    )?;
    let user = requester(conn, actor, tenant)?;
    let kind = Kind::parse(new.kind.trim())?;
    authz::may(actor, kind.action_to_file(), &Target::Tenant(tenant)).map_err(|_| {
        DomainError::Refused(format!(
            "Only Global and Billing admins can file a \"{}\" request.",
            kind.title()
        ))
    })?;
    let description = check_text(
        "description",
        &new.description,
        MIN_DESCRIPTION,
        "Describe the problem in at least 10 characters.",
    )?;
    let description = description.as_str();
    let (agreement, target) = if kind.is_volume_licensing() {
        let (head, target) = agreement_asked(conn, actor, kind, new)?;
        (Some(head), target)
    } else {
        (None, None)
    };
    let (subscription, quantity, subject) = if let Some(head) = &agreement {
        let subject = match (kind, &target) {
            (Kind::RemapAgreement, Some(to)) => {
                format!("{}: {} to {to}", kind.title(), head.number)
            }
            _ => format!("{}: {}", kind.title(), head.number),
        };
        (None, None, subject)
    } else if kind.needs_subscription() {
        let id = new.subscription.ok_or_else(|| {
            DomainError::invalid(
                "subscription",
                "Choose the subscription this request is about.",
            )
        })?;
        let sub = subscriptions::rows_of(conn, tenant)?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(|| {
                DomainError::invalid(
                    "subscription",
                    "Choose one of your organization's subscriptions.",
                )
            })?;
        check_subscription(kind, &sub)?;
        let quantity = if kind.needs_quantity() {
            Some(check_quantity(kind, new.quantity, &sub)?)
        } else {
            None
        };
        let subject = match quantity {
            Some(n) => format!(
                "{} {}: {}",
                if kind == Kind::AddLicenses {
                    "Add"
                } else {
                    "Remove"
                },
                billing::count_of(n, "license"),
                sub.product_name
            ),
            None => format!("{}: {}", kind.title(), sub.product_name),
        };
        (Some(sub.id), quantity, subject)
    } else {
        (
            None,
            None,
            format!("{}: {}", kind.title(), headline(description)),
        )
    };
    crate::domain::db::transaction(conn, |conn| {
        let id: i64 = diesel::insert_into(service_requests::table)
            .values((
                service_requests::tenant_id.eq(tenant.0),
                service_requests::kind.eq(kind),
                service_requests::subject.eq(&subject),
                service_requests::description.eq(description),
                service_requests::subscription_id.eq(subscription.map(|s| s.0)),
                service_requests::quantity.eq(quantity),
                service_requests::agreement_id.eq(agreement.as_ref().map(|a| a.id.0)),
                service_requests::target.eq(&target),
                service_requests::state.eq(State::Open),
                service_requests::requester_id.eq(user.0),
                service_requests::created_at.eq(naive(now)),
                service_requests::updated_at.eq(naive(now)),
            ))
            .returning(service_requests::id)
            .get_result(conn)?;
        let id = ServiceRequestId(id);
        audit::record(
            conn,
            actor,
            now,
            Some(tenant),
            "Filed service request",
            &format!("#{id}"),
            &subject,
        )?;
        mail_requester(
            conn,
            now,
            id,
            &format!("We received your service request #{id}"),
            &format!(
                "Thank you. Your service request #{id} \"{subject}\" is filed, and billing support will answer it here:"
            ),
        )?;
        Ok(id)
    })
}

/// Who a request is filed by, the person its emails go to and billing support answers: the
/// admin filing it, or, for an API token, the admin who made the token (the token has no
/// mailbox). A token whose maker is no longer an active user of the tenant files nothing.
fn requester(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
) -> Result<UserId, DomainError> {
    match actor {
        Actor::Admin { user, .. } => Ok(*user),
        Actor::ApiToken { token, .. } => {
            let maker: Option<i64> = api_tokens::table
                .inner_join(users::table.on(users::email.eq(api_tokens::created_by)))
                .filter(api_tokens::id.eq(token.0))
                .filter(users::tenant_id.eq(tenant.0))
                .filter(users::state.eq(UserState::Active))
                .select(users::id)
                .first(conn)
                .optional()?;
            maker.map(UserId).ok_or_else(|| {
                DomainError::Conflict(
                    "The admin who made this API token is no longer an active user of the \
                     organization, and a service request needs someone to answer. Make a new \
                     token."
                        .into(),
                )
            })
        }
        _ => Err(DomainError::Conflict(
            "A service request is filed by an admin of the organization.".into(),
        )),
    }
}

/// What New service request offers an admin: the types they may file, and the subscriptions
/// a request may name (the tenant's running ones, not self-service purchases).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormChoices {
    pub kinds: Vec<Kind>,
    pub subscriptions: Vec<SubscriptionRow>,
    /// Whether the admin may file the billing types (cancellations, license changes, ...).
    pub may_file_billing: bool,
}

/// The choices of New service request for `actor` in `tenant`.
pub fn form_choices(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
) -> Result<FormChoices, DomainError> {
    authz::may(
        actor,
        Action::FileServiceRequests,
        &authz::Target::Tenant(tenant),
    )?;
    let may_file_billing = authz::can(actor, Action::ManageBilling, &authz::Target::Tenant(tenant));
    let kinds = Kind::ALL
        .into_iter()
        .filter(|k| authz::can(actor, k.action_to_file(), &Target::Tenant(tenant)))
        .collect();
    let subscriptions = if may_file_billing {
        subscriptions::rows_of(conn, tenant)?
            .into_iter()
            .filter(|s| s.self_service_buyer.is_none() && s.state.is_current())
            .collect()
    } else {
        Vec::new()
    };
    Ok(FormChoices {
        kinds,
        subscriptions,
        may_file_billing,
    })
}

/// The kinds of request `actor` works in the queue: all of them for billing support, the
/// volume licensing ones for partners.
pub fn workable_kinds(actor: &Actor) -> Vec<Kind> {
    Kind::ALL
        .into_iter()
        .filter(|k| authz::can(actor, Action::WorkServiceRequest, &k.any_request()))
        .collect()
}

/// The agreement a volume licensing request names, and its target: the organization a remap
/// goes to, or the address a resend was asked for (checked here, refused when carried out).
/// A tenant names only its own agreement (`Target::NamedAgreement`); another tenant's gets
/// the answer an unknown number gets, before anything else about it is looked at.
pub(crate) fn agreement_asked(
    conn: &mut DbConnection,
    actor: &Actor,
    kind: Kind,
    new: &NewRequest,
) -> Result<(agreements::Head, Option<String>), DomainError> {
    let head = agreements::by_number(conn, &new.agreement_number)?;
    let named = agreements::named_target(conn, &head)?;
    authz::may(actor, kind.action_to_file(), &named).map_err(|refused| match refused {
        DomainError::NotFound => agreements::unknown_number(),
        other => other,
    })?;
    let asked = crate::domain::text::search("target", &new.target)?.to_lowercase();
    let target = match kind {
        Kind::RemapAgreement => {
            agreements::remap_target(conn, &head, &asked)?;
            Some(asked)
        }
        Kind::ResendActivationEmail if !asked.is_empty() => {
            crate::domain::accounts::EmailAddress::parse(&asked).map_err(|_| {
                DomainError::invalid("target", "Enter a valid email address, or leave it empty.")
            })?;
            Some(asked)
        }
        _ => None,
    };
    Ok((head, target))
}

/// A description, comment or message: line breaks and tabs kept, other control characters
/// refused, up to `MAX_TEXT` characters (the domain's one text check, `text::paragraphs`).
pub(crate) fn check_text(
    field: &'static str,
    text: &str,
    min: usize,
    too_short: &str,
) -> Result<String, DomainError> {
    crate::domain::text::paragraphs(field, text, min, MAX_TEXT, too_short)
}

pub(crate) fn check_subscription(kind: Kind, sub: &SubscriptionRow) -> Result<(), DomainError> {
    if sub.self_service_buyer.is_some() {
        return Err(DomainError::invalid(
            "subscription",
            "This is a self-service purchase: its buyer manages it. Take it over on the Licenses page first.",
        ));
    }
    let running = match kind {
        Kind::AddLicenses => sub.state.is_active(),
        _ => sub.state.is_current(),
    };
    if running {
        Ok(())
    } else {
        Err(DomainError::invalid(
            "subscription",
            format!(
                "This subscription is {}: choose a running one.",
                sub.state_title().to_lowercase()
            ),
        ))
    }
}

pub(crate) fn check_quantity(
    kind: Kind,
    quantity: Option<i32>,
    sub: &SubscriptionRow,
) -> Result<i32, DomainError> {
    let max = if kind == Kind::AddLicenses {
        100_000
    } else {
        sub.quantity
    };
    match quantity {
        Some(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(DomainError::invalid(
            "quantity",
            format!("Enter how many licenses, from 1 to {max}."),
        )),
    }
}

/// The first line of a description, short enough for a subject.
pub(crate) fn headline(description: &str) -> String {
    let line = description.lines().next().unwrap_or("").trim();
    if line.chars().count() <= 80 {
        line.to_owned()
    } else {
        let cut: String = line.chars().take(79).collect();
        format!("{}…", cut.trim_end())
    }
}

impl Kind {
    /// The fields of the new request form this kind uses besides its description, each with
    /// whether filing refuses the request without it (the checks in `filing::file`).
    pub fn fields(self) -> Vec<(&'static str, bool)> {
        let mut fields = Vec::new();
        if self.needs_subscription() {
            fields.push(("subscription", true));
        }
        if self.needs_quantity() {
            fields.push(("quantity", true));
        }
        if self.is_volume_licensing() {
            fields.push(("agreement_number", true));
        }
        match self {
            Kind::RemapAgreement => fields.push(("target", true)),
            Kind::ResendActivationEmail => fields.push(("target", false)),
            _ => {}
        }
        fields
    }
}
