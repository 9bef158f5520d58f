//! Generated values in every form and query parameter (issue 12, finding 14). Signed in as a
//! Global admin, a buyer in the service portal, billing support and a partner, this walks the
//! app as `http_forms` does, then for every form and every page with a query, and for each of
//! their fields, lets proptest put something nasty where the page's own value was: empty, 100 KB
//! long, control characters, bidi overrides, emoji, HTML and SQL, negative, zero, huge and
//! non-numeric numbers, impossible dates, the field twice, the field missing, another field's
//! kind of value. Every answer must be below 500, no thread may panic, and an answer of 4xx
//! must leave the database as it was.
//!
//! Determinism: the generator is proptest's, seeded with a fixed seed (`SEED`), so CI sends
//! the same values on every run and cannot flake; `ALLOT_FUZZ_SEED=<number>` picks another
//! seed to explore, and `ALLOT_FUZZ_CASES=<n>` changes the number of values per field. There
//! is no regressions file: a failure is shrunk (proptest's `simplify`/`complicate`), printed
//! with its seed, and the bug it found gets a named regression test in the `http_*.rs` file of
//! its area.

mod common;

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use allot::domain::Clock;
use common::crawl::{
    Door, Field, FieldKind, Form, forms, lands_on_sign_in, same_site, sign_in, token_in, walk,
};
use common::*;
use diesel::QueryableByName;
use diesel::RunQueryDsl;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::collections::BTreeMap;
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Values per field of every form and query (besides the form as shown). With the demo data
/// this keeps the five tests under a minute per backend in a debug build on two cores (about
/// 32 s on SQLite, 42 s on PostgreSQL).
const CASES: u32 = 64;

/// The fixed seed: the same values on every run.
const SEED: u64 = 14;

/// Columns and tables left out of the database's fingerprint, because a request that is
/// refused still changes them by design:
/// - `sessions.last_seen_at`: every request of a session may note when it was last used.
/// - `signin_throttle`: a refused sign-in (401) is counted, so that guessing slows down.
const UNFINGERPRINTED_COLUMNS: &[(&str, &str)] = &[("sessions", "last_seen_at")];
const UNFINGERPRINTED_TABLES: &[&str] = &["signin_throttle", "__diesel_schema_migrations"];

// Panics anywhere in the process: handlers run on actix's blocking threads, where a panic
// becomes a 500 that the status check sees too, but the hook sees every one.
static PANICS: AtomicUsize = AtomicUsize::new(0);
static HOOK: Once = Once::new();

fn count_panics() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            previous(info);
        }));
    });
}

fn seed() -> u64 {
    std::env::var("ALLOT_FUZZ_SEED")
        .ok()
        .map(|s| s.parse().expect("ALLOT_FUZZ_SEED is a number"))
        .unwrap_or(SEED)
}

fn cases() -> u32 {
    std::env::var("ALLOT_FUZZ_CASES")
        .ok()
        .map(|s| s.parse().expect("ALLOT_FUZZ_CASES is a number"))
        .unwrap_or(CASES)
}

fn runner() -> TestRunner {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed().to_le_bytes());
    let config = Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
}

// ---------------------------------------------------------------------------------------------
// What to send

/// Text that has broken web forms before; `long` is the length of the longest, in bytes as
/// sent (a query is capped well below a form body: servers refuse long request lines).
fn nasty_text(long: usize) -> BoxedStrategy<String> {
    let control = prop::sample::select(vec![
        "\0", "\r\n", "\n", "\r", "\t", "\u{1b}", "\u{7f}", "\u{202e}", "\u{202d}", "\u{2066}",
        "\u{200b}", "\u{feff}", "\u{85}", "\u{2028}", "a", " ", "é",
    ]);
    prop_oneof![
        Just(String::new()),
        Just(" ".into()),
        Just("a".repeat(long)),
        // Percent-encoded, é takes 6 bytes and this emoji 45.
        Just("é".repeat(long / 6)),
        Just("👩🏽‍💻".repeat(long / 45)),
        prop::collection::vec(control, 1..24).prop_map(|parts| parts.concat()),
        "\\PC{1,40}",
        "[\u{1F300}-\u{1FAFF}\u{0600}-\u{06FF}\u{4E00}-\u{9FFF}]{1,20}",
        prop::sample::select(vec![
            "<script>alert(1)</script>",
            "\"><img src=x onerror=alert(1)>",
            "' OR '1'='1",
            "1; DROP TABLE users; --",
            "1' UNION SELECT NULL--",
            "%00",
            "%",
            "\\",
            "../../etc/passwd",
            "{{ 7*7 }}",
            "${7*7}",
            "null",
            "undefined",
            "true",
            "[]",
            "{}",
            "admin@contoso.example",
            "a@b",
            "@",
            "user01@contoso.example\r\nBcc: x@example.com",
        ])
        .prop_map(String::from),
    ]
    .boxed()
}

