//! A group's members: the list, Add members, Remove members. Joining gives the group's
//! licenses, leaving takes them (with the data hold), as direct assignment does.

use super::*;
use crate::domain::users::{UserFilter, UserPage, UserSort};

/// One page of a group's members, searched by a prefix of the name or sign-in name, in
/// keyset order.
pub fn members(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    group: GroupId,
    search: &str,
    after: Option<(String, i64)>,
) -> Result<UserPage, DomainError> {
    authz::may(actor, Action::ViewGroups, &Target::Tenant(tenant))?;
    group_name(conn, tenant, group)?;
    crate::domain::users::list(
        conn,
        actor,
        tenant,
        search,
        UserFilter::InGroup(group),
        UserSort::Name,
        after,
    )
}

/// One page of the users who could join the group (Add members).
pub fn candidates(
    conn: &mut DbConnection,
    actor: &Actor,
    tenant: TenantId,
    group: GroupId,
    search: &str,
    after: Option<(String, i64)>,
) -> Result<UserPage, DomainError> {
    authz::may(actor, Action::ManageGroups, &Target::Tenant(tenant))?;
    group_name(conn, tenant, group)?;
    crate::domain::users::list(
        conn,
        actor,
        tenant,
        search,
        UserFilter::NotInGroup(group),
        UserSort::Name,
        after,
    )
}

/// What Add members did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembersAdded {
    pub added: usize,
    /// Already members: nothing changed for them.
    pub already: usize,
    /// The group's licenses given within the request, or `None` when they are being given in
    /// the background (the group's page shows the progress).
    pub licenses: Option<licenses::Given>,
}

/// Adds `users` to the group (a user added twice is a member once) and gives them the
/// group's licenses: within the request for up to `IN_REQUEST` new members, else in the
/// background. Unknown, deleted or other-tenant users: NotFound, nothing changed.
pub fn add_members(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    group: GroupId,
    chosen: &[UserId],
) -> Result<MembersAdded, DomainError> {
    authz::may(actor, Action::ManageGroups, &Target::Tenant(tenant))?;
    if chosen.is_empty() {
        return Err(DomainError::invalid(
            "users",
            "Select the users you want to add.",
        ));
    }
    crate::domain::db::transaction(conn, |conn| {
        licenses::lock(conn, tenant)?;
        let name = group_name(conn, tenant, group)?;
        let found = licenses::tenant_users(conn, tenant, chosen)?;
        let ids: Vec<i64> = found.iter().map(|(u, _)| u.0).collect();
        let mut members = std::collections::BTreeSet::new();
        for chunk in ids.chunks(5000) {
            members.extend(
                group_members::table
                    .filter(group_members::group_id.eq(group.0))
                    .filter(group_members::user_id.eq_any(chunk))
                    .select(group_members::user_id)
                    .load::<i64>(conn)?,
            );
        }
        let new: Vec<(UserId, String)> = found
            .into_iter()
            .filter(|(u, _)| !members.contains(&u.0))
            .collect();
        let rows: Vec<_> = new
            .iter()
            .map(|(user, _)| {
                (
                    group_members::tenant_id.eq(tenant.0),
                    group_members::group_id.eq(group.0),
                    group_members::user_id.eq(user.0),
                    group_members::added_at.eq(naive(now)),
                )
            })
            .collect();
        for chunk in rows.chunks(1000) {
            crate::domain::db::insert_batch!(conn, group_members::table, chunk)?;
        }
        let entries: Vec<(String, String)> = new
            .iter()
            .map(|(_, email)| (email.clone(), format!("added to {name}")))
            .collect();
        audit::record_many(
            conn,
            actor,
            now,
            Some(tenant),
            "Added group member",
            &entries,
        )?;
        let new_ids: Vec<UserId> = new.iter().map(|(u, _)| *u).collect();
        let licenses = if new_ids.len() <= IN_REQUEST {
            Some(give_group_licenses(
                conn, actor, now, tenant, group, &name, &new_ids,
            )?)
        } else {
            jobs::start(conn, actor, now, tenant, group, &name)?;
            None
        };
        Ok(MembersAdded {
            added: new.len(),
            already: members.len(),
            licenses,
        })
    })
}

/// What Remove members did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembersRemoved {
    pub removed: usize,
    /// Seats freed because nothing else gives them.
    pub licenses_freed: usize,
    /// Until when the freed licenses' data is kept, when a product holds data.
    pub data_held_until: Option<DateTime<Utc>>,
}

/// Removes `users` from the group, all or nothing; each loses what only this group gave them,
/// with the 30-day data hold.
pub fn remove_members(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    group: GroupId,
    chosen: &[UserId],
) -> Result<MembersRemoved, DomainError> {
    authz::may(actor, Action::ManageGroups, &Target::Tenant(tenant))?;
    if chosen.is_empty() {
        return Err(DomainError::invalid(
            "users",
            "Select the members you want to remove.",
        ));
    }
    crate::domain::db::transaction(conn, |conn| {
        licenses::lock(conn, tenant)?;
        let name = group_name(conn, tenant, group)?;
        let ids: Vec<i64> = chosen.iter().map(|u| u.0).collect();
        let mut leaving: Vec<(i64, String)> = Vec::new();
        for chunk in ids.chunks(5000) {
            leaving.extend(
                group_members::table
                    .inner_join(users::table)
                    .filter(group_members::group_id.eq(group.0))
                    .filter(group_members::user_id.eq_any(chunk))
                    .select((users::id, users::email))
                    .load::<(i64, String)>(conn)?,
            );
        }
        let wanted: std::collections::BTreeSet<i64> = ids.iter().copied().collect();
        if leaving.len() != wanted.len() {
            return Err(DomainError::NotFound);
        }
        let leaving_ids: Vec<UserId> = leaving.iter().map(|(u, _)| UserId(*u)).collect();
        let mut freed = 0;
        let mut held_until = None;
        for (product, product_name) in products_of(conn, group)? {
            let gp = GroupProduct {
                group,
                group_name: &name,
                product,
                product_name: &product_name,
            };
            let (n, until) = licenses::take_inherited(conn, actor, now, tenant, &gp, &leaving_ids)?;
            freed += n;
            held_until = held_until.or(until);
        }
        for chunk in ids.chunks(5000) {
            diesel::delete(
                group_members::table
                    .filter(group_members::group_id.eq(group.0))
                    .filter(group_members::user_id.eq_any(chunk)),
            )
            .execute(conn)?;
        }
        let entries: Vec<(String, String)> = leaving
            .iter()
            .map(|(_, email)| (email.clone(), format!("removed from {name}")))
            .collect();
        audit::record_many(
            conn,
            actor,
            now,
            Some(tenant),
            "Removed group member",
            &entries,
        )?;
        Ok(MembersRemoved {
            removed: leaving.len(),
            licenses_freed: freed,
            data_held_until: held_until,
        })
    })
}
