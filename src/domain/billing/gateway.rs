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
        test_token(number)
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
            test_decision(card, now).map(|()| Approval {
                reference: format!("test_ch_{}", count + 1),
            })
        });
        answer.clone().map_err(ChargeFailure::Declined)
    }
}

/// The test card numbers' tokens.
fn test_token(number: &str) -> String {
    match number {
        "4000000000000002" => "test:decline".into(),
        "4000000000000069" => "test:expired".into(),
        _ => "test:approve".into(),
    }
}

/// What the test gateway decides for a charge it has not seen before.
fn test_decision(card: &CardOnFile<'_>, now: DateTime<Utc>) -> Result<(), Decline> {
    if card_expired(card.exp_month, card.exp_year, now) {
        return Err(Decline::Expired);
    }
    match card.token {
        "test:decline" => Err(Decline::Declined),
        "test:expired" => Err(Decline::Expired),
        _ => Ok(()),
    }
}

/// The test gateway with its memory in a directory (`ALLOT_TEST_GATEWAY_LEDGER`) instead of
/// the process: one file per key it was asked, named after the key, holding
/// `amount<TAB>answer` (the approval's reference, or `declined` / `expired`). The first
/// process to link its answer in under the key's name wins (link(2) refuses a name that
/// exists, and the file is whole before it gets the name), so a repeated key gets its first
/// answer across processes and restarts, as from a real provider, with no lock for a crash to
/// leave behind. The directory is the provider's own record of what it took: the crash test
/// (`scripts/crash_test`) checks the charges against it.
pub struct LedgerGateway {
    dir: std::path::PathBuf,
}

impl LedgerGateway {
    pub fn new(dir: impl Into<std::path::PathBuf>) -> LedgerGateway {
        LedgerGateway { dir: dir.into() }
    }

    /// The first answer to `key`: the one on file, or `decide`'s, filed now.
    fn answer(
        &self,
        key: &str,
        amount: i64,
        decide: impl FnOnce() -> Result<Approval, Decline>,
    ) -> std::io::Result<Result<Approval, Decline>> {
        use std::io::{Error, ErrorKind};
        // allot's keys are letters, digits and dashes (`record_pending`): safe as file names.
        let plain = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
        if key.is_empty() || !key.bytes().all(plain) {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "a key unfit for a file name",
            ));
        }
        let path = self.dir.join(key);
        if let Some(first) = Self::filed(&path)? {
            return Ok(first);
        }
        std::fs::create_dir_all(&self.dir)?;
        let answer = decide();
        let recorded = match &answer {
            Ok(approval) => approval.reference.as_str(),
            Err(decline) => decline.code(),
        };
        let draft = self.dir.join(format!(
            ".{key}.{}.{:016x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::write(&draft, format!("{amount}\t{recorded}\n"))?;
        let linked = std::fs::hard_link(&draft, &path);
        std::fs::remove_file(&draft)?;
        match linked {
            Ok(()) => Ok(answer),
            // Another process answered the key first: its answer stands.
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Self::filed(&path)?
                .ok_or_else(|| Error::new(ErrorKind::NotFound, "the key's answer went away")),
            Err(e) => Err(e),
        }
    }

    /// The answer filed at `path`, if any.
    fn filed(path: &std::path::Path) -> std::io::Result<Option<Result<Approval, Decline>>> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let answer = text.trim_end().split('\t').nth(1).unwrap_or_default();
        Ok(Some(match answer {
            "declined" => Err(Decline::Declined),
            "expired" => Err(Decline::Expired),
            reference => Ok(Approval {
                reference: reference.to_owned(),
            }),
        }))
    }
}

impl PaymentGateway for LedgerGateway {
    fn tokenize(&self, number: &str) -> String {
        test_token(number)
    }

    fn charge(
        &self,
        key: &str,
        card: &CardOnFile<'_>,
        amount_cents: i64,
        now: DateTime<Utc>,
    ) -> Result<Approval, ChargeFailure> {
        let decide = || {
            test_decision(card, now).map(|()| Approval {
                reference: format!("test_ch_{:016x}", rand::random::<u64>()),
            })
        };
        match self.answer(key, amount_cents, decide) {
            Ok(answer) => answer.map_err(ChargeFailure::Declined),
            // Like a provider that did not answer: the charge stays pending for `tick`.
            Err(e) => Err(ChargeFailure::Unanswered(format!(
                "the test gateway's ledger {}: {e}",
                self.dir.display()
            ))),
        }
    }
}

/// A card is good through the last day of its expiry month.
pub fn card_expired(month: i32, year: i32, now: DateTime<Utc>) -> bool {
    (year, month) < (now.year(), now.month() as i32)
}
