//! Users as SCIM provisions them: `userName` is the sign-in name, `active` is "may sign in"
//! (false blocks and ends every session), DELETE is Delete user (restorable for 30 days, the
//! licenses freed at once). Over 500 lines on purpose: reading a user, checking what a client
//! sends, and the three writes share the row's shape and its checks; split, each half would
//! need the other's.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use std::collections::BTreeMap;

use super::filter::Filter;
use super::{Listed, Meta, Window, check_version, query};
use crate::domain::accounts::{self, EmailAddress, UserState};
use crate::domain::schema::{group_members, user_groups, users};
use crate::domain::{
    Action, Actor, DbConnection, DomainError, TenantId, UserId, audit, authz, licenses, naive,
    passwords, text, utc,
};

/// A user as SCIM sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionedUser {
    pub id: UserId,
    pub guid: String,
    pub user_name: String,
    pub display_name: String,
    pub given_name: String,
    pub family_name: String,
    pub external_id: Option<String>,
    /// The work email: the sign-in name unless another was provisioned.
    pub email: String,
    pub active: bool,
    /// The groups the user is a member of: GUID and name.
    pub groups: Vec<(String, String)>,
    pub meta: Meta,
}

/// What a client sends for a user (POST, PUT, or a PATCH applied to what it read).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserAttributes {
    pub user_name: String,
    /// None: made from the name, else from the sign-in name.
    pub display_name: Option<String>,
    pub given_name: String,
    pub family_name: String,
    pub external_id: Option<String>,
    pub email: Option<String>,
    pub active: bool,
    /// A first password (POST only). Without one the user has none until an admin resets it:
    /// provisioned people usually sign in through their identity provider.
    pub password: Option<String>,
}

type UserRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    UserState,
    chrono::NaiveDateTime,
    Option<chrono::NaiveDateTime>,
    i64,
);

macro_rules! user_columns {
    () => {
        (
            users::id,
            users::guid,
            users::email,
            users::display_name,
            users::given_name,
            users::family_name,
            users::external_id,
            users::work_email,
            users::state,
            users::created_at,
            users::updated_at,
            users::version,
        )
    };
}

/// The users a filter selects, a page at a time in a stable order (creation), with the total.
pub fn find_users(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    filter: Option<&Filter>,
    window: Window,
) -> Result<Listed<ProvisionedUser>, DomainError> {
    authz::may(actor, Action::ViewUsers, &authz::Target::Tenant(tenant))?;
    let total: i64 = selection(tenant, filter)?.count().get_result(conn)?;
    let rows: Vec<UserRow> = if window.count == 0 || window.start > total {
        Vec::new()
    } else {
        selection(tenant, filter)?
            .order(users::id)
            .offset(window.start - 1)
            .limit(window.count)
            .select(user_columns!())
            .load(conn)?
    };
    Ok(Listed {
        total,
        start: window.start,
        resources: with_groups(conn, rows)?,
    })
}

type Backend = <DbConnection as Connection>::Backend;

/// The tenant's users (not deleted) that `filter` selects.
fn selection(
    tenant: TenantId,
    filter: Option<&Filter>,
) -> Result<users::BoxedQuery<'static, Backend>, DomainError> {
    let query = users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::state.ne(UserState::Deleted))
        .into_boxed();
    Ok(match filter {
        Some(filter) => query.filter(query::users_matching(filter).map_err(invalid_filter)?),
        None => query,
    })
}

pub(super) fn invalid_filter(e: query::Unsupported) -> DomainError {
    DomainError::invalid("filter", e.0)
}

/// One user by their id (GUID); another tenant's or a deleted one is not found.
pub fn find_user(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    guid: &str,
) -> Result<ProvisionedUser, DomainError> {
    authz::may(actor, Action::ViewUsers, &authz::Target::Tenant(tenant))?;
    read(conn, tenant, guid)
}

