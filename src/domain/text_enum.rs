//! Enums stored as text: each value has one spelling, the one the migrations' CHECK constraints
//! list, and the database round-trips the enum itself (like vaultwarden's text-backed enums).
//! Text the database holds that no variant spells is a storage error, never a panic or a guess.

use std::fmt;

/// Text that names no value of an enum: from a form it is the person's mistake, from the
/// database a storage failure (`FromSql` reports it as a deserialization error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValue {
    pub of: &'static str,
    pub text: String,
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} is not a {} allot knows", self.text, self.of)
    }
}

impl std::error::Error for UnknownValue {}

/// Declares an enum whose variants are stored as the given text. Derives `as_str`, `ALL`,
/// `FromStr`, and diesel's `AsExpression`/`FromSqlRow` with one `ToSql`/`FromSql` impl over
/// `Text` for every backend whose `str`/`String` are text (SQLite, PostgreSQL, and the
/// `MultiBackend` of `DbConnection`, which hands the value to the connection's own backend).
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        $vis enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            #[allow(dead_code)]
            pub const ALL: [$name; [$(stringify!($variant)),+].len()] = [$($name::$variant),+];

            /// The text the database keeps (and forms send).
            #[allow(dead_code)]
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::domain::text_enum::UnknownValue;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::domain::text_enum::UnknownValue {
                        of: stringify!($name),
                        text: text.to_owned(),
                    }),
                }
            }
        }

        $crate::domain::text_enum::text_sql!($name);
    };
}

/// The diesel half of `text_enum!`, for an enum that has its own `as_str` and `FromStr` (and
/// derives `AsExpression`/`FromSqlRow` with `sql_type = Text`): one `ToSql` and one `FromSql`
/// for every backend.
macro_rules! text_sql {
    ($name:ident) => {
        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, DB>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, DB>>::to_sql(
                    self.as_str(),
                    out,
                )
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                let text = <String as diesel::deserialize::FromSql<
                                                                            diesel::sql_types::Text,
                                                                            DB,
                                                                        >>::from_sql(bytes)?;
                text.parse::<$name>().map_err(Into::into)
            }
        }
    };
}

pub(crate) use text_enum;
pub(crate) use text_sql;

#[cfg(test)]
mod tests {
    use crate::domain::DomainError;
    use crate::domain::db::DbConnection;
    use crate::domain::subscriptions::BillingPeriod;
    use diesel::dsl::sql;
    use diesel::prelude::*;
    use diesel::sql_types::Text;

    fn sqlite() -> DbConnection {
        DbConnection::Sqlite(diesel::SqliteConnection::establish(":memory:").unwrap())
    }

    #[test]
    fn a_value_round_trips_as_its_text() {
        let mut conn = sqlite();
        let back: BillingPeriod = diesel::select(BillingPeriod::Yearly.into_sql::<Text>())
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(back, BillingPeriod::Yearly);
        let text: String = diesel::select(BillingPeriod::Monthly.into_sql::<Text>())
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(text, "monthly");
    }

    #[test]
    fn unknown_text_from_the_database_is_a_storage_error_not_a_panic() {
        let mut conn = sqlite();
        let read = diesel::select(sql::<Text>("'weekly'")).get_result::<BillingPeriod>(&mut conn);
        let error = DomainError::from(read.unwrap_err());
        assert!(matches!(error, DomainError::Storage(_)), "{error:?}");
    }

    #[test]
    fn unknown_text_from_a_form_is_refused() {
        assert!("weekly".parse::<BillingPeriod>().is_err());
        assert!(matches!(
            BillingPeriod::parse("weekly"),
            Err(DomainError::Invalid {
                field: "period",
                ..
            })
        ));
        assert_eq!(BillingPeriod::parse(" yearly "), Ok(BillingPeriod::Yearly));
    }
}
