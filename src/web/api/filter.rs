//! Graph's `$filter` on users, read into the domain's typed filters: exactly the forms
//! `assignedLicenses/any(x:x/skuId eq {skuId})`, `startswith(displayName,'…')`,
//! `userPrincipalName eq '…'` and `accountEnabled eq true|false`, joined by `and`. OData string
//! literals are in single quotes, a quote inside doubled (`'O''Brien'`). Anything else is
//! refused naming the part that is not supported: answering it with every user would hand a
//! script the wrong people.

use super::ApiError;
use crate::domain::users::DirectoryFilter;

/// What the API filters users by, as the refusal lists it.
pub const SUPPORTED: &str = "assignedLicenses/any(x:x/skuId eq {skuId}), \
     startswith(displayName,'…'), userPrincipalName eq '…' and accountEnabled eq true|false, \
     joined by and";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A name, keyword, path (`x/skuId`) or bare value (a GUID, `true`).
    Word(String),
    /// A string literal, unquoted.
    Text(String),
    Open,
    Close,
    Comma,
    Colon,
}

/// The tokens of `text`, each with the byte offset it starts at.
fn tokens(text: &str) -> Result<Vec<(usize, Token)>, ApiError> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '(' => out.push((at, Token::Open)),
            ')' => out.push((at, Token::Close)),
            ',' => out.push((at, Token::Comma)),
            ':' => out.push((at, Token::Colon)),
            '\'' => {
                let mut value = String::new();
                loop {
                    match chars.next() {
                        Some((_, '\'')) => {
                            if let Some((_, '\'')) = chars.peek() {
                                chars.next();
                                value.push('\'');
                            } else {
                                break;
                            }
                        }
                        Some((_, c)) => value.push(c),
                        None => {
                            return Err(ApiError::BadRequest(format!(
                                "The $filter has a string that is not closed: {}",
                                &text[at..]
                            )));
                        }
                    }
                }
                out.push((at, Token::Text(value)));
            }
            c if c.is_alphanumeric() || "_/-.$@".contains(c) => {
                let mut word = c.to_string();
                while let Some((_, c)) = chars.peek() {
                    if c.is_alphanumeric() || "_/-.$@".contains(*c) {
                        word.push(*c);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push((at, Token::Word(word)));
            }
            other => {
                return Err(ApiError::UnsupportedQuery(format!(
                    "The $filter character '{other}' is not supported here. Users are filtered by \
                     {SUPPORTED}."
                )));
            }
        }
    }
    Ok(out)
}

struct Parser<'a> {
    text: &'a str,
    tokens: Vec<(usize, Token)>,
    next: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next).map(|(_, t)| t)
    }

    fn take(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.next).map(|(_, t)| t.clone());
        self.next += 1;
        token
    }

    /// The refusal of the clause that starts at token `from`: it names the clause as sent.
    fn unsupported(&self, from: usize) -> ApiError {
        let start = self.tokens.get(from).map_or(self.text.len(), |(at, _)| *at);
        // Up to the next top-level `and`, or the end.
        let end = self.tokens[from.min(self.tokens.len())..]
            .iter()
            .skip(1)
            .find(|(_, t)| matches!(t, Token::Word(w) if w.eq_ignore_ascii_case("and")))
            .map_or(self.text.len(), |(at, _)| *at);
        let part = self.text[start..end].trim();
        let part = if part.is_empty() {
            self.text.trim()
        } else {
            part
        };
        ApiError::UnsupportedQuery(format!(
            "The $filter clause \"{part}\" is not supported here. Users are filtered by \
             {SUPPORTED}."
        ))
    }

    fn word(&mut self, from: usize, expected: &str) -> Result<(), ApiError> {
        match self.take() {
            Some(Token::Word(w)) if w.eq_ignore_ascii_case(expected) => Ok(()),
            _ => Err(self.unsupported(from)),
        }
    }

    fn token(&mut self, from: usize, expected: Token) -> Result<(), ApiError> {
        match self.take() {
            Some(t) if t == expected => Ok(()),
            _ => Err(self.unsupported(from)),
        }
    }

    fn text(&mut self, from: usize) -> Result<String, ApiError> {
        match self.take() {
            Some(Token::Text(t)) => Ok(t),
            _ => Err(self.unsupported(from)),
        }
    }

    fn clause(&mut self) -> Result<DirectoryFilter, ApiError> {
        let from = self.next;
        let Some(Token::Word(head)) = self.take() else {
            return Err(self.unsupported(from));
        };
        let is = |name: &str| head.eq_ignore_ascii_case(name);
        if is("assignedLicenses/any") {
            self.token(from, Token::Open)?;
            let Some(Token::Word(var)) = self.take() else {
                return Err(self.unsupported(from));
            };
            self.token(from, Token::Colon)?;
            self.word(from, &format!("{var}/skuId"))?;
            self.word(from, "eq")?;
            let sku = match self.take() {
                Some(Token::Word(w) | Token::Text(w)) => w,
                _ => return Err(self.unsupported(from)),
            };
            self.token(from, Token::Close)?;
            let sku = uuid::Uuid::parse_str(&sku).map_err(|_| {
                ApiError::BadRequest(format!("The skuId {sku} in the $filter is not a GUID."))
            })?;
            Ok(DirectoryFilter::HasLicense(sku.hyphenated().to_string()))
        } else if is("startswith") {
            self.token(from, Token::Open)?;
            self.word(from, "displayName")?;
            self.token(from, Token::Comma)?;
            let prefix = self.text(from)?;
            self.token(from, Token::Close)?;
            Ok(DirectoryFilter::DisplayNameStartsWith(prefix))
        } else if is("userPrincipalName") {
            self.word(from, "eq")?;
            Ok(DirectoryFilter::SignInName(self.text(from)?))
        } else if is("accountEnabled") {
            self.word(from, "eq")?;
            match self.take() {
                Some(Token::Word(w)) if w.eq_ignore_ascii_case("true") => {
                    Ok(DirectoryFilter::AccountEnabled(true))
                }
                Some(Token::Word(w)) if w.eq_ignore_ascii_case("false") => {
                    Ok(DirectoryFilter::AccountEnabled(false))
                }
                _ => Err(self.unsupported(from)),
            }
        } else {
            Err(self.unsupported(from))
        }
    }
}