/// Numbers at and beyond every edge, and things that only look like numbers.
fn nasty_number() -> BoxedStrategy<String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        (-3i64..=3).prop_map(|n| n.to_string()),
        prop::sample::select(vec![
            "0",
            "-0",
            "-1",
            "1",
            "2147483647",
            "2147483648",
            "-2147483649",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "99999999999999999999999999",
            "1e3",
            "1e309",
            "NaN",
            "inf",
            "-inf",
            "1.5",
            "0.1",
            ",5",
            "0x10",
            " 5",
            "5 ",
            "+5",
            "٣",
            "5abc",
            "abc",
            "",
        ])
        .prop_map(String::from),
        Just("9".repeat(5_000)),
    ]
    .boxed()
}

/// Dates and times that do not exist or that no one means.
fn nasty_date() -> BoxedStrategy<String> {
    prop_oneof![
        (-10_000i64..=300_000, 0u32..=14, 0u32..=33)
            .prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
        prop::sample::select(vec![
            "0000-00-00",
            "0000-01-01",
            "9999-12-31",
            "262143-12-31",
            "-262144-01-01",
            "2026-02-29",
            "2028-02-30",
            "2026-11-05T25:61:00",
            "2026-11-05T09:00:00Z",
            "1970-01-01",
            "05/11/2026",
            "2026-1-5",
            "today",
        ])
        .prop_map(String::from),
    ]
    .boxed()
}

/// What a field may be sent as: anything nasty, and for the fields with choices, one of
/// their choices (so the other fields get further).
fn value_for(field: &Field, choices: &[String], long: usize) -> BoxedStrategy<String> {
    let kinded = match &field.kind {
        FieldKind::Input(t) if t == "number" => nasty_number(),
        FieldKind::Input(t) if t == "date" => nasty_date(),
        _ => nasty_text(long),
    };
    let mut any_value = prop_oneof![
        3 => kinded,
        1 => nasty_text(long),
        1 => nasty_number(),
        1 => nasty_date(),
    ]
    .boxed();
    if !choices.is_empty() {
        any_value = prop_oneof![
            3 => any_value,
            1 => prop::sample::select(choices.to_vec()),
        ]
        .boxed();
    }
    any_value
}

/// What one case does to one field of the form as shown.
#[derive(Debug, Clone)]
enum Change {
    /// The field (every field of that name) holds this value instead.
    Replace(String),
    /// The field is sent once more with this value.
    Duplicate(String),
    /// The field is not sent.
    Remove,
}

fn change_for(field: &Field, choices: &[String], long: usize) -> BoxedStrategy<Change> {
    let value = value_for(field, choices, long);
    prop_oneof![
        6 => value.clone().prop_map(Change::Replace),
        1 => value.prop_map(Change::Duplicate),
        1 => Just(Change::Remove),
    ]
    .boxed()
}

/// The query parameters of "next page" links (users, license holders, service requests, the
/// audit log).
const PAGE_KEYS: &[&str] = &["after_key", "after_id", "after", "before"];

/// Something to send: a form, or a page reached with a query.
#[derive(Debug, Clone)]
struct Target {
    method: String,
    action: String,
    page: String,
    fields: Vec<Field>,
    /// Ends the session (signing out, signing out everywhere): its cases go last.
    ends_session: bool,
    baseline: Vec<(String, String)>,
}