fn read(
    conn: &mut DbConnection,
    tenant: TenantId,
    guid: &str,
) -> Result<ProvisionedUser, DomainError> {
    let row: UserRow = users::table
        .filter(users::tenant_id.eq(tenant.0))
        .filter(users::state.ne(UserState::Deleted))
        .filter(users::guid.eq(guid.to_lowercase()))
        .select(user_columns!())
        .first(conn)?;
    with_groups(conn, vec![row])?
        .pop()
        .ok_or(DomainError::NotFound)
}

fn with_groups(
    conn: &mut DbConnection,
    rows: Vec<UserRow>,
) -> Result<Vec<ProvisionedUser>, DomainError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let mut groups: BTreeMap<i64, Vec<(String, String)>> = BTreeMap::new();
    for chunk in ids.chunks(1000) {
        let found: Vec<(i64, String, String)> = group_members::table
            .inner_join(user_groups::table)
            .filter(group_members::user_id.eq_any(chunk))
            .order((group_members::user_id, user_groups::name_key))
            .select((group_members::user_id, user_groups::guid, user_groups::name))
            .load(conn)?;
        for (user, guid, name) in found {
            groups.entry(user).or_default().push((guid, name));
        }
    }
    Ok(rows
        .into_iter()
        .map(
            |(
                id,
                guid,
                email,
                display_name,
                given,
                family,
                external,
                work,
                state,
                created,
                updated,
                version,
            )| {
                ProvisionedUser {
                    id: UserId(id),
                    guid,
                    email: work.unwrap_or_else(|| email.clone()),
                    user_name: email,
                    display_name,
                    given_name: given,
                    family_name: family,
                    external_id: external,
                    active: state.is_active(),
                    groups: groups.remove(&id).unwrap_or_default(),
                    meta: Meta {
                        created: utc(created),
                        last_modified: utc(updated.unwrap_or(created)),
                        version,
                    },
                }
            },
        )
        .collect())
}

/// The checked values of `UserAttributes`.
struct Checked {
    email: EmailAddress,
    display_name: String,
    given_name: String,
    family_name: String,
    external_id: Option<String>,
    work_email: Option<String>,
}

fn check(
    conn: &mut DbConnection,
    tenant: TenantId,
    attributes: &UserAttributes,
) -> Result<Checked, DomainError> {
    let email = crate::domain::users::sign_in_name(conn, tenant, &attributes.user_name)
        .map_err(|e| rename_field(e, "userName"))?;
    let name_part = |field: &'static str, value: &str| {
        text::line(field, value, 0..=120, "A name has at most 120 characters.")
    };
    let given_name = name_part("name.givenName", &attributes.given_name)?;
    let family_name = name_part("name.familyName", &attributes.family_name)?;
    let display_name = match attributes.display_name.as_deref().map(str::trim) {
        Some(name) if !name.is_empty() => name.to_owned(),
        _ => {
            let full = format!("{given_name} {family_name}").trim().to_owned();
            if full.is_empty() {
                email
                    .as_str()
                    .split('@')
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            } else {
                full
            }
        }
    };
    let display_name = text::line(
        "displayName",
        &display_name,
        1..=120,
        "A display name has 1 to 120 characters.",
    )?;
    let external_id = match attributes.external_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(id) => Some(text::line(
            "externalId",
            id,
            1..=256,
            "An externalId has at most 256 characters.",
        )?),
    };
    let work_email = match attributes.email.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => {
            let parsed = EmailAddress::parse(raw).map_err(|e| rename_field(e, "emails"))?;
            (parsed != email).then(|| parsed.as_str().to_owned())
        }
    };
    Ok(Checked {
        email,
        display_name,
        given_name,
        family_name,
        external_id,
        work_email,
    })
}

/// The same refusal, naming the attribute as the client knows it.
fn rename_field(error: DomainError, field: &'static str) -> DomainError {
    match error {
        DomainError::Invalid { message, .. } => DomainError::Invalid { field, message },
        other => other,
    }
}

