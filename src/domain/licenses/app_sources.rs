//! Which apps a seat turns off, from its sources: the direct assignment's own choice
//! (`apps_turned_off`) and each group's (`group_apps_turned_off`). A user has every app one
//! source turns on (Entra ID's rule for overlapping assignments), so an app is off only where
//! every source turns it off.
//!
//! When a seat's sources change (a group joins or leaves it, a direct assignment is added or
//! removed, a group changes its apps), the change is settled here: an app that holds data
//! starts its 30-day hold when it goes off, and keeps its data when it comes back on in time.

use super::inherited::emails;
use super::*;
use crate::domain::ServiceId;
use crate::domain::schema::{group_apps_turned_off, inherited_licenses};

/// The apps off in one seat, by id.
type Off = BTreeSet<i64>;

/// The apps every source turns off; `None` marks the direct assignment of a seat that isn't
/// direct (it is not a source).
fn common<'a>(sources: impl IntoIterator<Item = Option<&'a Off>>) -> Off {
    let none = Off::new();
    let mut sources = sources.into_iter().map(|s| s.unwrap_or(&none));
    let Some(first) = sources.next() else {
        return Off::new();
    };
    sources.fold(first.clone(), |acc, s| {
        acc.intersection(s).copied().collect()
    })
}

/// What is loaded to decide the apps off of some seats of one product.
#[derive(Default)]
struct Sources {
    /// user → whether the seat is direct.
    seats: BTreeMap<i64, bool>,
    /// user → apps the direct assignment turns off.
    direct_off: BTreeMap<i64, Off>,
    /// user → groups giving the seat.
    groups: BTreeMap<i64, Vec<i64>>,
    /// group → apps it turns off.
    group_off: BTreeMap<i64, Off>,
}

impl Sources {
    fn off(&self, user: i64, direct: bool) -> Off {
        let direct_source = direct.then(|| self.direct_off.get(&user));
        let groups = self.groups.get(&user).into_iter().flatten();
        common(
            direct_source
                .into_iter()
                .chain(groups.map(|g| self.group_off.get(g))),
        )
    }
}

fn group_choices(
    conn: &mut DbConnection,
    product: i64,
    groups: Vec<i64>,
) -> Result<BTreeMap<i64, Off>, DomainError> {
    let mut off: BTreeMap<i64, Off> = BTreeMap::new();
    if groups.is_empty() {
        return Ok(off);
    }
    for (group, service) in group_apps_turned_off::table
        .filter(group_apps_turned_off::product_id.eq(product))
        .filter(group_apps_turned_off::group_id.eq_any(groups))
        .select((
            group_apps_turned_off::group_id,
            group_apps_turned_off::service_id,
        ))
        .load::<(i64, i64)>(conn)?
    {
        off.entry(group).or_default().insert(service);
    }
    Ok(off)
}

/// The apps off in the seats of `product` that `users` hold: only users with some app off
/// are in the answer.
pub(crate) fn apps_off_among(
    conn: &mut DbConnection,
    product: ProductId,
    users: &[i64],
) -> Result<BTreeMap<i64, Off>, DomainError> {
    let mut answer = BTreeMap::new();
    for chunk in users.chunks(5000) {
        let mut s = Sources {
            seats: license_assignments::table
                .filter(license_assignments::product_id.eq(product.0))
                .filter(license_assignments::user_id.eq_any(chunk))
                .select((license_assignments::user_id, license_assignments::direct))
                .load::<(i64, bool)>(conn)?
                .into_iter()
                .collect(),
            ..Sources::default()
        };
        for (user, service) in apps_turned_off::table
            .filter(apps_turned_off::product_id.eq(product.0))
            .filter(apps_turned_off::user_id.eq_any(chunk))
            .select((apps_turned_off::user_id, apps_turned_off::service_id))
            .load::<(i64, i64)>(conn)?
        {
            s.direct_off.entry(user).or_default().insert(service);
        }
        let mut groups = BTreeSet::new();
        for (user, group) in inherited_licenses::table
            .filter(inherited_licenses::product_id.eq(product.0))
            .filter(inherited_licenses::user_id.eq_any(chunk))
            .select((inherited_licenses::user_id, inherited_licenses::group_id))
            .load::<(i64, i64)>(conn)?
        {
            s.groups.entry(user).or_default().push(group);
            groups.insert(group);
        }
        s.group_off = group_choices(conn, product.0, groups.into_iter().collect())?;
        for (&user, &direct) in &s.seats {
            let off = s.off(user, direct);
            if !off.is_empty() {
                answer.insert(user, off);
            }
        }
    }
    Ok(answer)
}

