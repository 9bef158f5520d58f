//! A SCIM filter as SQL: each attribute a filter may name becomes a column (or a constant, or
//! a membership subquery) of `users` or `user_groups`, so every filter runs in the database,
//! indexed where it can be (`userName eq` is one index probe at any size), and pages and
//! counts are exact.
//!
//! Case: SCIM compares `userName`, `displayName` and names without case, `id` and
//! `externalId` exactly (RFC 7643's `caseExact`); sign-in names and name keys are stored in
//! lower case, so a comparison lowers only the value.

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Nullable, Text, Timestamp};

use super::filter::{AttrPath, CompareOp, Filter, Literal};
use crate::domain::DbConnection;
use crate::domain::accounts::UserState;
use crate::domain::schema::{group_members, user_groups, users};

type Backend = <DbConnection as Connection>::Backend;
pub(super) type Condition<QS> = Box<dyn BoxableExpression<QS, Backend, SqlType = Bool>>;
type TextColumn<QS> = Box<dyn BoxableExpression<QS, Backend, SqlType = Text>>;
type TimeColumn<QS> = Box<dyn BoxableExpression<QS, Backend, SqlType = Timestamp>>;

diesel::define_sql_function! {
    fn lower(x: Text) -> Text;
}
diesel::define_sql_function! {
    #[sql_name = "COALESCE"]
    fn text_or(x: Nullable<Text>, y: Text) -> Text;
}
diesel::define_sql_function! {
    fn replace(x: Text, from: Text, to: Text) -> Text;
}
diesel::define_sql_function! {
    /// `concat(a, b)`: PostgreSQL's, and SQLite's since 3.44 (the bundled one is 3.53). The
    /// `||` operator would do, but diesel builds it per backend, not for a boxed column.
    #[sql_name = "concat"]
    fn joined(a: Text, b: Text) -> Text;
}
diesel::define_sql_function! {
    #[sql_name = "COALESCE"]
    fn time_or(x: Nullable<Timestamp>, y: Timestamp) -> Timestamp;
}

/// Why a filter can't be run although it parsed: SCIM's `invalidFilter`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported(pub String);

/// What an attribute of a resource is, for a filter.
enum Attribute<QS> {
    /// Text compared without case (the column holds lower case).
    Folded(TextColumn<QS>),
    /// Text compared exactly (made as often as a comparison needs it).
    Exact(fn() -> TextColumn<QS>),
    Time(TimeColumn<QS>),
    /// `active`: the condition that the user may sign in, or may not.
    Active(fn(bool) -> Condition<QS>),
    /// Holds a value on every resource (`id`, `meta.created`), for `pr`.
    AlwaysPresent,
    /// Present when the text column isn't empty (names, `externalId` as '' when NULL).
    PresentUnlessEmpty(TextColumn<QS>),
    /// A multi-valued reference (`groups`, `members`): only `eq` on its value.
    Membership(fn(String) -> Condition<QS>),
    /// An attribute of SCIM's schema that allot doesn't keep: it has no value.
    Absent,
    /// `emails`: one value here, the work email, of type "work" and primary.
    Emails(fn() -> TextColumn<QS>),
}

const NOT_KEPT: [&str; 14] = [
    "nickname",
    "profileurl",
    "title",
    "usertype",
    "preferredlanguage",
    "locale",
    "timezone",
    "phonenumbers",
    "ims",
    "photos",
    "addresses",
    "entitlements",
    "roles",
    "x509certificates",
];

fn unknown(path: &AttrPath) -> Unsupported {
    Unsupported(format!(
        "{} is not an attribute that can be filtered on here.",
        path.dotted()
    ))
}