fn taken(conn: &mut DbConnection, email: &EmailAddress) -> Result<DomainError, DomainError> {
    let deleted = users::table
        .filter(users::email.eq(email.as_str()))
        .filter(users::state.eq(UserState::Deleted))
        .count()
        .get_result::<i64>(conn)?
        > 0;
    Ok(DomainError::Conflict(if deleted {
        format!(
            "The userName {} belongs to a deleted user. Restore them in Deleted users, or wait \
             until they are removed for good.",
            email.as_str()
        )
    } else {
        format!(
            "A user with the userName {} already exists.",
            email.as_str()
        )
    }))
}

/// POST /Users: a new user, active or not, in one transaction. A taken userName is a
/// Conflict (SCIM's `uniqueness`), nothing added.
pub fn create_user(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    attributes: &UserAttributes,
) -> Result<ProvisionedUser, DomainError> {
    authz::may(actor, Action::ManageUsers, &authz::Target::Tenant(tenant))?;
    let checked = check(conn, tenant, attributes)?;
    // Hashed before the transaction: argon2 takes its time, the write lock shouldn't wait.
    let hash = match &attributes.password {
        Some(password) => passwords::hash_new(password)?,
        None => passwords::NONE.to_owned(),
    };
    crate::domain::db::transaction(conn, |conn| {
        licenses::lock(conn, tenant)?;
        if accounts::email_taken(conn, &checked.email)? {
            return Err(taken(conn, &checked.email)?);
        }
        let user = match accounts::insert_user(
            conn,
            now,
            tenant,
            &checked.display_name,
            &checked.email,
            &hash,
        ) {
            // Two creates of one name at once (in two tenants: each holds only its own lock):
            // the unique key lets one in. The transaction is spoilt; nothing more is asked.
            Err(DomainError::Storage(e))
                if e.kind() == Some(diesel::result::DatabaseErrorKind::UniqueViolation) =>
            {
                return Err(DomainError::Conflict(format!(
                    "A user with the userName {} already exists.",
                    checked.email.as_str()
                )));
            }
            other => other?,
        };
        diesel::update(users::table.find(user.0))
            .set((
                users::given_name.eq(&checked.given_name),
                users::family_name.eq(&checked.family_name),
                users::external_id.eq(&checked.external_id),
                users::work_email.eq(&checked.work_email),
                users::state.eq(if attributes.active {
                    UserState::Active
                } else {
                    UserState::Blocked
                }),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            actor,
            now,
            Some(tenant),
            "Added user",
            checked.email.as_str(),
            &if attributes.active {
                checked.display_name.clone()
            } else {
                format!("{} (sign-in blocked)", checked.display_name)
            },
        )?;
        let guid: String = users::table.find(user.0).select(users::guid).first(conn)?;
        read(conn, tenant, &guid)
    })
}

/// PUT /Users/{id} (and PATCH, applied to what the client read): the user becomes
/// `attributes`, all or nothing; `expected` is `If-Match`'s version. `active: false` blocks
/// sign-in and ends every session; `true` allows it again.
pub fn replace_user(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    guid: &str,
    expected: Option<i64>,
    attributes: &UserAttributes,
) -> Result<ProvisionedUser, DomainError> {
    let current = read(conn, tenant, guid)?;
    let target = crate::domain::users::target(conn, tenant, current.id)?;
    authz::may(actor, Action::ManageUsers, &target)?;
    if attributes.password.is_some() {
        return Err(DomainError::Refused(
            "A password can't be changed by provisioning; an admin resets it (Active users > \
             Reset password)."
                .into(),
        ));
    }
    let checked = check(conn, tenant, attributes)?;
    crate::domain::db::transaction(conn, |conn| {
        licenses::lock(conn, tenant)?;
        let current = read(conn, tenant, guid)?;
        check_version(expected, current.meta.version)?;
        let mut changed = Vec::new();
        if checked.email.as_str() != current.user_name {
            if accounts::email_taken(conn, &checked.email)? {
                return Err(taken(conn, &checked.email)?);
            }
            changed.push(format!(
                "userName {} → {}",
                current.user_name,
                checked.email.as_str()
            ));
        }
        let work_now = (current.email != current.user_name).then(|| current.email.clone());
        for (name, before, after) in [
            (
                "displayName",
                Some(&current.display_name),
                Some(&checked.display_name),
            ),
            (
                "name.givenName",
                Some(&current.given_name),
                Some(&checked.given_name),
            ),
            (
                "name.familyName",
                Some(&current.family_name),
                Some(&checked.family_name),
            ),
            (
                "externalId",
                current.external_id.as_ref(),
                checked.external_id.as_ref(),
            ),
            ("emails", work_now.as_ref(), checked.work_email.as_ref()),
        ] {
            if before != after {
                changed.push(name.to_owned());
            }
        }
        if !changed.is_empty() {
            // Changing an account's names is renaming it: the containment rule applies (a
            // token acting as a User admin doesn't rename a Global admin).
            authz::may(actor, Action::RenameUser, &target)?;
            let written = diesel::update(
                users::table
                    .filter(users::id.eq(current.id.0))
                    .filter(users::version.eq(current.meta.version)),
            )
            .set((
                users::email.eq(checked.email.as_str()),
                users::display_name.eq(&checked.display_name),
                users::name_key.eq(checked.display_name.to_lowercase()),
                users::given_name.eq(&checked.given_name),
                users::family_name.eq(&checked.family_name),
                users::external_id.eq(&checked.external_id),
                users::work_email.eq(&checked.work_email),
                users::updated_at.eq(Some(naive(now))),
            ))
            .execute(conn)?;
            if written == 0 {
                return Err(DomainError::Stale);
            }
            audit::record(
                conn,
                actor,
                now,
                Some(tenant),
                "Changed user",
                checked.email.as_str(),
                &changed.join(", "),
            )?;
        }
        if attributes.active != current.active {
            crate::domain::users::set_blocked(
                conn,
                actor,
                now,
                tenant,
                current.id,
                !attributes.active,
            )?;
            diesel::update(users::table.find(current.id.0))
                .set(users::updated_at.eq(Some(naive(now))))
                .execute(conn)?;
        }
        read(conn, tenant, guid)
    })
}

/// DELETE /Users/{id}: Delete user (restorable for 30 days; licenses freed, sessions ended).
pub fn delete_user(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    guid: &str,
    expected: Option<i64>,
) -> Result<(), DomainError> {
    let current = read(conn, tenant, guid)?;
    authz::may(
        actor,
        Action::DeleteUser,
        &crate::domain::users::target(conn, tenant, current.id)?,
    )?;
    crate::domain::db::transaction(conn, |conn| {
        licenses::lock(conn, tenant)?;
        let current = read(conn, tenant, guid)?;
        check_version(expected, current.meta.version)?;
        crate::domain::users::delete(conn, actor, now, tenant, current.id)
    })
}

/// Users of the tenant (not deleted) by GUID, for group membership; an id that names nobody
/// is refused by name.
pub(super) fn users_by_guid(
    conn: &mut DbConnection,
    tenant: TenantId,
    guids: &[String],
) -> Result<Vec<UserId>, DomainError> {
    let wanted: Vec<String> = guids.iter().map(|g| g.trim().to_lowercase()).collect();
    let mut found: BTreeMap<String, i64> = BTreeMap::new();
    for chunk in wanted.chunks(1000) {
        found.extend(
            users::table
                .filter(users::tenant_id.eq(tenant.0))
                .filter(users::state.ne(UserState::Deleted))
                .filter(users::guid.eq_any(chunk))
                .select((users::guid, users::id))
                .load::<(String, i64)>(conn)?,
        );
    }
    wanted
        .iter()
        .map(|guid| {
            found.get(guid).map(|id| UserId(*id)).ok_or_else(|| {
                DomainError::invalid("members", format!("No user has the id {guid}."))
            })
        })
        .collect()
}
