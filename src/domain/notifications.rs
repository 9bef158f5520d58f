//! Settings > Notifications: which Message center kinds each admin also gets by email, and who
//! gets what. A message's emails are queued when it is posted (`messages::post`), in the same
//! transaction, to the admins whose roles may read its kind and who want it: the choice only
//! narrows what the roles allow, never widens it.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use std::collections::BTreeMap;

use super::accounts::UserState;
use super::authz::{self, Role, Target};
use super::messages::{Kind, NewMessage};
use super::schema::{notification_choices, tenants, user_roles, users};
use super::{Action, Actor, DbConnection, DomainError, TenantId, UserId, audit, db, outbox};

/// One kind an admin may read, and whether they get it by email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub kind: Kind,
    pub email: bool,
}

/// An admin of the tenant and what they get by email: per kind of `Kind::ALL`, `None` when
/// their roles may not read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub user: UserId,
    pub name: String,
    pub email: String,
    pub roles: Vec<Role>,
    pub emailed: Vec<Option<bool>>,
}

/// An active admin of `tenant` as the actor the rules see.
struct Admin {
    user: UserId,
    name: String,
    email: String,
    roles: Vec<Role>,
}

impl Admin {
    fn actor(&self, tenant: TenantId) -> Actor {
        Actor::Admin {
            user: self.user,
            tenant,
            email: self.email.clone(),
            roles: self.roles.clone(),
        }
    }
}

/// The tenant's active admins, by name. Read when a message is posted or the page is shown,
/// never per request elsewhere.
fn admins(conn: &mut DbConnection, tenant: TenantId) -> Result<Vec<Admin>, DomainError> {
    let rows: Vec<(i64, String, String, Role)> = users::table
        .inner_join(user_roles::table)
        .filter(users::tenant_id.eq(tenant.0))
        .filter(user_roles::tenant_id.eq(tenant.0))
        .filter(users::state.eq(UserState::Active))
        .order((users::display_name, users::id))
        .select((
            users::id,
            users::display_name,
            users::email,
            user_roles::role,
        ))
        .load(conn)?;
    let mut admins: Vec<Admin> = Vec::new();
    for (id, name, email, role) in rows {
        match admins.last_mut() {
            Some(last) if last.user.0 == id => last.roles.push(role),
            _ => admins.push(Admin {
                user: UserId(id),
                name,
                email,
                roles: vec![role],
            }),
        }
    }
    for admin in &mut admins {
        admin.roles.sort();
    }
    Ok(admins)
}

/// The choices made in `tenant`: (user, kind) → email.
fn chosen(
    conn: &mut DbConnection,
    tenant: TenantId,
    user: Option<UserId>,
) -> Result<BTreeMap<(i64, Kind), bool>, DomainError> {
    let mut query = notification_choices::table
        .filter(notification_choices::tenant_id.eq(tenant.0))
        .select((
            notification_choices::user_id,
            notification_choices::kind,
            notification_choices::email,
        ))
        .into_boxed();
    if let Some(user) = user {
        query = query.filter(notification_choices::user_id.eq(user.0));
    }
    let rows: Vec<(i64, String, bool)> = query.load(conn)?;
    // A kind this build no longer knows is skipped, not an error.
    Ok(rows
        .into_iter()
        .filter_map(|(u, kind, email)| kind.parse::<Kind>().ok().map(|k| ((u, k), email)))
        .collect())
}

fn own_account(actor: &Actor, tenant: TenantId) -> Result<UserId, DomainError> {
    authz::may(actor, Action::ViewAdminCenter, &Target::Tenant(tenant))?;
    match actor {
        Actor::Admin { user, .. } => Ok(*user),
        _ => Err(DomainError::Forbidden),
    }
}

/// The kinds `actor` may read, each with whether it is emailed to them.
pub fn choices(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
) -> Result<Vec<Choice>, DomainError> {
    let user = own_account(actor, tenant)?;
    let chosen = chosen(conn, tenant, Some(user))?;
    Ok(Kind::readable_by(actor, tenant)
        .into_iter()
        .map(|kind| Choice {
            kind,
            email: chosen
                .get(&(user.0, kind))
                .copied()
                .unwrap_or(kind.emailed_by_default()),
        })
        .collect())
}

