//! The page frame every template extends: who is signed in, where, and the navigation their
//! roles open (the domain decides; the frame only asks it).

use super::session::AdminSession;
use crate::domain::Actor;
use crate::domain::authz::Permissions;

#[derive(Clone)]
pub struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

#[derive(Clone)]
pub struct NavGroup {
    pub label: &'static str,
    pub links: Vec<NavLink>,
}

#[derive(Clone)]
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

#[derive(Clone)]
pub struct Who {
    pub display_name: String,
    pub email: String,
    /// The tenant's name, or "Support console" for staff.
    pub place: String,
    pub roles: String,
    /// Unread messages beside the Message center's bell; `None` where there is none.
    pub unread_messages: Option<i64>,
}

/// The pages of the admin center, in navigation order: (group, href, label, needed action).
/// A page of the navigation: its group, address, label, and whether the actor may open it.
type Page = (
    &'static str,
    &'static str,
    &'static str,
    fn(&Permissions) -> bool,
);

const ADMIN_PAGES: &[Page] = &[
    ("", "/", "Home", |p| p.view_admin_center),
    ("Users", "/users", "Active users", |p| p.view_users),
    ("Users", "/users/deleted", "Deleted users", |p| p.view_users),
    ("Users", "/groups", "Groups", |p| p.view_groups),
    ("Billing", "/billing/products", "Your products", |p| {
        p.view_billing
    }),
    ("Billing", "/licenses", "Licenses", |p| p.view_licenses),
    ("Billing", "/billing/bills", "Bills & payments", |p| {
        p.view_billing
    }),
    (
        "Billing",
        "/billing/payment-methods",
        "Payment methods",
        |p| p.view_billing,
    ),
    ("Support", "/support/requests", "Service requests", |p| {
        p.file_service_requests
    }),
    ("Settings", "/settings/roles", "Roles", |p| p.manage_roles),
    ("Settings", "/settings/audit-log", "Audit log", |p| {
        p.view_audit_log
    }),
    ("Settings", "/settings/agreements", "Agreements", |p| {
        p.view_agreements
    }),
    ("Settings", "/settings/api-access", "API access", |p| {
        p.manage_api_tokens
    }),
    // Every admin chooses what is emailed to them.
    (
        "Settings",
        "/settings/notifications",
        "Notifications",
        |p| p.view_admin_center,
    ),
];

const STAFF_PAGES: &[Page] = &[
    ("Support", "/support", "Service requests", |p| {
        p.view_support_queue
    }),
    ("Support", "/support/outbox", "Outbox", |p| p.view_outbox),
    ("Volume licensing", "/agreements", "Agreements", |p| {
        p.manage_agreements
    }),
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
        let flash = super::session::take_flash(&session.session);
        Frame::signed_in(title, session, current, flash)
    }

    /// The signed-in frame without taking the flash, kept for an error page (`errors::page`):
    /// an error shown instead of the page leaves the flash for the next one.
    pub fn for_errors(session: &AdminSession) -> Frame {
        Frame::signed_in("", session, "", None)
    }

    fn signed_in(
        title: &str,
        session: &AdminSession,
        current: &str,
        flash: Option<String>,
    ) -> Frame {
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
        let permissions = session.permissions();
        for (group, href, label, allowed) in pages {
            if !allowed(&permissions) {
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
                unread_messages: session.signed_in.unread_messages,
            }),
            nav,
            flash,
            area: Area::AdminCenter,
        }
    }
}
