//! Groups as SCIM provisions them: `displayName` is the group's name, `members` its users.
//! Membership goes through `groups::add_members` / `remove_members`, so joining a group that
//! carries licenses gives them, and leaving takes them (with the data hold), as on the pages.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use std::collections::BTreeSet;

use super::filter::Filter;
use super::users::{invalid_filter, users_by_guid};
use super::{Listed, Meta, Window, check_version, query};
use crate::domain::accounts::UserState;
use crate::domain::schema::{group_members, user_groups, users};
use crate::domain::{
    Action, Actor, DbConnection, DomainError, GroupId, TenantId, UserId, audit, authz, groups,
    licenses, naive, utc,
};

/// A group as SCIM sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionedGroup {
    pub id: GroupId,
    pub guid: String,
    pub display_name: String,
    pub external_id: Option<String>,
    pub member_count: i64,
    /// Its members' GUIDs and names, when asked for (a group may have 100,000).
    pub members: Option<Vec<(String, String)>>,
    pub meta: Meta,
}

/// What a client sends for a group (POST, PUT).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupAttributes {
    pub display_name: String,
    pub external_id: Option<String>,
    /// Members by user id (GUID).
    pub members: Vec<String>,
}

/// One change of a group's members, as PATCH operations say them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberChange {
    Add(Vec<String>),
    /// Leaves these (who aren't members are skipped, as RFC 7644 removes what matches).
    Remove(Vec<String>),
    /// The members become exactly these.
    Replace(Vec<String>),
}

/// A PATCH of a group: each part only when the client changes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupChanges {
    pub display_name: Option<String>,
    pub external_id: Option<Option<String>>,
    pub members: Vec<MemberChange>,
}

type GroupRow = (
    i64,
    String,
    String,
    Option<String>,
    i64,
    chrono::NaiveDateTime,
    Option<chrono::NaiveDateTime>,
    i64,
);

macro_rules! group_columns {
    () => {
        (
            user_groups::id,
            user_groups::guid,
            user_groups::name,
            user_groups::external_id,
            user_groups::member_count,
            user_groups::created_at,
            user_groups::updated_at,
            user_groups::version,
        )
    };
}

type Backend = <DbConnection as Connection>::Backend;

fn selection(
    tenant: TenantId,
    filter: Option<&Filter>,
) -> Result<user_groups::BoxedQuery<'static, Backend>, DomainError> {
    let query = user_groups::table
        .filter(user_groups::tenant_id.eq(tenant.0))
        .into_boxed();
    Ok(match filter {
        Some(filter) => query.filter(query::groups_matching(filter).map_err(invalid_filter)?),
        None => query,
    })
}

/// The groups a filter selects, a page at a time in creation order, with the total; with
/// their members when `members`.
pub fn find_groups(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    filter: Option<&Filter>,
    window: Window,
    members: bool,
) -> Result<Listed<ProvisionedGroup>, DomainError> {
    authz::may(actor, Action::ViewGroups, &authz::Target::Tenant(tenant))?;
    let total: i64 = selection(tenant, filter)?.count().get_result(conn)?;
    let rows: Vec<GroupRow> = if window.count == 0 || window.start > total {
        Vec::new()
    } else {
        selection(tenant, filter)?
            .order(user_groups::id)
            .offset(window.start - 1)
            .limit(window.count)
            .select(group_columns!())
            .load(conn)?
    };
    let mut resources = Vec::with_capacity(rows.len());
    for row in rows {
        resources.push(group_of(conn, row, members)?);
    }
    Ok(Listed {
        total,
        start: window.start,
        resources,
    })
}

/// One group by its id (GUID); another tenant's is not found.
pub fn find_group(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    guid: &str,
    members: bool,
) -> Result<ProvisionedGroup, DomainError> {
    authz::may(actor, Action::ViewGroups, &authz::Target::Tenant(tenant))?;
    read(conn, tenant, guid, members)
}