/// Saves `actor`'s choice: the kinds in `emailed` are emailed, the other kinds they may read
/// are not. A kind they may not read is refused.
pub fn choose(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    emailed: &[Kind],
) -> Result<Vec<Choice>, DomainError> {
    let user = own_account(actor, tenant)?;
    let readable = Kind::readable_by(actor, tenant);
    if let Some(kind) = emailed.iter().find(|k| !readable.contains(k)) {
        return Err(DomainError::invalid(
            "email",
            format!("Your roles don't let you read {} messages.", kind.title()),
        ));
    }
    db::transaction(conn, |conn| {
        diesel::delete(
            notification_choices::table
                .filter(notification_choices::tenant_id.eq(tenant.0))
                .filter(notification_choices::user_id.eq(user.0)),
        )
        .execute(conn)?;
        let rows: Vec<_> = readable
            .iter()
            .map(|kind| {
                (
                    notification_choices::tenant_id.eq(tenant.0),
                    notification_choices::user_id.eq(user.0),
                    notification_choices::kind.eq(kind.as_str()),
                    notification_choices::email.eq(emailed.contains(kind)),
                )
            })
            .collect();
        db::insert_batch!(conn, notification_choices::table, &rows)?;
        let said: Vec<&str> = emailed.iter().map(|k| k.title()).collect();
        audit::record(
            conn,
            actor,
            now,
            Some(tenant),
            "Changed email notifications",
            &actor.label(),
            &match said.is_empty() {
                true => "Emailed: none".to_owned(),
                false => format!("Emailed: {}", said.join(", ")),
            },
        )?;
        Ok(())
    })?;
    choices(conn, actor, tenant)
}

/// Who gets what: every active admin of `tenant` and which kinds are emailed to them.
pub fn recipients(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
) -> Result<Vec<Recipient>, DomainError> {
    authz::may(
        actor,
        Action::ViewNotificationRecipients,
        &Target::Tenant(tenant),
    )?;
    let chosen = chosen(conn, tenant, None)?;
    Ok(admins(conn, tenant)?
        .into_iter()
        .map(|admin| {
            let readable = Kind::readable_by(&admin.actor(tenant), tenant);
            let emailed = Kind::ALL
                .into_iter()
                .map(|kind| {
                    readable.contains(&kind).then(|| {
                        chosen
                            .get(&(admin.user.0, kind))
                            .copied()
                            .unwrap_or(kind.emailed_by_default())
                    })
                })
                .collect();
            Recipient {
                user: admin.user,
                name: admin.name,
                email: admin.email,
                roles: admin.roles,
                emailed,
            }
        })
        .collect())
}

/// Queues `message`'s email to each admin of `tenant` who may read its kind and wants it. Called
/// by `messages::post` for a new message only, in its transaction. Returns how many were queued.
pub(crate) fn email(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    tenant: TenantId,
    message: &NewMessage<'_>,
) -> Result<usize, DomainError> {
    let chosen = chosen(conn, tenant, None)?;
    // Named like the other mail to a tenant's admins ("Contoso: …"): one may admin several.
    let tenant_name: String = tenants::table
        .find(tenant.0)
        .select(tenants::name)
        .first(conn)?;
    let subject = format!("{tenant_name}: {}", message.subject);
    let mut queued = 0;
    for admin in admins(conn, tenant)? {
        // The roles decide first: a choice row never lets an admin read what they may not.
        if !authz::can(
            &admin.actor(tenant),
            message.kind.needs(),
            &Target::Tenant(tenant),
        ) {
            continue;
        }
        let wants = chosen
            .get(&(admin.user.0, message.kind))
            .copied()
            .unwrap_or(message.kind.emailed_by_default());
        if !wants {
            continue;
        }
        let body = format!(
            "{}\n\nYou get this email because Settings > Notifications in the admin center says so; change it there.",
            message.body
        );
        outbox::enqueue(
            conn,
            now,
            &outbox::Email {
                tenant: Some(tenant),
                to: &admin.email,
                subject: &subject,
                body: &body,
                link: Some(message.link),
            },
        )?;
        queued += 1;
    }
    Ok(queued)
}