fn user_attribute(path: &AttrPath) -> Result<Attribute<users::table>, Unsupported> {
    Ok(match path.dotted().as_str() {
        "id" => Attribute::Folded(Box::new(users::guid)),
        "username" => Attribute::Folded(Box::new(users::email)),
        "displayname" => Attribute::Folded(Box::new(users::name_key)),
        "externalid" => Attribute::Exact(|| Box::new(text_or(users::external_id, ""))),
        "name.givenname" => Attribute::Folded(Box::new(lower(users::given_name))),
        "name.familyname" => Attribute::Folded(Box::new(lower(users::family_name))),
        "name" => {
            Attribute::PresentUnlessEmpty(Box::new(users::given_name.concat(users::family_name)))
        }
        "active" => Attribute::Active(|active| {
            if active {
                Box::new(users::state.eq(UserState::Active))
            } else {
                Box::new(users::state.ne(UserState::Active))
            }
        }),
        "emails" | "emails.value" => {
            Attribute::Emails(|| Box::new(text_or(users::work_email, users::email)))
        }
        "meta.created" => Attribute::Time(Box::new(users::created_at)),
        "meta.lastmodified" => {
            Attribute::Time(Box::new(time_or(users::updated_at, users::created_at)))
        }
        "meta" | "schemas" | "meta.resourcetype" | "meta.location" | "meta.version" => {
            Attribute::AlwaysPresent
        }
        "groups" | "groups.value" => Attribute::Membership(|guid| {
            Box::new(
                users::id.eq_any(
                    group_members::table
                        .inner_join(user_groups::table)
                        .filter(user_groups::guid.eq(guid))
                        .select(group_members::user_id),
                ),
            )
        }),
        _ if NOT_KEPT.contains(&path.name.as_str()) || path.name == "password" => Attribute::Absent,
        _ => return Err(unknown(path)),
    })
}

fn group_attribute(path: &AttrPath) -> Result<Attribute<user_groups::table>, Unsupported> {
    Ok(match path.dotted().as_str() {
        "id" => Attribute::Folded(Box::new(user_groups::guid)),
        "displayname" => Attribute::Folded(Box::new(user_groups::name_key)),
        "externalid" => Attribute::Exact(|| Box::new(text_or(user_groups::external_id, ""))),
        "meta.created" => Attribute::Time(Box::new(user_groups::created_at)),
        "meta.lastmodified" => Attribute::Time(Box::new(time_or(
            user_groups::updated_at,
            user_groups::created_at,
        ))),
        "meta" | "schemas" | "meta.resourcetype" | "meta.location" | "meta.version" => {
            Attribute::AlwaysPresent
        }
        "members" | "members.value" => Attribute::Membership(|guid| {
            Box::new(
                user_groups::id.eq_any(
                    group_members::table
                        .inner_join(users::table)
                        .filter(users::guid.eq(guid))
                        .select(group_members::group_id),
                ),
            )
        }),
        _ => return Err(unknown(path)),
    })
}

/// The users a filter selects (with the tenant and state conditions added by the caller).
pub(super) fn users_matching(filter: &Filter) -> Result<Condition<users::table>, Unsupported> {
    condition(filter, &user_attribute)
}

/// The groups a filter selects.
pub(super) fn groups_matching(
    filter: &Filter,
) -> Result<Condition<user_groups::table>, Unsupported> {
    condition(filter, &group_attribute)
}

fn always<QS: 'static>(yes: bool) -> Condition<QS> {
    Box::new(sql::<Bool>(if yes { "1 = 1" } else { "1 = 0" }))
}

fn condition<QS: 'static>(
    filter: &Filter,
    attribute: &dyn Fn(&AttrPath) -> Result<Attribute<QS>, Unsupported>,
) -> Result<Condition<QS>, Unsupported> {
    Ok(match filter {
        Filter::And(a, b) => Box::new(condition(a, attribute)?.and(condition(b, attribute)?)),
        Filter::Or(a, b) => Box::new(condition(a, attribute)?.or(condition(b, attribute)?)),
        Filter::Not(inner) => Box::new(diesel::dsl::not(condition(inner, attribute)?)),
        Filter::Present(path) => match attribute(path)? {
            Attribute::Absent => always(false),
            // A name not given is held as '' and rendered as absent.
            Attribute::PresentUnlessEmpty(column) | Attribute::Folded(column) => {
                Box::new(column.ne(String::new()))
            }
            Attribute::Exact(column) => Box::new(column().ne(String::new())),
            Attribute::Time(_)
            | Attribute::Active(_)
            | Attribute::AlwaysPresent
            | Attribute::Emails(_) => always(true),
            Attribute::Membership(_) => {
                return Err(Unsupported(format!(
                    "{} pr can't be filtered on; use {} eq \"id\".",
                    path.dotted(),
                    path.name
                )));
            }
        },
        Filter::Compare { path, op, value } => compare(path, attribute(path)?, *op, value)?,
        Filter::ValuePath { attr, filter } => match attribute(attr)? {
            Attribute::Emails(column) => email_value(filter, column)?,
            Attribute::Membership(member) => match filter.as_ref() {
                Filter::Compare {
                    path,
                    op: CompareOp::Eq,
                    value: Literal::Text(guid),
                } if path.dotted() == "value" => member(guid.to_lowercase()),
                _ => {
                    return Err(Unsupported(format!(
                        "Only {}[value eq \"id\"] can be filtered on.",
                        attr.name
                    )));
                }
            },
            Attribute::Absent => always(false),
            _ => {
                return Err(Unsupported(format!(
                    "{} is not a multi-valued attribute.",
                    attr.dotted()
                )));
            }
        },
    })
}

