//! The OSM's activation link, its preview with the data-loss warning, and attaching.

use super::*;

// ------------------------------------------------------------------ activation

pub(crate) fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Sends the OSM on file an activation email with a new single-use link. Returns the link.
pub(crate) fn issue_activation(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    head: &Head,
) -> Result<String, DomainError> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    diesel::insert_into(agreement_activations::table)
        .values((
            agreement_activations::agreement_id.eq(head.id.0),
            agreement_activations::token_hash.eq(hash_token(&token)),
            agreement_activations::sent_to.eq(&head.osm_email),
            agreement_activations::created_at.eq(naive(now)),
            agreement_activations::expires_at.eq(naive(now + ACTIVATION_VALID)),
        ))
        .execute(conn)?;
    let link = format!("/agreements/activate/{token}");
    outbox::enqueue(
        conn,
        now,
        &outbox::Email {
            tenant: None,
            to: &head.osm_email,
            subject: &format!("Activate your {} {}", head.program.title(), head.number),
            body: &format!(
                "You are the Online Services Manager (OSM) of {} {} for {}. Its order has been invoiced: sign in to your organization's admin center with the link below to attach its licenses. The link works once, until {}.",
                head.program.title(),
                head.number,
                head.customer,
                (now + ACTIVATION_VALID).format("%B %-d, %Y")
            ),
            link: Some(&link),
        },
    )?;
    Ok(link)
}

/// What an activation link would do for the signed-in admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivationPreview {
    pub agreement: Head,
    pub tenant_name: String,
    /// The tenant the agreement is attached to already, when it is: new licenses attach there
    /// and can't be associated with another organization (the seed's note).
    pub attached_to: Option<String>,
    /// What the agreement brings, per product: (product, item, quantity).
    pub brings: Vec<(String, Item, i64)>,
    /// The seed's data-loss rule: products and add-ons the order holds fewer of than the
    /// tenant's direct subscriptions.
    pub warnings: Vec<String>,
    /// The direct subscriptions of the same products: they stay until cancelled.
    pub direct: Vec<(SubscriptionId, String, i32)>,
}

/// Checks a link: unknown is "not found"; used or expired is a conflict that says so.
pub(crate) fn activation_of(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    token: &str,
) -> Result<(i64, AgreementId), DomainError> {
    let found: Option<(i64, i64, NaiveDateTime, Option<NaiveDateTime>)> =
        agreement_activations::table
            .filter(agreement_activations::token_hash.eq(hash_token(token.trim())))
            .select((
                agreement_activations::id,
                agreement_activations::agreement_id,
                agreement_activations::expires_at,
                agreement_activations::used_at,
            ))
            .first(conn)
            .optional()?;
    let Some((id, agreement, expires, used)) = found else {
        return Err(DomainError::NotFound);
    };
    if used.is_some() {
        return Err(DomainError::Conflict(
            "This activation link has already been used. The agreement's licenses are attached; see Settings > Agreements.".into(),
        ));
    }
    if utc(expires) <= now {
        return Err(DomainError::Conflict(format!(
            "This activation link expired on {}. Ask billing support, with a \"Resend activation email\" service request, to send a new one to the OSM.",
            utc(expires).format("%B %-d, %Y")
        )));
    }
    Ok((id, AgreementId(agreement)))
}

/// Asks `may` whether the actor may attach an agreement to their organization, which it returns.
pub(crate) fn may_activate(actor: &Actor) -> Result<TenantId, DomainError> {
    let Some(tenant) = actor.tenant() else {
        return authz::may(actor, Action::ActivateAgreement, &Target::Provider)
            .and(Err(DomainError::NotFound));
    };
    authz::may(actor, Action::ActivateAgreement, &Target::Tenant(tenant)).map_err(|_| {
        DomainError::Refused(
            "Only a Global or Billing admin of the organization can attach an agreement's licenses to it.".into(),
        )
    })?;
    Ok(tenant)
}

