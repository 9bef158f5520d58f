//! SCIM's filter language (RFC 7644 §3.4.2.2) and the paths of PATCH operations (§3.5.2):
//! `userName eq "bjensen"`, `emails[type eq "work" and value co "@example.com"]`,
//! `not (active eq false) or name.familyName sw "J"`. Parsed once into a `Filter` that can only
//! hold what the grammar allows; attribute names and operators in any case, as the RFC says.
//! Precedence: `not`, then `and`, then `or`; parentheses group. Over 500 lines only with its
//! tests (the RFC's examples): the tokenizer and the parser are one grammar.

use std::fmt;

/// The longest filter or path accepted: far beyond any real client's, short enough that a
/// hostile one can't make the parser or the query it becomes expensive.
pub const MAX_LENGTH: usize = 4096;
/// How deeply parentheses, `not` and brackets may nest.
const MAX_DEPTH: usize = 32;

/// An attribute named by a filter or a path: `name.givenName` is `name` with the
/// sub-attribute `givenName`. Names are kept in lower case (SCIM's names are case-insensitive);
/// a schema URI in front (`urn:ietf:params:scim:schemas:core:2.0:User:userName`) is kept too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    pub schema: Option<String>,
    pub name: String,
    pub sub: Option<String>,
}

impl AttrPath {
    /// `name` or `name.sub`, lower case, without the schema.
    pub fn dotted(&self) -> String {
        match &self.sub {
            Some(sub) => format!("{}.{}", self.name, sub),
            None => self.name.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    fn parse(word: &str) -> Option<CompareOp> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => CompareOp::Eq,
            "ne" => CompareOp::Ne,
            "co" => CompareOp::Co,
            "sw" => CompareOp::Sw,
            "ew" => CompareOp::Ew,
            "gt" => CompareOp::Gt,
            "ge" => CompareOp::Ge,
            "lt" => CompareOp::Lt,
            "le" => CompareOp::Le,
            _ => return None,
        })
    }
}

/// A filter's comparison value: JSON's literals.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Text(String),
    Number(f64),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: Literal,
    },
    /// `attr pr`: the attribute has a value.
    Present(AttrPath),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `emails[type eq "work"]`: true when one value of the multi-valued `attr` matches
    /// `filter`, whose paths name that value's sub-attributes.
    ValuePath {
        attr: AttrPath,
        filter: Box<Filter>,
    },
}

/// The target of a PATCH operation: `members`, `name.givenName`,
/// `emails[type eq "work"].value`, `members[value eq "2819c223"]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    /// The values of a multi-valued attribute the operation is about.
    pub filter: Option<Filter>,
    /// A sub-attribute of those values (`.value` after the brackets).
    pub sub: Option<String>,
}

/// Why a filter or path could not be read: said to the client as SCIM's `invalidFilter` or
/// `invalidPath`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError(pub String);

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SyntaxError {}

impl Filter {
    pub fn parse(text: &str) -> Result<Filter, SyntaxError> {
        let mut parser = Parser::new(text)?;
        let filter = parser.or_expression(0)?;
        parser.end()?;
        Ok(filter)
    }
}

impl PatchPath {
    pub fn parse(text: &str) -> Result<PatchPath, SyntaxError> {
        let mut parser = Parser::new(text)?;
        let attr = parser.attr_path()?;
        let mut path = PatchPath {
            attr,
            filter: None,
            sub: None,
        };
        if parser.peek() == Some(&Token::Open('[')) {
            parser.next();
            path.filter = Some(parser.or_expression(1)?);
            parser.expect(Token::Close(']'))?;
            if let Some(Token::SubAttr(sub)) = parser.peek().cloned() {
                parser.next();
                path.sub = Some(sub);
            }
        }
        parser.end()?;
        Ok(path)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// An attribute path or a keyword (`and`, `eq`, `true`), told apart by the parser.
    Word(String),
    Text(String),
    Number(f64),
    Open(char),
    Close(char),
    /// `.value` right after `]`.
    SubAttr(String),
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':' | '.' | '$')
}