/// Which apps are off for `user`, per product they hold. The one place that decides it for a
/// user: the pages, the portal and the purge of held data go through here.
pub(crate) fn apps_off(
    conn: &mut DbConnection,
    tenant: TenantId,
    user: UserId,
) -> Result<BTreeMap<ProductId, BTreeSet<ServiceId>>, DomainError> {
    let seats: Vec<(i64, bool)> = license_assignments::table
        .filter(license_assignments::tenant_id.eq(tenant.0))
        .filter(license_assignments::user_id.eq(user.0))
        .select((license_assignments::product_id, license_assignments::direct))
        .load(conn)?;
    let mut answer = BTreeMap::new();
    for (product, _) in seats {
        if let Some(off) = apps_off_among(conn, ProductId(product), &[user.0])?.remove(&user.0) {
            answer.insert(ProductId(product), off.into_iter().map(ServiceId).collect());
        }
    }
    Ok(answer)
}

/// The apps off in some seats of one product before their sources change, to be settled
/// after with `settle_apps`.
pub(crate) struct AppsBefore {
    product: ProductId,
    users: Vec<i64>,
    off: BTreeMap<i64, Off>,
}

pub(crate) fn apps_before(
    conn: &mut DbConnection,
    product: ProductId,
    users: &[i64],
) -> Result<AppsBefore, DomainError> {
    Ok(AppsBefore {
        product,
        users: users.to_vec(),
        off: apps_off_among(conn, product, users)?,
    })
}

/// Settles what a change of sources did to the apps of the seats in `before` that are still
/// held: each data-holding app that went off starts its 30-day hold, each that came back on
/// keeps its held data; one audit entry per user whose apps changed, ending with `why`.
/// Returns how many users' apps changed and until when data newly held is kept.
pub(crate) fn settle_apps(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    before: AppsBefore,
    why: &str,
) -> Result<(usize, Option<DateTime<Utc>>), DomainError> {
    let product = before.product;
    let ids: Vec<UserId> = before.users.iter().copied().map(UserId).collect();
    let held: Vec<i64> = holders_among(conn, product, &ids)?.into_iter().collect();
    let after = apps_off_among(conn, product, &held)?;
    let none = Off::new();
    let changed: Vec<(i64, Off, Off)> = held
        .iter()
        .filter_map(|user| {
            let was = before.off.get(user).unwrap_or(&none);
            let is = after.get(user).unwrap_or(&none);
            (was != is).then(|| {
                (
                    *user,
                    is.difference(was).copied().collect(),
                    was.difference(is).copied().collect(),
                )
            })
        })
        .collect();
    if changed.is_empty() {
        return Ok((0, None));
    }
    let product_name: String = products::table
        .find(product.0)
        .select(products::name)
        .first(conn)?;
    let services: BTreeMap<i64, (String, bool)> = product_services::table
        .filter(product_services::product_id.eq(product.0))
        .select((
            product_services::id,
            product_services::name,
            product_services::holds_data,
        ))
        .load::<(i64, String, bool)>(conn)?
        .into_iter()
        .map(|(id, name, holds)| (id, (name, holds)))
        .collect();
    let until = now + DATA_HOLD;
    let mut any_held = false;
    let mut entries = Vec::with_capacity(changed.len());
    let changed_ids: Vec<i64> = changed.iter().map(|(u, _, _)| *u).collect();
    let kept: BTreeSet<(i64, i64)> = app_holds_of(conn, product, &changed_ids)?;
    for (service, (_, holds_data)) in &services {
        if !holds_data {
            continue;
        }
        let went_off: Vec<i64> = changed
            .iter()
            .filter(|(_, off, _)| off.contains(service))
            .map(|(u, _, _)| *u)
            .collect();
        let came_on: Vec<i64> = changed
            .iter()
            .filter(|(_, _, on)| on.contains(service))
            .map(|(u, _, _)| *u)
            .collect();
        let touched: Vec<i64> = went_off.iter().chain(&came_on).copied().collect();
        for chunk in touched.chunks(5000) {
            diesel::delete(
                data_holds::table
                    .filter(data_holds::product_id.eq(product.0))
                    .filter(data_holds::service_id.eq(*service))
                    .filter(data_holds::user_id.eq_any(chunk)),
            )
            .execute(conn)?;
        }
        any_held |= !went_off.is_empty();
        let rows: Vec<_> = went_off
            .iter()
            .map(|user| {
                (
                    data_holds::tenant_id.eq(tenant.0),
                    data_holds::user_id.eq(*user),
                    data_holds::product_id.eq(product.0),
                    data_holds::service_id.eq(Some(*service)),
                    data_holds::held_until.eq(naive(until)),
                    data_holds::created_at.eq(naive(now)),
                )
            })
            .collect();
        for chunk in rows.chunks(1000) {
            crate::domain::db::insert_batch!(conn, data_holds::table, chunk)?;
        }
    }
    let names = emails(conn, &changed_ids)?;
    let name_of = |id: &i64| services.get(id).map(|(n, _)| n.as_str()).unwrap_or("?");
    for ((user, off, on), email) in changed.iter().zip(names) {
        let mut said = Vec::new();
        if !off.is_empty() {
            let apps: Vec<&str> = off.iter().map(name_of).collect();
            let data = off.iter().any(|s| services.get(s).is_some_and(|(_, h)| *h));
            let hold = if data {
                format!(" (data kept until {})", until.format("%Y-%m-%d"))
            } else {
                String::new()
            };
            said.push(format!("turned off {}{hold}", apps.join(", ")));
        }
        if !on.is_empty() {
            let apps: Vec<&str> = on.iter().map(name_of).collect();
            let data = on.iter().any(|s| kept.contains(&(*user, *s)));
            let kept = if data { " (held data kept)" } else { "" };
            said.push(format!("turned on {}{kept}", apps.join(", ")));
        }
        entries.push((email, format!("{product_name}: {}; {why}", said.join("; "))));
    }
    audit::record_many(conn, actor, now, Some(tenant), "Changed apps", &entries)?;
    Ok((changed.len(), any_held.then_some(until)))
}