fn read(
    conn: &mut DbConnection,
    tenant: TenantId,
    guid: &str,
    members: bool,
) -> Result<ProvisionedGroup, DomainError> {
    let row: GroupRow = user_groups::table
        .filter(user_groups::tenant_id.eq(tenant.0))
        .filter(user_groups::guid.eq(guid.trim().to_lowercase()))
        .select(group_columns!())
        .first(conn)?;
    group_of(conn, row, members)
}

fn group_of(
    conn: &mut DbConnection,
    (id, guid, name, external_id, member_count, created, updated, version): GroupRow,
    members: bool,
) -> Result<ProvisionedGroup, DomainError> {
    let members = if members {
        Some(
            group_members::table
                .inner_join(users::table)
                .filter(group_members::group_id.eq(id))
                .filter(users::state.ne(UserState::Deleted))
                .order(users::id)
                .select((users::guid, users::display_name))
                .load(conn)?,
        )
    } else {
        None
    };
    Ok(ProvisionedGroup {
        id: GroupId(id),
        guid,
        display_name: name,
        external_id,
        member_count,
        members,
        meta: Meta {
            created: utc(created),
            last_modified: utc(updated.unwrap_or(created)),
            version,
        },
    })
}

fn external_id_of(value: Option<&str>) -> Result<Option<String>, DomainError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(id) => Ok(Some(crate::domain::text::line(
            "externalId",
            id,
            1..=256,
            "An externalId has at most 256 characters.",
        )?)),
    }
}

/// POST /Groups: a new group with its members, in one transaction (a name the tenant has
/// already is a Conflict, SCIM's `uniqueness`).
pub fn create_group(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    attributes: &GroupAttributes,
) -> Result<ProvisionedGroup, DomainError> {
    authz::may(actor, Action::ManageGroups, &authz::Target::Tenant(tenant))?;
    let external_id = external_id_of(attributes.external_id.as_deref())?;
    crate::domain::db::transaction(conn, |conn| {
        licenses::lock(conn, tenant)?;
        name_free(conn, tenant, &attributes.display_name, None)?;
        let group = groups::create(conn, actor, now, tenant, &attributes.display_name, "")
            .map_err(rename_name)?;
        diesel::update(user_groups::table.find(group.0))
            .set(user_groups::external_id.eq(&external_id))
            .execute(conn)?;
        let members = distinct_users(conn, tenant, &attributes.members)?;
        if !members.is_empty() {
            groups::add_members(conn, actor, now, tenant, group, &members)?;
        }
        let guid: String = user_groups::table
            .find(group.0)
            .select(user_groups::guid)
            .first(conn)?;
        read(conn, tenant, &guid, true)
    })
}

/// A name the tenant's groups have (in any case) is SCIM's uniqueness conflict, said before
/// `groups::create` or `rename` would refuse it as a bad value.
fn name_free(
    conn: &mut DbConnection,
    tenant: TenantId,
    name: &str,
    except: Option<GroupId>,
) -> Result<(), DomainError> {
    let taken: i64 = user_groups::table
        .filter(user_groups::tenant_id.eq(tenant.0))
        .filter(user_groups::name_key.eq(name.trim().to_lowercase()))
        .filter(user_groups::id.ne(except.map_or(0, |g| g.0)))
        .count()
        .get_result(conn)?;
    if taken > 0 {
        return Err(DomainError::Conflict(format!(
            "A group named {} already exists.",
            name.trim()
        )));
    }
    Ok(())
}

/// The group's name is `displayName` to a SCIM client.
fn rename_name(error: DomainError) -> DomainError {
    match error {
        DomainError::Invalid {
            field: "name",
            message,
        } => DomainError::Invalid {
            field: "displayName",
            message,
        },
        other => other,
    }
}

