//! Lists that sort by their column headers and say their total. The headers are links (so
//! sorting works without script) that keep the list's other parameters, drop its page key
//! (a new order starts at the first page) and tell assistive technology the order
//! (`aria-sort`). Render one with `{% call list::sort_th(h) %}` from `templates/list.html`.

use serde::Deserialize;

/// The order a list was asked for: `?sort=COLUMN&order=desc`. Unknown columns fall back to
/// the list's default, so a stale link never errors.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SortQuery {
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub order: String,
}

/// A list's order resolved against the columns it can sort by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortOrder {
    pub column: &'static str,
    pub descending: bool,
}

impl SortOrder {
    /// `columns` are the keys the list sorts by; the first is the default, ascending unless
    /// `default_descending` (newest first lists).
    pub fn resolve(query: &SortQuery, columns: &[&'static str], default_descending: bool) -> Self {
        match columns.iter().find(|c| **c == query.sort) {
            Some(column) => SortOrder {
                column,
                descending: query.order == "desc",
            },
            None => SortOrder {
                column: columns[0],
                descending: match query.order.as_str() {
                    "desc" => true,
                    "asc" => false,
                    _ => default_descending,
                },
            },
        }
    }

    /// The query parameters that ask for this order again (for page links).
    pub fn params(&self) -> [(&'static str, &'static str); 2] {
        [
            ("sort", self.column),
            ("order", if self.descending { "desc" } else { "asc" }),
        ]
    }

    /// The header of `column`: a link to sort by it, ascending first, and the other way round
    /// when it is already the order. `keep` are the list's other parameters (search, filter).
    pub fn header(
        &self,
        path: &str,
        keep: &[(&str, &str)],
        column: &'static str,
        label: &'static str,
    ) -> SortHeader {
        let current = self.column == column;
        let descending = current && !self.descending;
        let mut params: Vec<(&str, &str)> = keep
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .copied()
            .collect();
        params.push(("sort", column));
        params.push(("order", if descending { "desc" } else { "asc" }));
        SortHeader {
            label,
            href: format!(
                "{path}?{}",
                serde_html_form::to_string(&params).unwrap_or_default()
            ),
            aria_sort: current.then_some(if self.descending {
                "descending"
            } else {
                "ascending"
            }),
        }
    }
}

/// One sortable column header, as `list::sort_th` renders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortHeader {
    pub label: &'static str,
    pub href: String,
    /// `ascending` or `descending` on the column the list is sorted by; none elsewhere.
    pub aria_sort: Option<&'static str>,
}

impl SortHeader {
    /// The arrow beside the label of the sorted column (hidden from screen readers, which
    /// read `aria-sort`).
    pub fn arrow(&self) -> &'static str {
        match self.aria_sort {
            Some("ascending") => "▲",
            Some(_) => "▼",
            None => "",
        }
    }
}

/// "1 user", "1,234 users": a list's total as its heading says it.
pub fn total(count: i64, one: &str, many: &str) -> String {
    let digits = count.unsigned_abs().to_string();
    let mut grouped = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(d);
    }
    let sign = if count < 0 { "-" } else { "" };
    format!("{sign}{grouped} {}", if count == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(sort: &str, order: &str) -> SortQuery {
        SortQuery {
            sort: sort.into(),
            order: order.into(),
        }
    }

    #[test]
    fn unknown_columns_fall_back_to_the_default() {
        let order = SortOrder::resolve(&query("password", "desc"), &["name", "email"], false);
        assert_eq!(
            order,
            SortOrder {
                column: "name",
                descending: true
            }
        );
        let order = SortOrder::resolve(&query("", ""), &["created", "name"], true);
        assert_eq!(
            order,
            SortOrder {
                column: "created",
                descending: true
            }
        );
    }

    #[test]
    fn the_sorted_column_links_to_the_other_direction_and_keeps_the_search() {
        let order = SortOrder::resolve(&query("email", "asc"), &["name", "email"], false);
        let email = order.header(
            "/users",
            &[("q", "braun"), ("filter", "")],
            "email",
            "Sign-in name",
        );
        assert_eq!(email.href, "/users?q=braun&sort=email&order=desc");
        assert_eq!(email.aria_sort, Some("ascending"));
        assert_eq!(email.arrow(), "▲");
        let name = order.header("/users", &[("q", "braun")], "name", "Display name");
        assert_eq!(name.href, "/users?q=braun&sort=name&order=asc");
        assert_eq!(name.aria_sort, None);
    }

    #[test]
    fn totals_are_grouped_and_counted() {
        assert_eq!(total(1, "user", "users"), "1 user");
        assert_eq!(total(0, "user", "users"), "0 users");
        assert_eq!(total(1_234_567, "user", "users"), "1,234,567 users");
        assert_eq!(total(999, "request", "requests"), "999 requests");
    }
}
