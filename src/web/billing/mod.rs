//! Billing: Your products and a subscription's page (Buy licenses, Remove licenses, recurring
//! billing, Cancel subscription), buying a new subscription, Bills & payments, Payment methods,
//! and Export data.

mod bills;
mod catalog;
mod export;
mod payment_methods;
mod review;
mod subscriptions;

pub use bills::*;
pub use catalog::*;
pub use export::*;
pub use payment_methods::*;
use review::{ReviewPage, Reviewing};
pub use subscriptions::*;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::forms::Form;
use super::frame::Frame;
use super::session::{TenantRequest, flash};
use super::{WebError, redirect};
use crate::domain::billing::{self, Bill, CardChange, NewCard, PaymentMethod};
use crate::domain::licenses::{self, PoolSummary};
use crate::domain::subscriptions::{Cancelled, CatalogItem, Review, SubscriptionRow};
use crate::domain::{
    BillId, DomainError, PaymentMethodId, ProductId, SubscriptionId, users as user_store,
};
