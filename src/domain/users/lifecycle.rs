//! Add a user, rename, block, reset password, delete, restore and purge.
//!
//! A little over 500 lines: one account's life from creation to purge reads in order here;
//! `rename` is the next candidate to move out (with `sign_in_name`) when the file grows again.

use super::*;
use crate::domain::accounts::Principal;
use crate::domain::licenses::name_pool_error;
use crate::domain::sessions::{self, Ended};

/// A new user's details, as the Add a user form gives them.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub display_name: String,
    pub email: String,
    /// `None`: generate one, to be shown once.
    pub password: Option<String>,
    pub products: Vec<ProductId>,
}

/// What `create` made.
#[derive(Debug, Clone)]
pub struct Created {
    pub user: UserId,
    pub email: String,
    /// The generated password, shown once; `None` when the admin typed one.
    pub generated_password: Option<String>,
}

/// Add a user, with licenses from the tenant's pools: all in one transaction, so a pool with no
/// license left refuses the whole thing.
pub fn create(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    new: &NewUser,
) -> Result<Created, DomainError> {
    authz::may(actor, Action::ManageUsers, &authz::Target::Tenant(tenant))?;
    if !new.products.is_empty() {
        authz::may(
            actor,
            Action::AssignLicenses,
            &authz::Target::Tenant(tenant),
        )?;
    }
    let email = sign_in_name(conn, tenant, &new.email)?;
    let (password, generated) = match &new.password {
        Some(p) => (p.clone(), None),
        None => {
            let p = passwords::generate();
            (p.clone(), Some(p))
        }
    };
    let hash = passwords::hash_new(&password)?;
    crate::domain::db::transaction(conn, |conn| {
        licenses::lock(conn, tenant)?;
        let user = accounts::insert_user(conn, now, tenant, &new.display_name, &email, &hash)?;
        audit::record(
            conn,
            actor,
            now,
            Some(tenant),
            "Added user",
            email.as_str(),
            new.display_name.trim(),
        )?;
        for product in &new.products {
            licenses::assign_locked(conn, actor, now, tenant, PoolRef::Tenant(*product), &[user])
                .map_err(|e| name_pool_error(conn, *product, e))?;
        }
        Ok(Created {
            user,
            email: email.as_str().to_owned(),
            generated_password: generated.clone(),
        })
    })
}

/// What `rename` changed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Renamed {
    pub display_name: bool,
    pub sign_in_name: bool,
}

/// Changes a user's display name and sign-in name (their page's Name and sign-in name). The
/// sign-in name stays at the tenant's domain and unique across every tenant; the containment
/// rule applies as for blocking (a User admin doesn't rename a Global admin). Sessions go on:
/// they belong to the account, whatever it is called.
pub fn rename(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    user: UserId,
    display_name: &str,
    sign_in: &str,
) -> Result<Renamed, DomainError> {
    authz::may(actor, Action::RenameUser, &target(conn, tenant, user)?)?;
    let display_name = crate::domain::text::line(
        "display_name",
        display_name,
        1..=120,
        "A display name has 1 to 120 characters.",
    )?;
    let email = sign_in_name(conn, tenant, sign_in)?;
    crate::domain::db::transaction(conn, |conn| {
        let (old_name, old_email): (String, String) = users::table
            .filter(users::id.eq(user.0))
            .filter(users::tenant_id.eq(tenant.0))
            .filter(users::state.ne(UserState::Deleted))
            .select((users::display_name, users::email))
            .first(conn)
            .optional()?
            .ok_or(DomainError::NotFound)?;
        let renamed = Renamed {
            display_name: old_name != display_name,
            sign_in_name: old_email != email.as_str(),
        };
        if renamed == Renamed::default() {
            return Ok(renamed);
        }
        if renamed.sign_in_name && accounts::email_taken(conn, &email)? {
            return Err(DomainError::invalid(
                "email",
                format!("The sign-in name {} is already in use.", email.as_str()),
            ));
        }
        diesel::update(users::table.find(user.0))
            .set((
                users::display_name.eq(&display_name),
                users::name_key.eq(display_name.to_lowercase()),
                users::email.eq(email.as_str()),
                users::updated_at.eq(Some(naive(now))),
            ))
            .execute(conn)?;
        let mut detail = Vec::new();
        if renamed.display_name {
            detail.push(format!("Display name {old_name} → {display_name}"));
        }
        if renamed.sign_in_name {
            detail.push(format!("sign-in name {old_email} → {}", email.as_str()));
        }
        audit::record(
            conn,
            actor,
            now,
            Some(tenant),
            "Changed user",
            email.as_str(),
            &detail.join(", "),
        )?;
        Ok(renamed)
    })
}