impl Target {
    fn of_form(form: &Form) -> Target {
        let mut target = Target::of_form_as_shown(form);
        if target.method == "get" {
            // The demo's lists fit on one page, so no page links the next one: its keys are
            // fuzzed on every GET form, unsent in the baseline.
            for name in PAGE_KEYS {
                target.fields.push(Field {
                    name: (*name).to_owned(),
                    kind: FieldKind::Hidden,
                    value: String::new(),
                    checked: false,
                });
            }
        }
        target
    }

    fn of_form_as_shown(form: &Form) -> Target {
        let mut baseline = form.as_shown();
        // A radio group or a list of check boxes with nothing checked: the first choice, as a
        // person would pick one, so that the form gets past "choose something".
        for field in &form.fields {
            let in_baseline = baseline.iter().any(|(k, _)| *k == field.name);
            let choice = matches!(field.kind, FieldKind::Radio | FieldKind::Checkbox);
            if choice && !in_baseline {
                baseline.push((field.name.clone(), field.value.clone()));
            }
        }
        Target {
            method: form.method.clone(),
            action: form.action.clone(),
            page: form.page.clone(),
            fields: form.fields.clone(),
            ends_session: form.signs_out || form.action.ends_with("/sign-out-everywhere"),
            baseline,
        }
    }

    fn of_query(path: &str, params: &[(String, String)]) -> Target {
        let fields = params
            .iter()
            .map(|(name, value)| Field {
                name: name.clone(),
                kind: FieldKind::Hidden,
                value: value.clone(),
                checked: false,
            })
            .collect();
        Target {
            method: "get".into(),
            action: path.to_owned(),
            page: path.to_owned(),
            fields,
            ends_session: false,
            baseline: params.to_vec(),
        }
    }

    /// The values a field's controls offer (a select's options, a group's check boxes).
    fn choices(&self, name: &str) -> Vec<String> {
        let mut found = Vec::new();
        for field in self.fields.iter().filter(|f| f.name == name) {
            match &field.kind {
                FieldKind::Select(options) => found.extend(options.iter().cloned()),
                FieldKind::Checkbox | FieldKind::Radio | FieldKind::Hidden => {
                    found.push(field.value.clone())
                }
                _ => {}
            }
        }
        found.sort();
        found.dedup();
        found
    }

    fn with(&self, name: &str, change: &Change) -> Vec<(String, String)> {
        let mut fields = self.baseline.clone();
        match change {
            Change::Replace(value) => {
                fields.retain(|(k, _)| k != name);
                fields.push((name.to_owned(), value.clone()));
            }
            Change::Duplicate(value) => {
                if !fields.iter().any(|(k, _)| k == name) {
                    let shown = self.fields.iter().find(|f| f.name == name);
                    let shown = shown.map(|f| f.value.clone()).unwrap_or_default();
                    fields.push((name.to_owned(), shown));
                }
                fields.push((name.to_owned(), value.clone()));
            }
            Change::Remove => fields.retain(|(k, _)| k != name),
        }
        fields
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for field in &self.fields {
            if !names.contains(&field.name) {
                names.push(field.name.clone());
            }
        }
        names
    }
}

// ---------------------------------------------------------------------------------------------
// The database before and after

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = diesel::sql_types::Text)]
    line: String,
}

/// Every row of every table that matters, as text, by table.
type Fingerprint = BTreeMap<String, Vec<String>>;

