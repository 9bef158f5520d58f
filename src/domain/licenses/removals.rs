//! What a change would unassign, said before it is made: every path that removes licenses
//! from users (a user's Licenses and apps, Manage product licenses, a product's page) shows one
//! confirmation with who, which products, and until when their data is kept.

use super::*;

/// One user's licenses a change would remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRemoval {
    pub user: UserId,
    pub display_name: String,
    pub email: String,
    pub products: Vec<String>,
}

/// Everything a change would unassign, and what happens to the data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Removals {
    pub users: Vec<PlannedRemoval>,
    /// Per product removed: until when its data is kept (or that access ends at once); then
    /// that files stay until the user is deleted.
    pub notices: Vec<String>,
}

impl Removals {
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

/// What `manage_licenses` (or a user's Save changes, which is Replace for one user) would
/// unassign, changing nothing. Licenses only groups give are kept, as the change keeps them.
pub fn planned_removals(
    conn: &mut DbConnection,
    actor: &Actor,
    now: DateTime<Utc>,
    tenant: TenantId,
    users_chosen: &[UserId],
    mode: ManageMode,
    products_chosen: &[ProductId],
) -> Result<Removals, DomainError> {
    authz::may(
        actor,
        Action::AssignLicenses,
        &authz::Target::Tenant(tenant),
    )?;
    let chosen: BTreeSet<ProductId> = products_chosen.iter().copied().collect();
    let mut removals = Removals::default();
    let mut removed: BTreeMap<ProductId, String> = BTreeMap::new();
    let mut holders = licenses_of_users(conn, tenant, users_chosen)?;
    for user in users_chosen {
        let Some(holder) = holders.remove(&user.0) else {
            continue; // chosen twice
        };
        let products: Vec<&Holding> = holder
            .licenses
            .iter()
            .filter(|l| l.tenant_pool && !l.only_inherited())
            .filter(|l| match mode {
                ManageMode::AssignMore => false,
                ManageMode::Replace => !chosen.contains(&l.product),
                ManageMode::UnassignAll => true,
            })
            .collect();
        if products.is_empty() {
            continue;
        }
        for l in &products {
            removed.insert(l.product, l.product_name.clone());
        }
        removals.users.push(PlannedRemoval {
            user: *user,
            products: products.iter().map(|l| l.product_name.clone()).collect(),
            display_name: holder.display_name,
            email: holder.email,
        });
    }
    if removals.users.is_empty() {
        return Ok(removals);
    }
    for (product, name) in &removed {
        let services: Vec<String> = product_services::table
            .filter(product_services::product_id.eq(product.0))
            .filter(product_services::holds_data.eq(true))
            .order(product_services::name)
            .select(product_services::name)
            .load(conn)?;
        let mut lines = unassign_notice(now, name, &services);
        lines.truncate(1);
        if services.is_empty() {
            lines = vec![format!("They will lose access to {name} at once.")];
        }
        removals.notices.extend(lines);
    }
    removals
        .notices
        .push("Files are kept until the user is deleted.".to_owned());
    Ok(removals)
}
