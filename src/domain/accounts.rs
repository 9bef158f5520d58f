//! People who sign in: tenant users (admins among them) and provider staff.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::schema::{staff, tenants, user_roles, users};
use super::text_enum::text_enum;
use super::{
    Actor, DbConnection, DomainError, Role, StaffId, StaffRole, TenantId, UserId, audit, naive,
    passwords, tenants as tenant_store,
};

/// A sign-in name: trimmed, lower case, one `@` with something on both sides and a dot in
/// the domain. Only values that pass `parse` exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let email = raw.trim().to_lowercase();
        let bad = || DomainError::invalid("email", "Enter an email address like name@example.com.");
        if email.len() < 3
            || email.len() > 254
            || email
                .chars()
                .any(|c| c.is_whitespace() || super::text::is_control(c))
        {
            return Err(bad());
        }
        let (local, domain) = email.split_once('@').ok_or_else(bad)?;
        if local.is_empty()
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
        {
            return Err(bad());
        }
        Ok(EmailAddress(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.split_once('@').map(|(_, d)| d).unwrap_or_default()
    }
}

text_enum! {
    /// The account state of a tenant user: deleted users are kept (restorable) for a while.
    pub enum UserState {
        Active = "active",
        Blocked = "blocked",
        Deleted = "deleted",
    }
}

impl UserState {
    pub fn is_active(self) -> bool {
        self == UserState::Active
    }

    pub fn is_blocked(self) -> bool {
        self == UserState::Blocked
    }

    pub fn is_deleted(self) -> bool {
        self == UserState::Deleted
    }
}

/// The facts about a tenant user that sign-in and every request need.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRecord {
    pub id: i64,
    pub tenant_id: i64,
    pub display_name: String,
    pub email: String,
    pub password_hash: String,
    pub state: UserState,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = staff)]
pub struct StaffRecord {
    pub id: i64,
    pub display_name: String,
    pub email: String,
    pub password_hash: String,
    pub role: String,
}

/// Who a session belongs to, as stored in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Principal {
    User(UserId),
    Staff(StaffId),
}

/// A signed-in person, as the page frame shows them.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub actor: Actor,
    pub display_name: String,
    /// The tenant's name for admins; "Support console" for staff.
    pub place: String,
    /// Unread messages in the Message center (admins; staff have none).
    pub unread_messages: Option<i64>,
}

pub(crate) fn find_user_by_email(
    conn: &mut DbConnection,
    email: &str,
) -> Result<Option<UserRecord>, DomainError> {
    Ok(users::table
        .filter(users::email.eq(email))
        .select(UserRecord::as_select())
        .first(conn)
        .optional()?)
}

pub(crate) fn find_staff_by_email(
    conn: &mut DbConnection,
    email: &str,
) -> Result<Option<StaffRecord>, DomainError> {
    Ok(staff::table
        .filter(staff::email.eq(email))
        .select(StaffRecord::as_select())
        .first(conn)
        .optional()?)
}

fn roles_of(conn: &mut DbConnection, user: UserId) -> Result<Vec<Role>, DomainError> {
    let names: Vec<String> = user_roles::table
        .filter(user_roles::user_id.eq(user.0))
        .select(user_roles::role)
        .load(conn)?;
    let mut roles: Vec<Role> = names.iter().filter_map(|n| n.parse().ok()).collect();
    roles.sort();
    Ok(roles)
}

/// Loads the admin-center actor of a session, fresh on every request so that a blocked,
/// deleted or demoted admin loses access at once. `None` when the session no longer admits them.
pub fn admin_center_actor(
    conn: &mut DbConnection,
    principal: Principal,
) -> Result<Option<SignedIn>, DomainError> {
    match principal {
        Principal::User(id) => {
            // The account and its tenant's name in one statement: this runs on every request.
            let Some((user, place)) = users::table
                .find(id.0)
                .inner_join(tenants::table)
                .select((UserRecord::as_select(), tenants::name))
                .first::<(UserRecord, String)>(conn)
                .optional()?
            else {
                return Ok(None);
            };
            let roles = roles_of(conn, id)?;
            if !user.state.is_active() || roles.is_empty() {
                return Ok(None);
            }
            let actor = Actor::Admin {
                user: id,
                tenant: TenantId(user.tenant_id),
                email: user.email,
                roles,
            };
            let unread = super::messages::unread_count(conn, &actor, TenantId(user.tenant_id))?;
            Ok(Some(SignedIn {
                actor,
                display_name: user.display_name,
                place,
                unread_messages: Some(unread),
            }))
        }
        Principal::Staff(id) => {
            let Some(member) = staff::table
                .find(id.0)
                .select(StaffRecord::as_select())
                .first(conn)
                .optional()?
            else {
                return Ok(None);
            };
            let Ok(role) = member.role.parse() else {
                return Ok(None);
            };
            Ok(Some(SignedIn {
                actor: Actor::Staff {
                    staff: id,
                    email: member.email,
                    role,
                },
                display_name: member.display_name,
                place: "Support console".to_owned(),
                unread_messages: None,
            }))
        }
    }
}

/// Whether the tenant user holds any admin role (and so may open the admin center).
pub(crate) fn is_admin(conn: &mut DbConnection, user: UserId) -> Result<bool, DomainError> {
    Ok(!roles_of(conn, user)?.is_empty())
}

pub(crate) fn email_taken(
    conn: &mut DbConnection,
    email: &EmailAddress,
) -> Result<bool, DomainError> {
    Ok(find_user_by_email(conn, email.as_str())?.is_some()
        || find_staff_by_email(conn, email.as_str())?.is_some())
}