/// One query per table that turns each row into a line of text, on either backend.
fn fingerprint_queries(db: &TestDb) -> Vec<(String, String)> {
    let mut conn = db.conn();
    let tables: Vec<Line> = match backend() {
        // Ordinary tables: the full-text index of users (FTS5, binary shadow tables) is
        // derived from `users`, which is fingerprinted.
        allot::domain::db::Backend::Sqlite => diesel::sql_query(
            "SELECT name AS line FROM pragma_table_list WHERE schema = 'main' \
             AND type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        ),
        allot::domain::db::Backend::Postgres => diesel::sql_query(
            "SELECT CAST(table_name AS TEXT) AS line FROM information_schema.tables \
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name",
        ),
    }
    .load(&mut conn)
    .expect("the tables");
    let mut queries = Vec::new();
    for table in tables.into_iter().map(|t| t.line) {
        if UNFINGERPRINTED_TABLES.contains(&table.as_str()) {
            continue;
        }
        let columns: Vec<Line> = match backend() {
            allot::domain::db::Backend::Sqlite => diesel::sql_query(format!(
                "SELECT name AS line FROM pragma_table_info('{table}') ORDER BY cid"
            )),
            allot::domain::db::Backend::Postgres => diesel::sql_query(format!(
                "SELECT CAST(column_name AS TEXT) AS line FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name = '{table}' \
                 ORDER BY ordinal_position"
            )),
        }
        .load(&mut conn)
        .expect("the columns");
        let row = columns
            .into_iter()
            .map(|c| c.line)
            .filter(|c| !UNFINGERPRINTED_COLUMNS.contains(&(table.as_str(), c.as_str())))
            .map(|c| format!("COALESCE(CAST(\"{c}\" AS TEXT), '∅')"))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        queries.push((
            table.clone(),
            format!("SELECT {row} AS line FROM \"{table}\""),
        ));
    }
    queries
}

fn fingerprint(db: &TestDb, queries: &[(String, String)]) -> Fingerprint {
    let mut conn = db.conn();
    queries
        .iter()
        .map(|(table, query)| {
            let mut rows: Vec<String> = diesel::sql_query(query)
                .load::<Line>(&mut conn)
                .expect("the rows")
                .into_iter()
                .map(|l| l.line)
                .collect();
            rows.sort();
            (table.clone(), rows)
        })
        .collect()
}

/// What changed between two fingerprints, briefly.
fn difference(before: &Fingerprint, after: &Fingerprint) -> String {
    let mut said = Vec::new();
    for (table, rows) in after {
        let old = before.get(table).cloned().unwrap_or_default();
        if *rows == old {
            continue;
        }
        let added: Vec<&String> = rows.iter().filter(|r| !old.contains(r)).take(3).collect();
        let removed: Vec<&String> = old.iter().filter(|r| !rows.contains(r)).take(3).collect();
        said.push(format!(
            "{table}: added {}, removed {}",
            brief(&format!("{added:?}")),
            brief(&format!("{removed:?}"))
        ));
    }
    said.join("; ")
}

/// At most a few hundred characters of `text`.
fn brief(text: &str) -> String {
    if text.chars().count() <= 300 {
        text.to_owned()
    } else {
        format!(
            "{}… ({} characters)",
            text.chars().take(300).collect::<String>(),
            text.len()
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Sending and judging

struct Fuzzer<'a, S> {
    b: Browser<S>,
    door: Door,
    db: &'a TestDb,
    queries: Vec<(String, String)>,
    /// The database as the last answer left it.
    now: Fingerprint,
    /// The session's CSRF token.
    token: String,
    sent: usize,
    /// How many answers had each status, to show what the cases reached.
    statuses: BTreeMap<u16, usize>,
    signed_in_again: usize,
    /// How many answers changed the database.
    changed: usize,
    /// The last answer, for the forms it shows.
    last: Option<Page>,
}

impl<S, B> Fuzzer<'_, S>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    /// Takes the session's token from the landing page (staff land on the console).
    async fn refresh_token(&mut self) {
        let mut address = self.door.starts().remove(0);
        for _ in 0..3 {
            let page = self.b.get(&address).await;
            if let Some(token) = token_in(&page.body) {
                self.token = token;
                return;
            }
            match page.location {
                Some(next) => address = next,
                None => break,
            }
        }
        panic!("the landing page has no form with the session's token");
    }

    async fn sign_in_again(&mut self) {
        self.signed_in_again += 1;
        sign_in(&mut self.b, self.door).await;
        self.refresh_token().await;
    }

    async fn send(&mut self, target: &Target, fields: &[(String, String)]) -> Page {
        self.sent += 1;
        if target.method == "get" {
            let query = serde_html_form::to_string(fields).expect("a query");
            let address = if query.is_empty() {
                target.action.clone()
            } else {
                format!("{}?{query}", target.action)
            };
            self.b.get(&address).await
        } else {
            let mut sent: Vec<(&str, &str)> = vec![("csrf_token", self.token.as_str())];
            sent.extend(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            self.b.post_raw(&target.action, &sent).await
        }
    }

    /// Sends one case; `Err` says what went wrong.
    async fn check(&mut self, target: &Target, fields: &[(String, String)]) -> Result<(), String> {
        let panics = PANICS.load(Ordering::SeqCst);
        let mut answer = self.send(target, fields).await;
        let csrf_refused = answer.contains("This form has expired or was not sent by allot.");
        if lands_on_sign_in(&answer) || csrf_refused {
            // An earlier case ended the session or changed its token: sign in and send again,
            // unless this case itself is the one that signs out.
            self.sign_in_again().await;
            if !target.ends_session {
                self.now = fingerprint(self.db, &self.queries);
                answer = self.send(target, fields).await;
            }
        }
        *self.statuses.entry(answer.status.as_u16()).or_default() += 1;
        let after = fingerprint(self.db, &self.queries);
        let before = std::mem::replace(&mut self.now, after);
        if before != self.now {
            self.changed += 1;
        }
        let mut wrong = Vec::new();
        if answer.status.is_server_error() {
            wrong.push(format!("answers {}", answer.status));
        }
        if PANICS.load(Ordering::SeqCst) != panics {
            wrong.push("a thread panicked".to_owned());
        }
        if answer.contains("This form has expired or was not sent by allot.") {
            wrong.push("was refused by the CSRF check with the session's token".to_owned());
        }
        if answer.status.is_client_error() && before != self.now {
            wrong.push(format!(
                "answers {} but stored: {}",
                answer.status,
                difference(&before, &self.now)
            ));
        }
        if lands_on_sign_in(&answer) && !target.ends_session {
            self.sign_in_again().await;
        }
        self.last = Some(answer);
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(wrong.join(", "))
        }
    }

    /// The forms the answer to the form as shown leads to: a confirmation, or the page a
    /// change redirects to (a new service request's thread).
    async fn forms_after(&mut self, target: &Target) -> Vec<Form> {
        let Some(answer) = self.last.take() else {
            return Vec::new();
        };
        match (answer.status.as_u16(), answer.location) {
            (200, _) => forms(&answer.body, &target.action),
            (303, Some(location)) if !target.ends_session => {
                let Some(next) = same_site(&location) else {
                    return Vec::new();
                };
                let page = self.b.get(&next).await;
                forms(&page.body, &next)
            }
            _ => Vec::new(),
        }
    }

    /// Every field of `target`, `cases` generated changes each; returns the failures, each
    /// shrunk to the simplest value that still fails, and the forms the form as shown led to.
    async fn fuzz(&mut self, runner: &mut TestRunner, target: &Target) -> (Vec<String>, Vec<Form>) {
        let mut failures = Vec::new();
        let what = format!(
            "{} {} (on {})",
            target.method.to_uppercase(),
            target.action,
            target.page
        );
        if let Err(e) = self.check(target, &target.baseline).await {
            failures.push(format!("{what} as shown: {e}"));
        }
        let found = self.forms_after(target).await;
        for name in target.names() {
            let field = target.fields.iter().find(|f| f.name == name).unwrap();
            // A form body may be 256 KB; an address must stay below what servers accept.
            let long = if target.method == "get" {
                8_000
            } else {
                100_000
            };
            let strategy = change_for(field, &target.choices(&name), long);
            for _ in 0..runner.config().cases {
                let mut tree = strategy.new_tree(runner).expect("a value");
                let change = tree.current();
                let Err(first) = self.check(target, &target.with(&name, &change)).await else {
                    continue;
                };
                // Shrink as proptest does: simpler while it still fails, else back a step.
                let (mut simplest, mut why) = (change, first);
                if tree.simplify() {
                    for _ in 0..64 {
                        let change = tree.current();
                        match self.check(target, &target.with(&name, &change)).await {
                            Err(e) => {
                                (simplest, why) = (change, e);
                                if !tree.simplify() {
                                    break;
                                }
                            }
                            Ok(()) => {
                                if !tree.complicate() {
                                    break;
                                }
                            }
                        }
                    }
                }
                failures.push(format!(
                    "{what}, field {name}: {} {why}",
                    brief(&format!("{simplest:?}"))
                ));
                break;
            }
        }
        (failures, found)
    }
}

/// An address with its ids as `{id}`: `/users/12/block` is `/users/{id}/block`.
fn route_of(address: &str) -> String {
    address
        .split('/')
        .map(|part| {
            let id = !part.is_empty() && part.chars().all(|c| c.is_ascii_digit());
            if id { "{id}" } else { part }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Walks as `door`, after `prepare` has made what the walk should find, and fuzzes the forms
/// and queries `chosen` picks, then those the answers lead to and a second walk finds.
async fn fuzz(door: Door, prepare: Prepare, chosen: impl Fn(&Target) -> bool) {
    count_panics();
    let started = std::time::Instant::now();
    let db = TestDb::with_demo();
    match prepare {
        Prepare::Nothing => {}
        Prepare::RequestsAndADeletedUser => file_requests_and_delete_a_user(&db).await,
    }
    let mut b = browser(state(&db, Clock::fixed(test_now()))).await;
    sign_in(&mut b, door).await;
    let walked = walk(&mut b, door).await;
    assert!(walked.problems.is_empty(), "{}", walked.problems.join("\n"));

    let queries = fingerprint_queries(&db);
    let now = fingerprint(&db, &queries);
    let mut fuzzer = Fuzzer {
        b,
        door,
        db: &db,
        queries,
        now,
        token: String::new(),
        sent: 0,
        statuses: BTreeMap::new(),
        signed_in_again: 0,
        changed: 0,
        last: None,
    };
    fuzzer.refresh_token().await;
    let mut runner = runner();
    let mut failures = Vec::new();

    let mut plan = Plan::default();
    plan.add(walked.forms.iter().map(Target::of_form), &chosen);
    plan.add(
        walked
            .query_links
            .iter()
            .map(|l| Target::of_query(&l.path, &l.params)),
        &chosen,
    );
    assert!(!plan.queue.is_empty(), "nothing to fuzz");
    let mut walked_again = false;
    loop {
        let Some(target) = plan.queue.pop_front().or_else(|| {
            if walked_again {
                plan.last.pop_front()
            } else {
                None
            }
        }) else {
            if walked_again {
                break;
            }
            // What the changes made (a deleted user, a filed request) has forms of its own.
            walked_again = true;
            let again = walk(&mut fuzzer.b, door).await;
            plan.add(again.forms.iter().map(Target::of_form), &chosen);
            continue;
        };
        if std::env::var_os("ALLOT_FUZZ_LIST").is_some() {
            eprintln!(
                "{} {} {:?} (on {})",
                target.method,
                target.action,
                target.names(),
                target.page
            );
        }
        let (failed, found) = fuzzer.fuzz(&mut runner, &target).await;
        failures.extend(failed);
        plan.add(found.iter().map(Target::of_form), &chosen);
        plan.targets += 1;
    }
    eprintln!(
        "{door:?}: {} targets, {} requests in {:.1?} (seed {}, {} cases a field); \
         answers by status {:?}, {} of them changed the database; signed in again {} times",
        plan.targets,
        fuzzer.sent,
        started.elapsed(),
        seed(),
        runner.config().cases,
        fuzzer.statuses,
        fuzzer.changed,
        fuzzer.signed_in_again,
    );
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "a thread panicked");
    assert!(
        failures.is_empty(),
        "seed {}:\n{}",
        seed(),
        failures.join("\n")
    );
}

/// The targets still to fuzz, one per route.
#[derive(Default)]
struct Plan {
    queue: std::collections::VecDeque<Target>,
    /// Those that end the session go last of all.
    last: std::collections::VecDeque<Target>,
    /// One form per route and fields: the same form on the page of another user or
    /// subscription runs the same code, and the cases are better spent on more values.
    routes: std::collections::HashSet<(String, String, Vec<String>)>,
    targets: usize,
}

impl Plan {
    fn add(&mut self, targets: impl Iterator<Item = Target>, chosen: &impl Fn(&Target) -> bool) {
        for target in targets.filter(|t| chosen(t)) {
            let route = (
                target.method.clone(),
                route_of(&target.action),
                target.names(),
            );
            if !self.routes.insert(route) {
                continue;
            }
            if target.ends_session {
                self.last.push_back(target);
            } else {
                self.queue.push_back(target);
            }
        }
    }
}

/// What a test makes before it walks, through the admin center as Contoso's Global admin.
enum Prepare {
    Nothing,
    /// A service request of every kind (so billing support and the partner find the forms
    /// that carry them out) and a deleted user (so Deleted users has a Restore form).
    RequestsAndADeletedUser,
}

async fn file_requests_and_delete_a_user(db: &TestDb) {
    let mut b = browser(state(db, Clock::fixed(test_now()))).await;
    sign_in(&mut b, ADMIN).await;
    let page = b.get("/support/requests/new").await;
    let form = forms(&page.body, "/support/requests/new")
        .into_iter()
        .find(|f| f.action == "/support/requests")
        .expect("the new service request form");
    let options = |name: &str| match form.fields.iter().find(|f| f.name == name) {
        Some(Field {
            kind: FieldKind::Select(options),
            ..
        }) => options.iter().filter(|o| !o.is_empty()).cloned().collect(),
        _ => Vec::<String>::new(),
    };
    let subscription = options("subscription").first().cloned().unwrap_or_default();
    for kind in options("kind") {
        let filed = b
            .submit(
                "/support/requests/new",
                "/support/requests",
                &[
                    ("kind", &kind),
                    ("subscription", &subscription),
                    ("quantity", "1"),
                    ("agreement_number", "EA-7730-1001"),
                    ("target", "fabrikam.example"),
                    ("description", "Please take care of this for us."),
                ],
            )
            .await;
        assert!(
            filed.status.as_u16() < 500,
            "filing {kind}: {}",
            filed.status
        );
    }
    let user = user_id(db, "user40@contoso.example").0;
    let deleted = b
        .submit(
            &format!("/users/{user}/delete"),
            &format!("/users/{user}/delete"),
            &[],
        )
        .await;
    assert_eq!(deleted.status.as_u16(), 303, "user40 is deleted");
}

const ADMIN: Door = Door::AdminCenter("admin@contoso.example");

#[actix_web::test]
async fn generated_values_in_a_global_admins_billing_and_support_never_fail_or_store_on_refusal() {
    fuzz(ADMIN, Prepare::RequestsAndADeletedUser, |t| {
        billing_or_support(t)
    })
    .await;
}

#[actix_web::test]
async fn generated_values_in_a_global_admins_licenses_users_and_settings_never_fail_or_store_on_refusal()
 {
    fuzz(ADMIN, Prepare::RequestsAndADeletedUser, |t| {
        !billing_or_support(t)
    })
    .await;
}

/// Half of what a Global admin sees, so that the two halves run side by side. Signing out
/// is in both: it is the last target of each.
fn billing_or_support(target: &Target) -> bool {
    target.action.starts_with("/billing") || target.action.starts_with("/support")
}

#[actix_web::test]
async fn generated_values_in_a_buyers_portal_forms_never_fail_or_store_on_refusal() {
    fuzz(
        Door::Portal("user07@contoso.example"),
        Prepare::Nothing,
        |_| true,
    )
    .await;
}

#[actix_web::test]
async fn generated_values_in_billing_supports_console_never_fail_or_store_on_refusal() {
    fuzz(
        Door::AdminCenter("support@allot.example"),
        Prepare::RequestsAndADeletedUser,
        |_| true,
    )
    .await;
}

#[actix_web::test]
async fn generated_values_in_a_partners_console_never_fail_or_store_on_refusal() {
    fuzz(
        Door::AdminCenter("partner@allot.example"),
        Prepare::RequestsAndADeletedUser,
        |_| true,
    )
    .await;
}