/// The (user, app) holds of `product` among `users`.
fn app_holds_of(
    conn: &mut DbConnection,
    product: ProductId,
    users: &[i64],
) -> Result<BTreeSet<(i64, i64)>, DomainError> {
    let mut found = BTreeSet::new();
    for chunk in users.chunks(5000) {
        found.extend(
            data_holds::table
                .filter(data_holds::product_id.eq(product.0))
                .filter(data_holds::user_id.eq_any(chunk))
                .select((data_holds::user_id, data_holds::service_id))
                .load::<(i64, Option<i64>)>(conn)?
                .into_iter()
                .filter_map(|(user, service)| Some((user, service?))),
        );
    }
    Ok(found)
}

/// For seats given back while their license's data was still held (`held`: user → until):
/// the data of the apps the seat now has off stays held, until the same date.
pub(crate) fn keep_holding_apps_off(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    tenant: TenantId,
    product: ProductId,
    held: &BTreeMap<i64, chrono::NaiveDateTime>,
) -> Result<(), DomainError> {
    if held.is_empty() {
        return Ok(());
    }
    let users: Vec<i64> = held.keys().copied().collect();
    let off = apps_off_among(conn, product, &users)?;
    if off.is_empty() {
        return Ok(());
    }
    let holding: BTreeSet<i64> = product_services::table
        .filter(product_services::product_id.eq(product.0))
        .filter(product_services::holds_data.eq(true))
        .select(product_services::id)
        .load::<i64>(conn)?
        .into_iter()
        .collect();
    let rows: Vec<_> = off
        .iter()
        .flat_map(|(user, apps)| {
            apps.intersection(&holding).map(move |service| {
                (
                    data_holds::tenant_id.eq(tenant.0),
                    data_holds::user_id.eq(*user),
                    data_holds::product_id.eq(product.0),
                    data_holds::service_id.eq(Some(*service)),
                    data_holds::held_until.eq(held[user]),
                    data_holds::created_at.eq(naive(now)),
                )
            })
        })
        .collect();
    for chunk in rows.chunks(1000) {
        crate::domain::db::insert_batch!(conn, data_holds::table, chunk)?;
    }
    Ok(())
}

/// The license holds (not an app's) of `product` among `users`: user → until.
pub(crate) fn license_holds_of(
    conn: &mut DbConnection,
    product: ProductId,
    users: &[i64],
) -> Result<BTreeMap<i64, chrono::NaiveDateTime>, DomainError> {
    let mut found = BTreeMap::new();
    for chunk in users.chunks(5000) {
        found.extend(
            data_holds::table
                .filter(data_holds::product_id.eq(product.0))
                .filter(data_holds::user_id.eq_any(chunk))
                .filter(data_holds::service_id.is_null())
                .select((data_holds::user_id, data_holds::held_until))
                .load::<(i64, chrono::NaiveDateTime)>(conn)?,
        );
    }
    Ok(found)
}