/// A sign-in name for a user of `tenant`: an email address at the tenant's domain.
pub(crate) fn sign_in_name(
    conn: &mut DbConnection,
    tenant: TenantId,
    raw: &str,
) -> Result<EmailAddress, DomainError> {
    let email = EmailAddress::parse(raw)?;
    let tenant_domain: String = tenants::table
        .find(tenant.0)
        .select(tenants::domain)
        .first(conn)?;
    if email.domain() != tenant_domain {
        return Err(DomainError::invalid(
            "email",
            format!("The sign-in name must end with @{tenant_domain}."),
        ));
    }
    Ok(email)
}

/// Block sign-in (or allow it again). A blocked user keeps their licenses but cannot sign in.
pub fn set_blocked(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    user: UserId,
    blocked: bool,
) -> Result<(), DomainError> {
    authz::may(actor, Action::BlockUser, &target(conn, tenant, user)?)?;
    crate::domain::db::transaction(conn, |conn| {
        let email = user_email(conn, tenant, user, false)?;
        diesel::update(users::table.find(user.0))
            .set(users::state.eq(if blocked {
                UserState::Blocked
            } else {
                UserState::Active
            }))
            .execute(conn)?;
        if blocked {
            // Ended, not paused: unblocking must not bring the old sessions back.
            sessions::end_all(conn, now, Principal::User(user), Ended::Blocked)?;
        }
        let action = if blocked {
            "Blocked sign-in"
        } else {
            "Allowed sign-in"
        };
        audit::record(conn, actor, now, Some(tenant), action, &email, "")
    })
}

/// Reset password: a new one, typed by the admin or generated (and shown once).
pub fn reset_password(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    user: UserId,
    password: Option<&str>,
) -> Result<Option<String>, DomainError> {
    authz::may(actor, Action::ResetPassword, &target(conn, tenant, user)?)?;
    let (password, generated) = match password {
        Some(p) => (p.to_owned(), None),
        None => {
            let p = passwords::generate();
            (p.clone(), Some(p))
        }
    };
    let hash = passwords::hash_new(&password)?;
    crate::domain::db::transaction(conn, |conn| {
        let email = user_email(conn, tenant, user, false)?;
        diesel::update(users::table.find(user.0))
            .set(users::password_hash.eq(&hash))
            .execute(conn)?;
        sessions::end_all(conn, now, Principal::User(user), Ended::PasswordReset)?;
        audit::record(conn, actor, now, Some(tenant), "Reset password", &email, "")?;
        Ok(generated.clone())
    })
}

