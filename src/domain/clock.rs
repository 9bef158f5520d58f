//! The domain's time. Nothing in the domain calls `Utc::now()`: the web layer and the jobs
//! ask a `Clock`, which tests (and `allot tick --now`) can set.

use chrono::{DateTime, Duration, Utc};
use std::sync::{Arc, RwLock};

#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// Added to the system time; tests move it forward to play out days and months.
    offset: Arc<RwLock<Duration>>,
    fixed: Option<DateTime<Utc>>,
}

impl Clock {
    /// The real time.
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock stopped at `at`.
    pub fn fixed(at: DateTime<Utc>) -> Self {
        Clock {
            offset: Arc::default(),
            fixed: Some(at),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        let offset = *self.offset.read().unwrap_or_else(|e| e.into_inner());
        self.fixed.unwrap_or_else(Utc::now) + offset
    }

    /// Moves this clock (and every copy of it) forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut offset = self.offset.write().unwrap_or_else(|e| e.into_inner());
        *offset += by;
    }
}