/// Creates a tenant user with `password_hash` already made. Sign-in names are unique across
/// all tenants and staff.
pub(crate) fn insert_user(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    tenant: TenantId,
    display_name: &str,
    email: &EmailAddress,
    password_hash: &str,
) -> Result<UserId, DomainError> {
    let display_name = super::text::line(
        "display_name",
        display_name,
        1..=120,
        "A display name has 1 to 120 characters.",
    )?;
    let display_name = display_name.as_str();
    if email_taken(conn, email)? {
        return Err(DomainError::invalid(
            "email",
            format!("The sign-in name {} is already in use.", email.as_str()),
        ));
    }
    let id = diesel::insert_into(users::table)
        .values((
            users::tenant_id.eq(tenant.0),
            users::display_name.eq(display_name),
            users::name_key.eq(display_name.to_lowercase()),
            users::email.eq(email.as_str()),
            users::password_hash.eq(password_hash),
            users::state.eq(UserState::Active),
            users::created_at.eq(naive(now)),
            users::guid.eq(uuid::Uuid::new_v4().to_string()),
        ))
        .returning(users::id)
        .get_result(conn)?;
    Ok(UserId(id))
}

/// Gives `user`, of `tenant`, the role; `true` when they did not hold it yet.
pub(crate) fn grant_role(
    conn: &mut DbConnection,
    tenant: TenantId,
    user: UserId,
    role: Role,
) -> Result<bool, DomainError> {
    let held = user_roles::table
        .filter(user_roles::user_id.eq(user.0))
        .filter(user_roles::role.eq(role.as_str()))
        .count()
        .get_result::<i64>(conn)?;
    if held == 0 {
        diesel::insert_into(user_roles::table)
            .values((
                user_roles::user_id.eq(user.0),
                user_roles::role.eq(role.as_str()),
                user_roles::tenant_id.eq(tenant.0),
            ))
            .execute(conn)?;
    }
    Ok(held == 0)
}

/// What `create_admin` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminCreated {
    NewUser(UserId),
    RoleAdded(UserId),
}

/// The operator's `allot admin create`: makes `email` an admin of the tenant named
/// `tenant_name` (created when missing), creating the user when needed.
pub fn create_admin(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant_name: &str,
    email: &str,
    role: Role,
    password: &str,
) -> Result<AdminCreated, DomainError> {
    super::authz::may(
        actor,
        super::Action::Operate,
        &super::authz::Target::Operator,
    )?;
    let email = EmailAddress::parse(email)?;
    let password_hash = passwords::hash_new(password)?;
    super::db::transaction(conn, |conn| {
        let tenant = tenant_store::find_or_create(conn, actor, now, tenant_name, email.domain())?;
        let done = match find_user_by_email(conn, email.as_str())? {
            Some(user) if user.tenant_id != tenant.id => {
                return Err(DomainError::invalid(
                    "email",
                    format!("{} belongs to another tenant.", email.as_str()),
                ));
            }
            Some(user) => AdminCreated::RoleAdded(UserId(user.id)),
            None => {
                let name = email
                    .as_str()
                    .split('@')
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                AdminCreated::NewUser(insert_user(
                    conn,
                    now,
                    tenant.tenant_id(),
                    &name,
                    &email,
                    &password_hash,
                )?)
            }
        };
        let (AdminCreated::NewUser(user) | AdminCreated::RoleAdded(user)) = done.clone();
        if grant_role(conn, tenant.tenant_id(), user, role)? {
            // A role change ends the account's sessions (DESIGN.md).
            super::sessions::end_all(
                conn,
                now,
                Principal::User(user),
                super::sessions::Ended::RoleChanged,
            )?;
        }
        audit::record(
            conn,
            actor,
            now,
            Some(tenant.tenant_id()),
            "Gave admin role",
            email.as_str(),
            role.title(),
        )?;
        Ok(done)
    })
}

/// The operator's `allot staff create`.
pub fn create_staff(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    email: &str,
    role: StaffRole,
    password: &str,
) -> Result<StaffId, DomainError> {
    super::authz::may(
        actor,
        super::Action::Operate,
        &super::authz::Target::Operator,
    )?;
    let email = EmailAddress::parse(email)?;
    let password_hash = passwords::hash_new(password)?;
    let display_name = email
        .as_str()
        .split('@')
        .next()
        .unwrap_or_default()
        .to_owned();
    super::db::transaction(conn, |conn| {
        if email_taken(conn, &email)? {
            return Err(DomainError::invalid(
                "email",
                format!("The sign-in name {} is already in use.", email.as_str()),
            ));
        }
        let id = insert_staff(conn, now, &display_name, &email, role, &password_hash)?;
        audit::record(
            conn,
            actor,
            now,
            None,
            "Created staff member",
            email.as_str(),
            role.title(),
        )?;
        Ok(id)
    })
}

pub(crate) fn insert_staff(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    display_name: &str,
    email: &EmailAddress,
    role: StaffRole,
    password_hash: &str,
) -> Result<StaffId, DomainError> {
    let id = diesel::insert_into(staff::table)
        .values((
            staff::display_name.eq(display_name),
            staff::email.eq(email.as_str()),
            staff::password_hash.eq(password_hash),
            staff::role.eq(role.as_str()),
            staff::created_at.eq(naive(now)),
        ))
        .returning(staff::id)
        .get_result(conn)?;
    Ok(StaffId(id))
}