/// Delete user: their licenses are free at once (remembered for a restore), their held data
/// ends, and they can be restored for 30 days.
pub fn delete(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    user: UserId,
) -> Result<(), DomainError> {
    authz::may(actor, Action::DeleteUser, &target(conn, tenant, user)?)?;
    crate::domain::db::transaction(conn, |conn| {
        licenses::lock(conn, tenant)?;
        let email = user_email(conn, tenant, user, false)?;
        // Only direct assignments are remembered: a restore gets the inherited ones from the
        // groups, which the user stays a member of.
        let held: Vec<i64> = license_assignments::table
            .filter(license_assignments::user_id.eq(user.0))
            .filter(license_assignments::self_service_subscription_id.is_null())
            .filter(license_assignments::direct.eq(true))
            .select(license_assignments::product_id)
            .load(conn)?;
        crate::domain::groups::forget_inherited(conn, user)?;
        for product in &held {
            diesel::insert_into(deleted_user_licenses::table)
                .values((
                    deleted_user_licenses::user_id.eq(user.0),
                    deleted_user_licenses::product_id.eq(product),
                    deleted_user_licenses::tenant_id.eq(tenant.0),
                ))
                .execute(conn)?;
        }
        let all_held: Vec<(i64, Option<i64>)> = license_assignments::table
            .filter(license_assignments::user_id.eq(user.0))
            .select((
                license_assignments::product_id,
                license_assignments::self_service_subscription_id,
            ))
            .load(conn)?;
        for (product, self_service) in &all_held {
            licenses::adjust_count(conn, tenant, ProductId(*product), *self_service, -1)?;
            if self_service.is_none() {
                licenses::check_alert(conn, now, tenant, ProductId(*product))?;
            }
        }
        let freed = diesel::delete(
            license_assignments::table.filter(license_assignments::user_id.eq(user.0)),
        )
        .execute(conn)?;
        diesel::delete(data_holds::table.filter(data_holds::user_id.eq(user.0))).execute(conn)?;
        diesel::delete(user_roles::table.filter(user_roles::user_id.eq(user.0))).execute(conn)?;
        diesel::update(users::table.find(user.0))
            .set((
                users::state.eq(UserState::Deleted),
                users::deleted_at.eq(Some(naive(now))),
            ))
            .execute(conn)?;
        sessions::end_all(conn, now, Principal::User(user), Ended::Deleted)?;
        audit::record(
            conn,
            actor,
            now,
            Some(tenant),
            "Deleted user",
            &email,
            &format!("{freed} licenses freed"),
        )
    })
}

/// A deleted user, as Deleted users lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedUser {
    pub id: UserId,
    pub display_name: String,
    pub email: String,
    pub deleted_at: DateTime<Utc>,
    pub restorable_until: DateTime<Utc>,
}

/// Deleted users who can still be restored, most recently deleted first.
pub fn deleted(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
) -> Result<Vec<DeletedUser>, DomainError> {
    authz::may(actor, Action::ViewUsers, &authz::Target::Tenant(tenant))?;
    Ok(users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::state.eq(UserState::Deleted))
        .filter(users::purged_at.is_null())
        .order((users::deleted_at.desc(), users::id.desc()))
        .limit(500)
        .select((
            users::id,
            users::display_name,
            users::email,
            users::deleted_at,
        ))
        .load::<(i64, String, String, Option<chrono::NaiveDateTime>)>(conn)?
        .into_iter()
        .filter_map(|(id, display_name, email, at)| {
            let at = utc(at?);
            Some(DeletedUser {
                id: UserId(id),
                display_name,
                email,
                deleted_at: at,
                restorable_until: at + RESTORE_WINDOW,
            })
        })
        .collect())
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    pub email: String,
    pub licenses_back: Vec<String>,
    /// Licenses the user had that could not be given back: no license left in the pool.
    pub licenses_not_back: Vec<String>,
    /// Licenses their groups gave back, and those they could not (listed on the groups).
    pub inherited_back: usize,
    pub inherited_not_back: usize,
}