/// The filters of a `$filter` value, all of which a user must meet.
pub fn parse(text: &str) -> Result<Vec<DirectoryFilter>, ApiError> {
    let mut parser = Parser {
        text,
        tokens: tokens(text)?,
        next: 0,
    };
    if parser.tokens.is_empty() {
        return Err(ApiError::BadRequest("The $filter is empty.".into()));
    }
    let mut filters = vec![parser.clause()?];
    while parser.peek().is_some() {
        let from = parser.next;
        match parser.take() {
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("and") => filters.push(parser.clause()?),
            _ => return Err(parser.unsupported(from)),
        }
    }
    Ok(filters)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(text: &str) -> String {
        match parse(text) {
            Err(e) => e.to_string(),
            Ok(f) => panic!("{text} was read as {f:?}"),
        }
    }

    #[test]
    fn graphs_four_forms_are_read_joined_by_and() {
        let sku = "6FD2C87F-B296-42F0-B197-1E91E994B900";
        assert_eq!(
            parse(&format!(
                "assignedLicenses/any(x:x/skuId eq {sku}) and startswith(displayName,'Ad') \
                 and userPrincipalName eq 'Admin@Contoso.example' AND accountEnabled eq false"
            ))
            .unwrap(),
            vec![
                DirectoryFilter::HasLicense(sku.to_lowercase()),
                DirectoryFilter::DisplayNameStartsWith("Ad".into()),
                DirectoryFilter::SignInName("Admin@Contoso.example".into()),
                DirectoryFilter::AccountEnabled(false),
            ]
        );
        assert_eq!(
            parse("assignedLicenses/any(u: u/skuId eq 'aaaaaaaa-b296-42f0-b197-1e91e994b900')")
                .unwrap(),
            vec![DirectoryFilter::HasLicense(
                "aaaaaaaa-b296-42f0-b197-1e91e994b900".into()
            )]
        );
        assert_eq!(
            parse("accountEnabled eq true").unwrap(),
            vec![DirectoryFilter::AccountEnabled(true)]
        );
    }

    #[test]
    fn a_doubled_quote_is_one_quote_in_a_string() {
        assert_eq!(
            parse("startswith(displayName,'O''Br')").unwrap(),
            vec![DirectoryFilter::DisplayNameStartsWith("O'Br".into())]
        );
        assert_eq!(
            parse("userPrincipalName eq ''''").unwrap(),
            vec![DirectoryFilter::SignInName("'".into())]
        );
    }

    #[test]
    fn anything_else_is_refused_naming_the_part_not_supported() {
        let message = refusal("accountEnabled eq false and displayName eq 'Ann'");
        assert!(message.contains("\"displayName eq 'Ann'\""), "{message}");
        let message = refusal("accountEnabled eq false or accountEnabled eq true");
        assert!(message.contains("or accountEnabled eq true"), "{message}");
        for text in [
            "startswith(mail,'a')",
            "endswith(displayName,'a')",
            "accountEnabled ne false",
            "accountEnabled eq 'false'",
            "userPrincipalName eq admin",
            "assignedLicenses/any(x:y/skuId eq 6fd2c87f-b296-42f0-b197-1e91e994b900)",
            "not accountEnabled eq true",
            "accountEnabled eq false and",
            "(accountEnabled eq false)",
            "accountEnabled eq false; drop",
        ] {
            let message = refusal(text);
            assert!(message.contains("is not supported"), "{text}: {message}");
        }
        assert!(refusal("startswith(displayName,'open").contains("not closed"));
        assert!(refusal("assignedLicenses/any(x:x/skuId eq nope)").contains("not a GUID"));
        assert!(refusal("  ").contains("empty"));
    }
}