fn tokenize(text: &str) -> Result<Vec<Token>, SyntaxError> {
    if text.len() > MAX_LENGTH {
        return Err(SyntaxError(format!(
            "A filter has at most {MAX_LENGTH} characters."
        )));
    }
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | '[' => {
                chars.next();
                tokens.push(Token::Open(c));
            }
            ')' | ']' => {
                chars.next();
                tokens.push(Token::Close(c));
            }
            '"' => {
                chars.next();
                let mut end = None;
                let mut escaped = false;
                for (i, c) in chars.by_ref() {
                    match c {
                        _ if escaped => escaped = false,
                        '\\' => escaped = true,
                        '"' => {
                            end = Some(i);
                            break;
                        }
                        _ => {}
                    }
                }
                let end = end.ok_or_else(|| SyntaxError("A string is not closed.".into()))?;
                let value: String = serde_json::from_str(&text[start..=end])
                    .map_err(|_| SyntaxError("A string has a bad escape.".into()))?;
                tokens.push(Token::Text(value));
            }
            '.' if matches!(tokens.last(), Some(Token::Close(']'))) => {
                chars.next();
                let mut name = String::new();
                while let Some(&(_, c)) = chars.peek() {
                    if !is_word_char(c) || c == '.' {
                        break;
                    }
                    name.push(c);
                    chars.next();
                }
                if name.is_empty() {
                    return Err(SyntaxError(
                        "A sub-attribute name is missing after ].".into(),
                    ));
                }
                tokens.push(Token::SubAttr(name.to_ascii_lowercase()));
            }
            c if c == '-' || c.is_ascii_digit() => {
                let mut word = String::new();
                while let Some(&(_, c)) = chars.peek() {
                    if !(c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E')) {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                let number = word
                    .parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite())
                    .ok_or_else(|| SyntaxError(format!("{word} is not a number.")))?;
                tokens.push(Token::Number(number));
            }
            c if is_word_char(c) => {
                let mut word = String::new();
                while let Some(&(_, c)) = chars.peek() {
                    if !is_word_char(c) {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                tokens.push(Token::Word(word));
            }
            other => {
                return Err(SyntaxError(format!(
                    "The filter has an unexpected {other:?}."
                )));
            }
        }
    }
    Ok(tokens)
}

/// `urn:…:User:name.givenName` → schema, `name`, `givenname`.
fn attr_path(word: &str) -> Result<AttrPath, SyntaxError> {
    let (schema, rest) = match word.rfind(':') {
        Some(i) => (Some(word[..i].to_owned()), &word[i + 1..]),
        None => (None, word),
    };
    let mut parts = rest.split('.');
    let name = parts.next().unwrap_or_default();
    let sub = parts.next();
    let valid = |part: &str| {
        part.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '$')
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '$'))
    };
    if !valid(name) || sub.is_some_and(|s| !valid(s)) || parts.next().is_some() {
        return Err(SyntaxError(format!("{word} is not an attribute name.")));
    }
    Ok(AttrPath {
        schema,
        name: name.to_ascii_lowercase(),
        sub: sub.map(str::to_ascii_lowercase),
    })
}