fn distinct_users(
    conn: &mut DbConnection,
    tenant: TenantId,
    guids: &[String],
) -> Result<Vec<UserId>, DomainError> {
    let mut seen = BTreeSet::new();
    Ok(users_by_guid(conn, tenant, guids)?
        .into_iter()
        .filter(|u| seen.insert(*u))
        .collect())
}

/// PATCH /Groups/{id} (and PUT, as a name, an externalId and a Replace of the members): every
/// change or none; `expected` is `If-Match`'s version.
pub fn change_group(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    guid: &str,
    expected: Option<i64>,
    changes: &GroupChanges,
) -> Result<ProvisionedGroup, DomainError> {
    authz::may(actor, Action::ManageGroups, &authz::Target::Tenant(tenant))?;
    let external_id = match &changes.external_id {
        Some(value) => Some(external_id_of(value.as_deref())?),
        None => None,
    };
    crate::domain::db::transaction(conn, |conn| {
        licenses::lock(conn, tenant)?;
        let current = read(conn, tenant, guid, false)?;
        check_version(expected, current.meta.version)?;
        let group = current.id;
        let renamed = changes
            .display_name
            .as_ref()
            .filter(|name| name.trim() != current.display_name);
        if let Some(name) = renamed {
            name_free(conn, tenant, name, Some(group))?;
            groups::rename(conn, actor, now, tenant, group, name).map_err(rename_name)?;
        }
        let new_external_id = external_id
            .as_ref()
            .filter(|id| **id != current.external_id);
        if let Some(external_id) = new_external_id {
            diesel::update(user_groups::table.find(group.0))
                .set(user_groups::external_id.eq(external_id))
                .execute(conn)?;
            audit::record(
                conn,
                actor,
                now,
                Some(tenant),
                "Changed group",
                &current.display_name,
                "externalId",
            )?;
        }
        for change in &changes.members {
            let (joining, leaving) = match change {
                MemberChange::Add(guids) => (distinct_users(conn, tenant, guids)?, Vec::new()),
                MemberChange::Remove(guids) => {
                    let wanted: BTreeSet<UserId> =
                        distinct_users(conn, tenant, guids)?.into_iter().collect();
                    let members = member_ids(conn, group)?;
                    (Vec::new(), wanted.intersection(&members).copied().collect())
                }
                MemberChange::Replace(guids) => {
                    let wanted: BTreeSet<UserId> =
                        distinct_users(conn, tenant, guids)?.into_iter().collect();
                    let members = member_ids(conn, group)?;
                    (
                        wanted.difference(&members).copied().collect(),
                        members.difference(&wanted).copied().collect(),
                    )
                }
            };
            if !joining.is_empty() {
                groups::add_members(conn, actor, now, tenant, group, &joining)?;
            }
            if !leaving.is_empty() {
                groups::remove_members(conn, actor, now, tenant, group, &leaving)?;
            }
        }
        diesel::update(user_groups::table.find(group.0))
            .set(user_groups::updated_at.eq(Some(naive(now))))
            .execute(conn)?;
        read(conn, tenant, guid, true)
    })
}

fn member_ids(conn: &mut DbConnection, group: GroupId) -> Result<BTreeSet<UserId>, DomainError> {
    Ok(group_members::table
        .filter(group_members::group_id.eq(group.0))
        .select(group_members::user_id)
        .load::<i64>(conn)?
        .into_iter()
        .map(UserId)
        .collect())
}

/// DELETE /Groups/{id}: Delete group (refused while it carries licenses, as on its page).
pub fn delete_group(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    guid: &str,
    expected: Option<i64>,
) -> Result<(), DomainError> {
    authz::may(actor, Action::ManageGroups, &authz::Target::Tenant(tenant))?;
    crate::domain::db::transaction(conn, |conn| {
        licenses::lock(conn, tenant)?;
        let current = read(conn, tenant, guid, false)?;
        check_version(expected, current.meta.version)?;
        groups::delete(conn, actor, now, tenant, current.id)
    })
}