/// `emails[…]`: the one email, `{value, type: "work", primary: true}`.
fn email_value<QS: 'static>(
    filter: &Filter,
    column: fn() -> TextColumn<QS>,
) -> Result<Condition<QS>, Unsupported> {
    Ok(match filter {
        Filter::And(a, b) => Box::new(email_value(a, column)?.and(email_value(b, column)?)),
        Filter::Or(a, b) => Box::new(email_value(a, column)?.or(email_value(b, column)?)),
        Filter::Not(inner) => Box::new(diesel::dsl::not(email_value(inner, column)?)),
        Filter::Present(path) => always(matches!(
            path.dotted().as_str(),
            "value" | "type" | "primary"
        )),
        Filter::Compare { path, op, value } => match path.dotted().as_str() {
            "value" => compare(path, Attribute::Emails(column), *op, value)?,
            "type" => always(match value {
                Literal::Text(text) => text_holds("work", *op, &text.to_lowercase()),
                _ => false,
            }),
            "primary" => always(match (op, value) {
                (CompareOp::Eq, Literal::Bool(b)) => *b,
                (CompareOp::Ne, Literal::Bool(b)) => !*b,
                _ => false,
            }),
            _ => always(false),
        },
        Filter::ValuePath { .. } => {
            return Err(Unsupported("Brackets can't be nested.".into()));
        }
    })
}

/// A comparison of two texts done here, for the constant `type` of the one email.
fn text_holds(have: &str, op: CompareOp, value: &str) -> bool {
    match op {
        CompareOp::Eq => have == value,
        CompareOp::Ne => have != value,
        CompareOp::Co => have.contains(value),
        CompareOp::Sw => have.starts_with(value),
        CompareOp::Ew => have.ends_with(value),
        CompareOp::Gt => have > value,
        CompareOp::Ge => have >= value,
        CompareOp::Lt => have < value,
        CompareOp::Le => have <= value,
    }
}

/// `%`, `_` and `\` in a value are matched as themselves by LIKE … ESCAPE '\'.
fn like_escaped(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Never in a stored value (`text::line` refuses control characters): marks where a value
/// starts or ends for `compare_exact`.
const EDGE: &str = "\u{1}";

/// Compares with case, as `externalId` is (RFC 7643's `caseExact`). SQLite's LIKE ignores
/// case, so `co`, `sw` and `ew` look for the value with `replace`, which doesn't: the value
/// occurs in the column if taking it out changes the column; with `EDGE` before (after) both,
/// only at the start (end).
fn compare_exact<QS: 'static>(
    column: fn() -> TextColumn<QS>,
    op: CompareOp,
    value: String,
) -> Condition<QS> {
    let occurs = |text: TextColumn<QS>, again: TextColumn<QS>, part: String| -> Condition<QS> {
        Box::new(replace(text, part, String::new()).ne(again))
    };
    match op {
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew if value.is_empty() => always(true),
        CompareOp::Co => occurs(column(), column(), value),
        CompareOp::Sw => occurs(
            Box::new(joined(EDGE, column())),
            Box::new(joined(EDGE, column())),
            format!("{EDGE}{value}"),
        ),
        CompareOp::Ew => occurs(
            Box::new(joined(column(), EDGE)),
            Box::new(joined(column(), EDGE)),
            format!("{value}{EDGE}"),
        ),
        _ => compare_text(column(), op, value),
    }
}

