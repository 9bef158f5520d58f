//! The payment gateway: the trait a real one implements, and the built-in test gateway.

use super::*;

// ---------------------------------------------------------------- the gateway

/// Why a charge did not go through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decline {
    Declined,
    Expired,
}

impl Decline {
    pub fn reason(self) -> &'static str {
        match self {
            Decline::Declined => "the card was declined",
            Decline::Expired => "the card has expired",
        }
    }

    /// As the charges table keeps it.
    pub fn code(self) -> &'static str {
        match self {
            Decline::Declined => "declined",
            Decline::Expired => "expired",
        }
    }

    pub fn from_code(code: &str) -> Decline {
        match code {
            "expired" => Decline::Expired,
            _ => Decline::Declined,
        }
    }
}

/// A card as the gateway sees it.
pub struct CardOnFile<'a> {
    pub token: &'a str,
    pub exp_month: i32,
    pub exp_year: i32,
}

/// A charge the gateway took: its reference, kept with the charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub reference: String,
}

/// What a charge came to, other than taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeFailure {
    /// The card was refused: final for this key.
    Declined(Decline),
    /// No answer (a timeout, the provider down): the charge stays pending and `tick` asks again
    /// with the same key.
    Unanswered(String),
}

/// Charges and refunds cards. allot ships a test gateway; a real provider implements this
/// trait (its token replaces the test token).
///
/// A charge is made at most once per `key`. allot records the charge as pending with a key
/// unique to it before calling `charge`, outside any database transaction, and settles it
/// after; when it does not hear back (a crash, a timeout) the next `tick` calls `charge` again
/// with the same key. So the gateway must treat a repeated key as the same charge and answer
/// with the first result, without charging again: a real provider passes the key as its
/// idempotency key (Stripe's `Idempotency-Key` header, Adyen's `Idempotency-Key`, Braintree's
/// order id with duplicate checking), and keeps it at least as long as `tick` may retry.
pub trait PaymentGateway: Send + Sync {
    /// Turns a card number into the token to keep; the number itself is never stored.
    fn tokenize(&self, number: &str) -> String;
    fn charge(
        &self,
        key: &str,
        card: &CardOnFile<'_>,
        amount_cents: i64,
        now: DateTime<Utc>,
    ) -> Result<Approval, ChargeFailure>;
}

/// The built-in test gateway, like a payment provider's test mode (README, "Test cards"):
/// 4000 0000 0000 0002 is declined, 4000 0000 0000 0069 is refused as expired, and every other
/// valid number is approved while its expiry date has not passed. Like a real provider it
/// answers a repeated key with its first result; it remembers keys in memory, for the life of
/// the process.
pub struct TestGateway;

static TEST_CHARGES: std::sync::LazyLock<
    std::sync::Mutex<std::collections::HashMap<String, Result<Approval, Decline>>>,
> = std::sync::LazyLock::new(Default::default);

impl PaymentGateway for TestGateway {
    fn tokenize(&self, number: &str) -> String {
        match number {
            "4000000000000002" => "test:decline".into(),
            "4000000000000069" => "test:expired".into(),
            _ => "test:approve".into(),
        }
    }

    fn charge(
        &self,
        key: &str,
        card: &CardOnFile<'_>,
        _amount: i64,
        now: DateTime<Utc>,
    ) -> Result<Approval, ChargeFailure> {
        let mut seen = TEST_CHARGES
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = seen.len();
        let answer = seen.entry(key.to_owned()).or_insert_with(|| {
            if card_expired(card.exp_month, card.exp_year, now) {
                return Err(Decline::Expired);
            }
            match card.token {
                "test:decline" => Err(Decline::Declined),
                "test:expired" => Err(Decline::Expired),
                _ => Ok(Approval {
                    reference: format!("test_ch_{}", count + 1),
                }),
            }
        });
        answer.clone().map_err(ChargeFailure::Declined)
    }
}

/// A card is good through the last day of its expiry month.
pub fn card_expired(month: i32, year: i32, now: DateTime<Utc>) -> bool {
    (year, month) < (now.year(), now.month() as i32)
}