/// Restore a deleted user within 30 days, giving back the licenses they had where the pool
/// still has one available.
pub fn restore(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    user: UserId,
) -> Result<Restored, DomainError> {
    authz::may(actor, Action::ManageUsers, &authz::Target::Tenant(tenant))?;
    crate::domain::db::transaction(conn, |conn| {
        licenses::lock(conn, tenant)?;
        let email = user_email(conn, tenant, user, true)?;
        let deleted_at: Option<chrono::NaiveDateTime> = users::table
            .find(user.0)
            .select(users::deleted_at)
            .first(conn)?;
        if deleted_at.is_some_and(|at| utc(at) + RESTORE_WINDOW < now) {
            return Err(DomainError::Conflict(
                "This user was deleted more than 30 days ago and can't be restored.".into(),
            ));
        }
        diesel::update(users::table.find(user.0))
            .set((
                users::state.eq(UserState::Active),
                users::deleted_at.eq(None::<chrono::NaiveDateTime>),
            ))
            .execute(conn)?;
        let had: Vec<(i64, String)> = deleted_user_licenses::table
            .inner_join(products::table)
            .filter(deleted_user_licenses::user_id.eq(user.0))
            .order(products::name)
            .select((products::id, products::name))
            .load(conn)?;
        diesel::delete(
            deleted_user_licenses::table.filter(deleted_user_licenses::user_id.eq(user.0)),
        )
        .execute(conn)?;
        let mut restored = Restored {
            email: email.clone(),
            licenses_back: vec![],
            licenses_not_back: vec![],
            inherited_back: 0,
            inherited_not_back: 0,
        };
        for (product, name) in had {
            match licenses::assign_locked(
                conn,
                actor,
                now,
                tenant,
                PoolRef::Tenant(ProductId(product)),
                &[user],
            ) {
                Ok(_) => restored.licenses_back.push(name),
                Err(DomainError::NoLicensesLeft { .. } | DomainError::NotFound) => {
                    restored.licenses_not_back.push(name)
                }
                Err(e) => return Err(e),
            }
        }
        let inherited = crate::domain::groups::rejoin(conn, actor, now, tenant, user)?;
        restored.inherited_back = inherited.assigned;
        restored.inherited_not_back = inherited.failed;
        audit::record(
            conn,
            actor,
            now,
            Some(tenant),
            "Restored user",
            &email,
            &format!(
                "licenses given back: {}; not available: {}",
                restored.licenses_back.len(),
                restored.licenses_not_back.len()
            ),
        )?;
        Ok(restored)
    })
}

/// Purges users deleted more than 30 days ago: their row stays for the records, anonymized,
/// and their sign-in name is free again. One user per transaction; a failed one is counted in
/// `failures` and the rest go on. Run by `tick`; idempotent.
pub fn purge_deleted(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    failures: &mut usize,
) -> Result<usize, DomainError> {
    let due: Vec<(i64, i64, String)> = users::table
        .filter(users::state.eq(UserState::Deleted))
        .filter(users::purged_at.is_null())
        .filter(users::deleted_at.lt(naive(now - RESTORE_WINDOW)))
        .select((users::id, users::tenant_id, users::email))
        .load(conn)?;
    let actor = Actor::System("scheduled purge");
    let mut purged = 0;
    for (id, tenant, email) in &due {
        let done = crate::domain::db::transaction(conn, |conn| {
            // Restored or purged since it was listed: nothing to do.
            let changed = diesel::update(
                users::table
                    .find(id)
                    .filter(users::state.eq(UserState::Deleted))
                    .filter(users::purged_at.is_null()),
            )
            .set((
                users::purged_at.eq(Some(naive(now))),
                users::email.eq(format!("purged-{id}@purged.invalid")),
                users::display_name.eq("Purged user"),
                users::name_key.eq("purged user"),
                users::password_hash.eq(""),
            ))
            .execute(conn)?;
            if changed == 0 {
                return Ok(false);
            }
            diesel::delete(
                deleted_user_licenses::table.filter(deleted_user_licenses::user_id.eq(id)),
            )
            .execute(conn)?;
            crate::domain::groups::leave_all(conn, UserId(*id))?;
            audit::record(
                conn,
                &actor,
                now,
                Some(TenantId(*tenant)),
                "Purged deleted user",
                email,
                "",
            )?;
            Ok(true)
        });
        if crate::domain::db::keep_going(failures, "purge deleted user", *id, done) == Some(true) {
            purged += 1;
        }
    }
    Ok(purged)
}

/// The user a Delete user confirmation names, when the actor may delete them.
pub fn to_delete(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    user: UserId,
) -> Result<UserDetail, DomainError> {
    authz::may(actor, Action::DeleteUser, &target(conn, tenant, user)?)?;
    get(conn, actor, tenant, user)
}