fn compare_text<QS: 'static>(
    column: TextColumn<QS>,
    op: CompareOp,
    value: String,
) -> Condition<QS> {
    match op {
        CompareOp::Eq => Box::new(column.eq(value)),
        CompareOp::Ne => Box::new(column.ne(value)),
        CompareOp::Co => Box::new(
            column
                .like(format!("%{}%", like_escaped(&value)))
                .escape('\\'),
        ),
        CompareOp::Sw => Box::new(
            column
                .like(format!("{}%", like_escaped(&value)))
                .escape('\\'),
        ),
        CompareOp::Ew => Box::new(
            column
                .like(format!("%{}", like_escaped(&value)))
                .escape('\\'),
        ),
        CompareOp::Gt => Box::new(column.gt(value)),
        CompareOp::Ge => Box::new(column.ge(value)),
        CompareOp::Lt => Box::new(column.lt(value)),
        CompareOp::Le => Box::new(column.le(value)),
    }
}

fn compare<QS: 'static>(
    path: &AttrPath,
    attribute: Attribute<QS>,
    op: CompareOp,
    value: &Literal,
) -> Result<Condition<QS>, Unsupported> {
    let wrong = |kind: &str| Unsupported(format!("{} is compared with {kind}.", path.dotted()));
    Ok(match attribute {
        Attribute::Folded(column) => match value {
            Literal::Text(text) => compare_text(column, op, text.to_lowercase()),
            Literal::Null => always(op == CompareOp::Ne),
            _ => return Err(wrong("a \"string\"")),
        },
        Attribute::Exact(column) => match value {
            Literal::Text(text) => compare_exact(column, op, text.clone()),
            Literal::Null => compare_exact(column, op, String::new()),
            _ => return Err(wrong("a \"string\"")),
        },
        Attribute::PresentUnlessEmpty(_) => {
            return Err(Unsupported(format!(
                "{} has sub-attributes: filter on one of them (name.givenName).",
                path.dotted()
            )));
        }
        Attribute::Emails(column) => match value {
            Literal::Text(text) => compare_text(column(), op, text.to_lowercase()),
            _ => return Err(wrong("a \"string\"")),
        },
        Attribute::Time(column) => {
            let Literal::Text(text) = value else {
                return Err(wrong("a date and time (\"2026-11-05T09:00:00Z\")"));
            };
            let at: NaiveDateTime = chrono::DateTime::parse_from_rfc3339(text)
                .map_err(|_| wrong("a date and time (\"2026-11-05T09:00:00Z\")"))?
                .naive_utc();
            match op {
                CompareOp::Eq => Box::new(column.eq(at)),
                CompareOp::Ne => Box::new(column.ne(at)),
                CompareOp::Gt => Box::new(column.gt(at)),
                CompareOp::Ge => Box::new(column.ge(at)),
                CompareOp::Lt => Box::new(column.lt(at)),
                CompareOp::Le => Box::new(column.le(at)),
                CompareOp::Co | CompareOp::Sw | CompareOp::Ew => {
                    return Err(Unsupported(format!(
                        "{} is a date: compare it with eq, ne, gt, ge, lt or le.",
                        path.dotted()
                    )));
                }
            }
        }
        Attribute::Active(condition) => {
            let wanted = match value {
                Literal::Bool(b) => *b,
                // Entra ID sends booleans as strings in places; accept them here too.
                Literal::Text(t) if t.eq_ignore_ascii_case("true") => true,
                Literal::Text(t) if t.eq_ignore_ascii_case("false") => false,
                _ => return Err(wrong("true or false")),
            };
            let active = match op {
                CompareOp::Eq => wanted,
                CompareOp::Ne => !wanted,
                _ => return Err(wrong("eq or ne")),
            };
            condition(active)
        }
        Attribute::AlwaysPresent => {
            return Err(Unsupported(format!(
                "{} can only be tested with pr here.",
                path.dotted()
            )));
        }
        Attribute::Membership(member) => match (op, value) {
            (CompareOp::Eq, Literal::Text(guid)) => member(guid.to_lowercase()),
            _ => {
                return Err(Unsupported(format!(
                    "{} can only be compared with eq and an id.",
                    path.dotted()
                )));
            }
        },
        // No value: every comparison but `ne` is false (RFC 7644: "ne" holds when the
        // attribute has no value).
        Attribute::Absent => always(op == CompareOp::Ne),
    })
}
