//! The page frame every template extends: who is signed in, where, and the navigation their
//! roles open (the domain decides; the frame only asks it).

use super::session::AdminSession;
use crate::domain::authz::can;
use crate::domain::{Action, Actor};

pub struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

pub struct NavGroup {
    pub label: &'static str,
    pub links: Vec<NavLink>,
}

pub struct Frame {
    pub title: String,
    pub csrf: String,
    /// The signed-in person's name and where they are; `None` on public pages.
    pub who: Option<Who>,
    pub nav: Vec<NavGroup>,
    pub flash: Option<String>,
    /// Which door this page belongs to: the admin center or the service portal.
    pub area: Area,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Area {
    AdminCenter,
    Portal,
}

impl Area {
    pub fn name(self) -> &'static str {
        match self {
            Area::AdminCenter => "admin center",
            Area::Portal => "service portal",
        }
    }

    pub fn home(self) -> &'static str {
        match self {
            Area::AdminCenter => "/",
            Area::Portal => "/portal",
        }
    }

    pub fn signout(self) -> &'static str {
        match self {
            Area::AdminCenter => "/signout",
            Area::Portal => "/portal/signout",
        }
    }

    pub fn account(self) -> &'static str {
        match self {
            Area::AdminCenter => "/account",
            Area::Portal => "/portal/account",
        }
    }

    pub fn signout_everywhere(self) -> &'static str {
        match self {
            Area::AdminCenter => "/account/sign-out-everywhere",
            Area::Portal => "/portal/sign-out-everywhere",
        }
    }
}

pub struct Who {
    pub display_name: String,
    pub email: String,
    /// The tenant's name, or "Support console" for staff.
    pub place: String,
    pub roles: String,
}

/// The pages of the admin center, in navigation order: (group, href, label, needed action).
const ADMIN_PAGES: &[(&str, &str, &str, Action)] = &[
    ("", "/", "Home", Action::ViewAdminCenter),
    ("Users", "/users", "Active users", Action::ViewUsers),
    (
        "Users",
        "/users/deleted",
        "Deleted users",
        Action::ViewUsers,
    ),
    (
        "Billing",
        "/billing/products",
        "Your products",
        Action::ViewBilling,
    ),
    ("Billing", "/licenses", "Licenses", Action::ViewLicenses),
    (
        "Billing",
        "/billing/bills",
        "Bills & payments",
        Action::ViewBilling,
    ),
    (
        "Billing",
        "/billing/payment-methods",
        "Payment methods",
        Action::ViewBilling,
    ),
    (
        "Support",
        "/support/requests",
        "Service requests",
        Action::FileServiceRequests,
    ),
    ("Settings", "/settings/roles", "Roles", Action::ManageRoles),
    (
        "Settings",
        "/settings/audit-log",
        "Audit log",
        Action::ViewAuditLog,
    ),
    (
        "Settings",
        "/settings/agreements",
        "Agreements",
        Action::ViewBilling,
    ),
];

const STAFF_PAGES: &[(&str, &str, &str, Action)] = &[
    (
        "Support",
        "/support",
        "Service requests",
        Action::ViewSupportQueue,
    ),
    ("Support", "/support/outbox", "Outbox", Action::ViewOutbox),
    (
        "Volume licensing",
        "/agreements",
        "Agreements",
        Action::ManageAgreements,
    ),
];

impl Frame {
    /// A frame with no one signed in (sign-in and error pages).
    pub fn bare(title: &str) -> Frame {
        Frame {
            title: title.to_owned(),
            csrf: String::new(),
            who: None,
            nav: Vec::new(),
            flash: None,
            area: Area::AdminCenter,
        }
    }

    /// A public page of the service portal.
    pub fn bare_portal(title: &str) -> Frame {
        Frame {
            area: Area::Portal,
            ..Frame::bare(title)
        }
    }

    /// The frame of a signed-in page; `current` is the href of the page's navigation entry.
    pub fn new(title: &str, session: &AdminSession, current: &str) -> Frame {
        let actor = session.actor();
        let (pages, roles) = match actor {
            Actor::Admin { roles, .. } => (
                ADMIN_PAGES,
                roles
                    .iter()
                    .map(|r| r.title())
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            Actor::Staff { role, .. } => (STAFF_PAGES, role.title().to_owned()),
            _ => (&[][..], String::new()),
        };
        let mut nav: Vec<NavGroup> = Vec::new();
        for (group, href, label, action) in pages {
            if !can(actor, *action, actor.tenant()) {
                continue;
            }
            let link = NavLink {
                href,
                label,
                current: *href == current,
            };
            match nav.last_mut() {
                Some(last) if last.label == *group => {
                    if !last.links.iter().any(|l| l.href == *href) {
                        last.links.push(link);
                    }
                }
                _ => nav.push(NavGroup {
                    label: group,
                    links: vec![link],
                }),
            }
        }
        Frame {
            title: title.to_owned(),
            csrf: session.csrf(),
            who: Some(Who {
                display_name: session.signed_in.display_name.clone(),
                email: actor.label(),
                place: session.signed_in.place.clone(),
                roles,
            }),
            nav,
            flash: super::session::take_flash(&session.session),
            area: Area::AdminCenter,
        }
    }
}
