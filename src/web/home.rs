//! Home: the tenant at a glance, as cards that link where they count.

use actix_web::HttpResponse;
use actix_web::http::header;
use askama::Template;
use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::WebError;
use super::frame::Frame;
use super::session::AdminRequest;
use crate::domain::Actor;
use crate::domain::home::{self, Home};
use crate::domain::licenses::{PoolSummary, TREND_DAYS, UsageDay, UsageTrend};

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    frame: Frame,
    home: Home,
    conflicts: Vec<PoolSummary>,
    charts: Vec<TrendChart>,
    now: DateTime<Utc>,
}

impl HomePage {
    fn soon(&self, row: &crate::domain::subscriptions::SubscriptionRow) -> bool {
        home::renews_soon(row, self.now)
    }
}

/// GET /: Home for admins; staff go to their console.
pub async fn show(
    AdminRequest {
        session,
        state,
        actor,
        now,
    }: AdminRequest,
) -> Result<HttpResponse, WebError> {
    if let Actor::Staff { .. } = actor {
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/support"))
            .finish());
    }
    let tenant = session.tenant()?;
    let home = state
        .db(move |conn| home::home(conn, &actor, tenant, now))
        .await?;
    let conflicts = home
        .pools
        .as_deref()
        .map(PoolSummary::conflicts)
        .unwrap_or_default();
    let charts = home
        .trend
        .iter()
        .flatten()
        .map(|trend| TrendChart::of(trend, now.date_naive()))
        .collect();
    let page = HomePage {
        frame: Frame::new("Home", &session, "/"),
        home,
        conflicts,
        charts,
        now,
    };
    super::render(&page)
}

// ---------------------------------------------------------------- the usage chart

/// The drawing's size in its own units; it scales to the width of its card.
const WIDTH: f64 = 320.0;
const HEIGHT: f64 = 120.0;
/// Room for the axis labels.
const LEFT: f64 = 34.0;
const BOTTOM: f64 = 18.0;
const TOP: f64 = 8.0;

/// One product's 90 days as an SVG drawn on the server, with the same figures as a table.
pub struct TrendChart {
    pub product_name: String,
    /// Where the chart's heading and table are named from (`trend-3`).
    pub id: String,
    pub licenses_points: String,
    pub assigned_points: String,
    /// The top of the scale, and where its label and line sit.
    pub top_value: i64,
    pub top_y: f64,
    pub base_y: f64,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    /// "18 of 25 licenses assigned on 2026-12-02; 12 of 25 on 2026-09-04."
    pub summary: String,
    /// The days whose figures changed, with the first and the last.
    pub changes: Vec<UsageDay>,
}

impl TrendChart {
    pub fn of(trend: &UsageTrend, today: NaiveDate) -> TrendChart {
        let first_day = today - Duration::days(TREND_DAYS - 1);
        let days = &trend.days;
        let top_value = days
            .iter()
            .map(|d| d.licenses.max(d.assigned))
            .max()
            .unwrap_or(0)
            .max(1);
        let base_y = HEIGHT - BOTTOM;
        let scale_y = |v: i64| base_y - (v as f64 / top_value as f64) * (base_y - TOP);
        let span = (TREND_DAYS - 1) as f64;
        let x = |day: NaiveDate| {
            LEFT + ((day - first_day).num_days() as f64 / span) * (WIDTH - LEFT - 4.0)
        };
        // Steps, not slopes: a count holds until the day it changes.
        let points = |value: fn(&UsageDay) -> i64| {
            let mut out = Vec::new();
            for (i, d) in days.iter().enumerate() {
                if i > 0 {
                    out.push(format!(
                        "{:.1},{:.1}",
                        x(d.day),
                        scale_y(value(&days[i - 1]))
                    ));
                }
                out.push(format!("{:.1},{:.1}", x(d.day), scale_y(value(d))));
            }
            if let Some(last) = days.last()
                && last.day < today
            {
                out.push(format!("{:.1},{:.1}", x(today), scale_y(value(last))));
            }
            out.join(" ")
        };
        let mut changes: Vec<UsageDay> = Vec::new();
        for (i, d) in days.iter().enumerate() {
            let changed = changes
                .last()
                .is_none_or(|c| (c.licenses, c.assigned) != (d.licenses, d.assigned));
            if changed || i + 1 == days.len() {
                changes.push(*d);
            }
        }
        let summary = match (days.first(), days.last()) {
            (Some(first), Some(last)) if first.day != last.day => format!(
                "{} of {} licenses assigned on {}; {} of {} on {}.",
                last.assigned, last.licenses, last.day, first.assigned, first.licenses, first.day
            ),
            (Some(only), _) => format!(
                "{} of {} licenses assigned on {}; no earlier day is recorded yet.",
                only.assigned, only.licenses, only.day
            ),
            _ => "No day is recorded yet.".to_owned(),
        };
        TrendChart {
            product_name: trend.product_name.clone(),
            id: format!("trend-{}", trend.product.0),
            licenses_points: points(|d| d.licenses),
            assigned_points: points(|d| d.assigned),
            top_value,
            top_y: scale_y(top_value),
            base_y,
            first_day,
            last_day: today,
            summary,
            changes,
        }
    }

    pub fn width(&self) -> f64 {
        WIDTH
    }

    pub fn height(&self) -> f64 {
        HEIGHT
    }

    pub fn left(&self) -> f64 {
        LEFT
    }
}