fn keyword(token: Option<&Token>, word: &str) -> bool {
    matches!(token, Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
}

impl Parser {
    fn new(text: &str) -> Result<Parser, SyntaxError> {
        let tokens = tokenize(text)?;
        if tokens.is_empty() {
            return Err(SyntaxError("The filter is empty.".into()));
        }
        Ok(Parser { tokens, at: 0 })
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn expect(&mut self, token: Token) -> Result<(), SyntaxError> {
        match self.next() {
            Some(t) if t == token => Ok(()),
            _ => Err(SyntaxError(format!(
                "A {} is missing.",
                match token {
                    Token::Close(c) | Token::Open(c) => c.to_string(),
                    _ => "token".into(),
                }
            ))),
        }
    }

    fn end(&self) -> Result<(), SyntaxError> {
        match self.peek() {
            None => Ok(()),
            Some(token) => Err(SyntaxError(format!(
                "The filter goes on where it should end ({}).",
                describe(token)
            ))),
        }
    }

    fn attr_path(&mut self) -> Result<AttrPath, SyntaxError> {
        match self.next() {
            Some(Token::Word(word)) => attr_path(&word),
            other => Err(SyntaxError(format!(
                "An attribute name is expected, not {}.",
                other.as_ref().map_or("the end".into(), describe)
            ))),
        }
    }

    fn or_expression(&mut self, depth: usize) -> Result<Filter, SyntaxError> {
        let mut left = self.and_expression(depth)?;
        while keyword(self.peek(), "or") {
            self.next();
            let right = self.and_expression(depth)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expression(&mut self, depth: usize) -> Result<Filter, SyntaxError> {
        let mut left = self.unary(depth)?;
        while keyword(self.peek(), "and") {
            self.next();
            let right = self.unary(depth)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self, depth: usize) -> Result<Filter, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(SyntaxError(format!(
                "A filter nests at most {MAX_DEPTH} levels deep."
            )));
        }
        if keyword(self.peek(), "not") && self.tokens.get(self.at + 1) == Some(&Token::Open('(')) {
            self.next();
            return Ok(Filter::Not(Box::new(self.unary(depth + 1)?)));
        }
        if self.peek() == Some(&Token::Open('(')) {
            self.next();
            let inner = self.or_expression(depth + 1)?;
            self.expect(Token::Close(')'))?;
            return Ok(inner);
        }
        let path = self.attr_path()?;
        if self.peek() == Some(&Token::Open('[')) {
            self.next();
            let inner = self.or_expression(depth + 1)?;
            self.expect(Token::Close(']'))?;
            return Ok(Filter::ValuePath {
                attr: path,
                filter: Box::new(inner),
            });
        }
        let op = match self.next() {
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("pr") => {
                return Ok(Filter::Present(path));
            }
            Some(Token::Word(w)) => CompareOp::parse(&w)
                .ok_or_else(|| SyntaxError(format!("{w} is not an operator.")))?,
            other => {
                return Err(SyntaxError(format!(
                    "An operator is expected after {}, not {}.",
                    path.dotted(),
                    other.as_ref().map_or("the end".into(), describe)
                )));
            }
        };
        let value = match self.next() {
            Some(Token::Text(text)) => Literal::Text(text),
            Some(Token::Number(n)) => Literal::Number(n),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("true") => Literal::Bool(true),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("false") => Literal::Bool(false),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("null") => Literal::Null,
            other => {
                return Err(SyntaxError(format!(
                    "A value (a \"string\", a number, true, false or null) is expected after \
                     {}, not {}.",
                    path.dotted(),
                    other.as_ref().map_or("the end".into(), describe)
                )));
            }
        };
        Ok(Filter::Compare { path, op, value })
    }
}

fn describe(token: &Token) -> String {
    match token {
        Token::Word(w) => w.clone(),
        Token::Text(t) => format!("\"{t}\""),
        Token::Number(n) => n.to_string(),
        Token::Open(c) | Token::Close(c) => c.to_string(),
        Token::SubAttr(s) => format!(".{s}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(name: &str, sub: Option<&str>) -> AttrPath {
        AttrPath {
            schema: None,
            name: name.into(),
            sub: sub.map(Into::into),
        }
    }

    fn eq(name: &str, value: &str) -> Filter {
        Filter::Compare {
            path: path(name, None),
            op: CompareOp::Eq,
            value: Literal::Text(value.into()),
        }
    }

    // The examples of RFC 7644 §3.4.2.2, each read without error.
    #[test]
    fn every_example_of_the_rfc_parses() {
        for example in [
            r#"userName Eq "john""#,
            r#"Username eq "john""#,
            r#"userName eq "bjensen""#,
            r#"name.familyName co "O'Malley""#,
            r#"userName sw "J""#,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
            "title pr",
            r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
            r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
            r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
            r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
            r#"title pr and userType eq "Employee""#,
            r#"title pr or userType eq "Intern""#,
            r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
            r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
            r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
            r#"userType eq "Employee" and (emails.type eq "work")"#,
            r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
            r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
        ] {
            Filter::parse(example).unwrap_or_else(|e| panic!("{example}: {e}"));
        }
    }

    #[test]
    fn names_and_operators_are_read_in_any_case() {
        assert_eq!(
            Filter::parse(r#"USERNAME EQ "Bjensen""#),
            Ok(eq("username", "Bjensen"))
        );
        let Filter::Compare { path, .. } =
            Filter::parse(r#"urn:ietf:params:scim:schemas:core:2.0:User:name.givenName sw "B""#)
                .unwrap()
        else {
            panic!("not a comparison");
        };
        assert_eq!(
            path.schema.as_deref(),
            Some("urn:ietf:params:scim:schemas:core:2.0:User")
        );
        assert_eq!(path.dotted(), "name.givenname");
    }

    #[test]
    fn and_binds_tighter_than_or_and_not_tighter_than_and() {
        let parsed = Filter::parse(r#"a eq "1" or b eq "2" and not (c eq "3")"#).unwrap();
        assert_eq!(
            parsed,
            Filter::Or(
                Box::new(eq("a", "1")),
                Box::new(Filter::And(
                    Box::new(eq("b", "2")),
                    Box::new(Filter::Not(Box::new(eq("c", "3"))))
                ))
            )
        );
        let grouped = Filter::parse(r#"(a eq "1" or b eq "2") and c eq "3""#).unwrap();
        assert!(matches!(grouped, Filter::And(..)));
    }

    #[test]
    fn literals_are_json_values() {
        let value_of = |text: &str| match Filter::parse(text).unwrap() {
            Filter::Compare { value, .. } => value,
            other => panic!("{other:?}"),
        };
        assert_eq!(value_of("active eq false"), Literal::Bool(false));
        assert_eq!(value_of("active eq True"), Literal::Bool(true));
        assert_eq!(value_of("x eq null"), Literal::Null);
        assert_eq!(value_of("x gt 10.5"), Literal::Number(10.5));
        assert_eq!(
            value_of(r#"displayName eq "Say \"hi\" \u00e9""#),
            Literal::Text("Say \"hi\" é".into())
        );
    }

    #[test]
    fn a_value_path_filters_the_values_of_one_attribute() {
        let parsed = Filter::parse(r#"emails[type eq "work"]"#).unwrap();
        assert_eq!(
            parsed,
            Filter::ValuePath {
                attr: path("emails", None),
                filter: Box::new(eq("type", "work")),
            }
        );
    }

    #[test]
    fn patch_paths_name_an_attribute_values_and_a_sub_attribute() {
        assert_eq!(
            PatchPath::parse("name.givenName").unwrap(),
            PatchPath {
                attr: path("name", Some("givenname")),
                filter: None,
                sub: None
            }
        );
        assert_eq!(
            PatchPath::parse(r#"emails[type eq "work"].value"#).unwrap(),
            PatchPath {
                attr: path("emails", None),
                filter: Some(eq("type", "work")),
                sub: Some("value".into())
            }
        );
        assert_eq!(
            PatchPath::parse(r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#)
                .unwrap()
                .filter,
            Some(eq("value", "2819c223-7f76-453a-919d-413861904646"))
        );
    }

    #[test]
    fn what_the_grammar_does_not_allow_is_refused_with_a_reason() {
        for bad in [
            "",
            "userName",
            r#"userName eq"#,
            r#"userName is "x""#,
            r#"userName eq "open"#,
            r#"(userName eq "x""#,
            r#"userName eq "x")"#,
            r#"userName eq "x" and"#,
            r#"userName eq "x" "y""#,
            r#"emails[type eq "work""#,
            r#"a.b.c eq "x""#,
            r#"9lives eq "x""#,
            "userName eq bjensen",
            r#"userName eq "x" ; drop table users"#,
        ] {
            let error = Filter::parse(bad).expect_err(bad);
            assert!(!error.0.is_empty(), "{bad}");
        }
        let deep = format!("{}a pr{}", "(".repeat(40), ")".repeat(40));
        assert!(Filter::parse(&deep).is_err());
        assert!(Filter::parse(&"a pr or ".repeat(1000)).is_err());
    }
}