/// What following the link would do: the licenses it brings, the data-loss warnings, the
/// direct subscriptions that stay.
pub fn preview_activation(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    token: &str,
) -> Result<ActivationPreview, DomainError> {
    let tenant = may_activate(actor)?;
    let (_, agreement) = activation_of(conn, now, token)?;
    let head = head(conn, agreement)?;
    let tenant_name = crate::domain::subscriptions::tenant_name(conn, tenant)?;
    let attached_to = match head.tenant {
        Some(t) => Some(crate::domain::subscriptions::tenant_name(conn, t)?),
        None => None,
    };
    let names: BTreeMap<i64, String> = products::table
        .select((products::id, products::name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect();
    let totals = totals(conn, agreement)?;
    let brings = totals
        .iter()
        .map(|((p, item), n)| (names.get(p).cloned().unwrap_or_default(), *item, *n))
        .collect();
    // The tenant's direct (not volume licensing, not self-service) running subscriptions.
    // (subscription, product, licenses, production instances, storage GB)
    type DirectRow = (i64, i64, i32, Option<i32>, Option<i32>);
    let direct_rows: Vec<DirectRow> = subscriptions::table
        .left_join(subscription_addons::table)
        .filter(subscriptions::tenant_id.eq(tenant.0))
        .filter(subscriptions::purchase_channel.ne(PurchaseChannel::VolumeLicensing))
        .filter(subscriptions::self_service_buyer_id.is_null())
        .filter(subscriptions::state.eq_any([
            SubscriptionState::Active,
            SubscriptionState::PastDue,
            SubscriptionState::Disabled,
        ]))
        .order(subscriptions::id)
        .select((
            subscriptions::id,
            subscriptions::product_id,
            subscriptions::quantity,
            subscription_addons::production_instances.nullable(),
            subscription_addons::storage_gb.nullable(),
        ))
        .load(conn)?;
    let mut have: BTreeMap<(i64, Item), i64> = BTreeMap::new();
    let mut direct = Vec::new();
    for (id, product, quantity, instances, storage) in &direct_rows {
        *have.entry((*product, Item::Licenses)).or_insert(0) += i64::from(*quantity);
        *have
            .entry((*product, Item::ProductionInstances))
            .or_insert(0) += i64::from(instances.unwrap_or(0));
        *have.entry((*product, Item::StorageGb)).or_insert(0) += i64::from(storage.unwrap_or(0));
        if totals.keys().any(|(p, _)| p == product) {
            direct.push((
                SubscriptionId(*id),
                names.get(product).cloned().unwrap_or_default(),
                *quantity,
            ));
        }
    }
    let mut warnings = Vec::new();
    for ((product, item), now_held) in &have {
        // Only products the agreement carries: the others stay as they are.
        if !totals.keys().any(|(p, _)| p == product) || *now_held == 0 {
            continue;
        }
        let ordered = totals.get(&(*product, *item)).copied().unwrap_or(0);
        if ordered < *now_held {
            let name = names.get(product).cloned().unwrap_or_default();
            warnings.push(match item {
                Item::Licenses => format!(
                    "You have {now_held} {name} licenses now; this agreement holds {ordered}."
                ),
                addon => format!(
                    "You have {now_held} {} for {name} now; this agreement holds {ordered}.",
                    addon.noun()
                ),
            });
        }
    }
    Ok(ActivationPreview {
        agreement: head,
        tenant_name,
        attached_to,
        brings,
        warnings,
        direct,
    })
}

/// The OSM attaches the agreement's licenses to their organization: agreement subscriptions
/// appear and pool with the direct ones, which are not cancelled. Every link of the agreement
/// is used up.
pub fn activate(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    token: &str,
) -> Result<ActivationPreview, DomainError> {
    crate::domain::db::transaction(conn, |conn| {
        let preview = preview_activation(conn, actor, now, token)?;
        let head = &preview.agreement;
        if let Some(name) = &preview.attached_to {
            return Err(DomainError::Conflict(format!(
                "Agreement {} already has online services licenses attached to {name}: its new licenses attach there automatically and can't be associated with another organization. To move them, ask billing support to remap the agreement.",
                head.number
            )));
        }
        let tenant = may_activate(actor)?;
        attach(conn, now, head.id, tenant)?;
        let brings = preview
            .brings
            .iter()
            .map(|(p, item, n)| match item {
                Item::Licenses => format!("{n} {p} licenses"),
                addon => format!("{n} {} ({p})", addon.noun()),
            })
            .collect::<Vec<_>>()
            .join(", ");
        audit::record(
            conn,
            actor,
            now,
            Some(tenant),
            "Activated agreement",
            &head.number,
            &brings,
        )?;
        billing::mail_billing_admins(
            conn,
            now,
            tenant,
            &format!("Agreement {} is attached", head.number),
            &format!(
                "{brings} now pool with your other licenses. Your direct subscriptions are not cancelled: to stop their billing, file a \"Cancel subscription\" service request."
            ),
        )?;
        Ok(preview)
    })
}

/// Attaches the agreement to `tenant`: its subscriptions appear there, every link is used up.
pub(crate) fn attach(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    agreement: AgreementId,
    tenant: TenantId,
) -> Result<(), DomainError> {
    licenses::lock(conn, tenant)?;
    let attached = diesel::update(
        agreements::table
            .find(agreement.0)
            .filter(agreements::tenant_id.is_null()),
    )
    .set((
        agreements::tenant_id.eq(Some(tenant.0)),
        agreements::attached_at.eq(Some(naive(now))),
    ))
    .execute(conn)?;
    if attached == 0 {
        return Err(DomainError::Conflict(
            "The agreement was attached meanwhile.".into(),
        ));
    }
    diesel::update(
        agreement_activations::table
            .filter(agreement_activations::agreement_id.eq(agreement.0))
            .filter(agreement_activations::used_at.is_null()),
    )
    .set(agreement_activations::used_at.eq(Some(naive(now))))
    .execute(conn)?;
    sync_subscriptions(conn, now, agreement, tenant)
}
