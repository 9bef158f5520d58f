//! The review page before money moves: Buy licenses, Remove licenses and Buy a subscription
//! each show what they will charge or credit, and confirm with `confirm=yes`.

use super::*;
use crate::domain::subscriptions::Review;

/// Which change is being reviewed: its words on the page.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Reviewing {
    BuyLicenses,
    RemoveLicenses,
    Subscribe,
}

#[derive(Template)]
#[template(path = "billing/review.html")]
pub struct ReviewPage {
    frame: Frame,
    reviewing: Reviewing,
    review: Review,
    now: chrono::DateTime<chrono::Utc>,
    /// Where the confirmation posts, and the fields it carries again.
    action: String,
    fields: Vec<(&'static str, String)>,
    /// Where Cancel goes back to.
    back: String,
}

impl ReviewPage {
    pub fn new(
        request: &TenantRequest,
        reviewing: Reviewing,
        review: Review,
        action: String,
        fields: Vec<(&'static str, String)>,
        back: String,
    ) -> ReviewPage {
        let title = match reviewing {
            Reviewing::BuyLicenses => "Buy licenses",
            Reviewing::RemoveLicenses => "Remove licenses",
            Reviewing::Subscribe => "Buy a subscription",
        };
        ReviewPage {
            frame: Frame::new(title, &request.session, "/billing/products"),
            reviewing,
            review,
            now: request.now,
            action,
            fields,
            back,
        }
    }

    fn removing(&self) -> bool {
        self.reviewing == Reviewing::RemoveLicenses
    }

    fn new_subscription(&self) -> bool {
        self.reviewing == Reviewing::Subscribe
    }

    fn conflict(&self) -> bool {
        !self.review.beyond.is_empty()
    }

    fn button(&self) -> &'static str {
        match (self.reviewing, self.conflict()) {
            (Reviewing::RemoveLicenses, true) => "Remove licenses anyway",
            (Reviewing::RemoveLicenses, false) => "Remove licenses",
            _ => "Place order",
        }
    }

    fn period(&self) -> &'static str {
        if self.review.billing_period.is_yearly() {
            "year"
        } else {
            "month"
        }
    }
}
