//! Walking the app as a browser would: the links and forms of a page, and a breadth-first walk
//! from a role's landing page. `http_forms` sends every form it finds empty; `http_fuzz` fills
//! them, and the query parameters of pages, with generated values.

use super::{Browser, PASSWORD, Page};
use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{StatusCode, header};
use std::collections::{BTreeMap, HashSet, VecDeque};

/// Enough for every page of the demo data; a walk that needs more has lost its way.
pub const PAGE_LIMIT: usize = 400;

/// Where a role signs in and starts.
#[derive(Debug, Clone, Copy)]
pub enum Door {
    /// Nobody signed in: the two sign-in pages.
    SignedOut,
    AdminCenter(&'static str),
    Portal(&'static str),
}

impl Door {
    /// The pages a walk starts from.
    pub fn starts(self) -> Vec<String> {
        match self {
            Door::SignedOut => vec!["/signin".into(), "/portal/signin".into()],
            Door::AdminCenter(_) => vec!["/".into()],
            Door::Portal(_) => vec!["/portal".into()],
        }
    }
}

/// What kind of control a field is, as far as what it may send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldKind {
    /// An `<input>` the person types into, with its `type` (`text`, `number`, `date`, …).
    Input(String),
    Hidden,
    /// Sends its value only when checked.
    Checkbox,
    /// One of a group of the same name sends its value.
    Radio,
    /// A `<select>` and the values of its options.
    Select(Vec<String>),
    Textarea,
}

/// A named control of a form. The CSRF token is not one: it is the form's `token`.
#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub kind: FieldKind,
    /// What it holds as the page shows it (a select's selected or first option).
    pub value: String,
    /// A check box or radio button checked as the page shows it.
    pub checked: bool,
}

/// A `<form>` as a page shows it.
#[derive(Debug, Clone)]
pub struct Form {
    /// Signing out goes last, so the session lasts for the others.
    pub signs_out: bool,
    /// Before it, the forms that end what their page is about (a confirmed delete or cancel
    /// needs nothing more than the token), so the others still find it.
    pub ends_something: bool,
    pub method: String,
    /// Where it goes; a GET form's without the query, which its fields replace.
    pub action: String,
    /// The CSRF token it carries (the session's).
    pub token: Option<String>,
    /// The page it was found on.
    pub page: String,
    pub fields: Vec<Field>,
}

impl Form {
    /// The fields as a browser sends the form untouched: hidden values, what is typed in,
    /// the selected option, the checked boxes and radio buttons. No CSRF token.
    pub fn as_shown(&self) -> Vec<(String, String)> {
        self.fields
            .iter()
            .filter(|f| match f.kind {
                FieldKind::Checkbox | FieldKind::Radio => f.checked,
                _ => true,
            })
            .map(|f| (f.name.clone(), f.value.clone()))
            .collect()
    }

    /// The names of its fields, once each, in the order of the page.
    pub fn names(&self) -> Vec<String> {
        let mut seen = HashSet::new();
        self.fields
            .iter()
            .filter(|f| seen.insert(f.name.clone()))
            .map(|f| f.name.clone())
            .collect()
    }

    /// What the walk tells forms apart by: the order to send them in, then where they go.
    fn key(&self) -> (bool, bool, String, String) {
        (
            self.signs_out,
            self.ends_something,
            self.method.clone(),
            self.action.clone(),
        )
    }
}

/// A page reached with a query string (a link such as a next page or a sort order).
#[derive(Debug, Clone)]
pub struct QueryLink {
    pub path: String,
    pub params: Vec<(String, String)>,
}

/// What a walk found: one form per method and action, in the order to send them, and one
/// link per path and set of query parameter names.
#[derive(Debug, Default)]
pub struct Walk {
    pub forms: Vec<Form>,
    pub query_links: Vec<QueryLink>,
    /// Links that lead nowhere (no route, or a failure of ours).
    pub problems: Vec<String>,
}

/// Undoes askama's HTML escaping of an attribute value or text.
pub fn unescaped(value: &str) -> String {
    value
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The value of attribute `name` in the tag `tag` (our templates always quote with `"`).
pub fn attribute(tag: &str, name: &str) -> Option<String> {
    let marker = format!(" {name}=\"");
    let start = tag.find(&marker)? + marker.len();
    let end = tag[start..].find('"')? + start;
    Some(unescaped(&tag[start..end]))
}

/// Whether the tag has the attribute `name` without a value (`checked`, `selected`).
fn flag(tag: &str, name: &str) -> bool {
    tag.split(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .any(|word| word == name)
}

/// The address of this site that `href` names, without its fragment; `None` for anything
/// outside it, our static files, and downloads.
pub fn same_site(href: &str) -> Option<String> {
    let path = href.split('#').next().unwrap_or_default();
    let ours = path.starts_with('/') && !path.starts_with("//");
    let skipped = path.starts_with("/static/") || path.starts_with("/billing/export.");
    (ours && !skipped).then(|| path.to_owned())
}

/// Every link of `body` into this site.
pub fn links(body: &str) -> Vec<String> {
    body.split(" href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter_map(|href| same_site(&unescaped(href)))
        .collect()
}

/// The path of an address and its query parameters, decoded.
pub fn split_query(address: &str) -> (String, Vec<(String, String)>) {
    match address.split_once('?') {
        None => (address.to_owned(), Vec::new()),
        Some((path, query)) => (
            path.to_owned(),
            serde_html_form::from_str::<Vec<(String, String)>>(query).unwrap_or_default(),
        ),
    }
}

/// The tags named `name` (`<input`, `<select`, …) in `html`, each with what follows it.
fn tags<'a>(html: &'a str, name: &str) -> Vec<(&'a str, &'a str)> {
    let open = format!("<{name}");
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find(&open) {
        rest = &rest[start..];
        let after_name = rest[open.len()..].chars().next();
        let Some(end) = rest.find('>') else { break };
        if matches!(after_name, Some(c) if c.is_whitespace() || c == '>') {
            found.push((&rest[..end], &rest[end + 1..]));
        }
        rest = &rest[end + 1..];
    }
    found
}

/// The named controls of a form's inside, in the order of the page.
fn fields(inner: &str) -> Vec<Field> {
    // Where each control starts, so they can be put back in page order.
    let mut found: Vec<(usize, Field)> = Vec::new();
    let offset = |tag: &str| tag.as_ptr() as usize - inner.as_ptr() as usize;
    for (tag, _) in tags(inner, "input") {
        let Some(name) = attribute(tag, "name") else {
            continue;
        };
        if name == "csrf_token" {
            continue;
        }
        let input_type = attribute(tag, "type").unwrap_or_else(|| "text".into());
        let kind = match input_type.as_str() {
            "hidden" => FieldKind::Hidden,
            "checkbox" => FieldKind::Checkbox,
            "radio" => FieldKind::Radio,
            "submit" | "button" | "reset" | "image" => continue,
            _ => FieldKind::Input(input_type.clone()),
        };
        let value = attribute(tag, "value").unwrap_or_else(|| match kind {
            FieldKind::Checkbox | FieldKind::Radio => "on".into(),
            _ => String::new(),
        });
        let checked = flag(tag, "checked");
        found.push((
            offset(tag),
            Field {
                name,
                kind,
                value,
                checked,
            },
        ));
    }
    for (tag, rest) in tags(inner, "select") {
        let Some(name) = attribute(tag, "name") else {
            continue;
        };
        let body = &rest[..rest.find("</select>").unwrap_or(rest.len())];
        let mut options = Vec::new();
        let mut selected = None;
        for (option, text) in tags(body, "option") {
            let value = attribute(option, "value").unwrap_or_else(|| {
                let text = &text[..text.find('<').unwrap_or(text.len())];
                unescaped(text.trim())
            });
            if selected.is_none() && flag(option, "selected") {
                selected = Some(value.clone());
            }
            options.push(value);
        }
        let value = selected
            .or_else(|| options.first().cloned())
            .unwrap_or_default();
        found.push((
            offset(tag),
            Field {
                name,
                kind: FieldKind::Select(options),
                value,
                checked: false,
            },
        ));
    }
    for (tag, rest) in tags(inner, "textarea") {
        let Some(name) = attribute(tag, "name") else {
            continue;
        };
        let text = &rest[..rest.find("</textarea>").unwrap_or(rest.len())];
        found.push((
            offset(tag),
            Field {
                name,
                kind: FieldKind::Textarea,
                value: unescaped(text),
                checked: false,
            },
        ));
    }
    found.sort_by_key(|(at, _)| *at);
    found.into_iter().map(|(_, field)| field).collect()
}

/// Every form of `body`, found on page `page`.
pub fn forms(body: &str, page: &str) -> Vec<Form> {
    let mut found = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find("<form") {
        rest = &rest[start..];
        let tag_end = rest.find('>').expect("a form tag ends");
        let tag = &rest[..tag_end];
        let inner_end = rest.find("</form>").expect("a form is closed");
        let inner = &rest[tag_end..inner_end];
        let method = attribute(tag, "method")
            .unwrap_or_else(|| "get".into())
            .to_ascii_lowercase();
        let action = attribute(tag, "action").unwrap_or_else(|| page.to_owned());
        let last = action.rsplit('/').next().unwrap_or_default();
        found.push(Form {
            signs_out: last == "signout",
            ends_something: ["delete", "cancel", "cancel-subscription"].contains(&last),
            method,
            // A GET form replaces the query with its fields.
            action: action.split('?').next().unwrap_or_default().to_owned(),
            token: token_in(inner),
            page: page.to_owned(),
            fields: fields(inner),
        });
        rest = &rest[inner_end..];
    }
    found
}

/// The CSRF token in a page or form, if it has one.
pub fn token_in(html: &str) -> Option<String> {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// An answer no form or link may get: no route, or a failure of ours.
pub fn no_route_or_failure(status: StatusCode) -> bool {
    status == StatusCode::NOT_FOUND
        || status == StatusCode::METHOD_NOT_ALLOWED
        || status.is_server_error()
}

/// Whether an answer sends the browser to a sign-in page.
pub fn lands_on_sign_in(page: &Page) -> bool {
    matches!(
        page.location.as_deref(),
        Some("/signin") | Some("/portal/signin")
    )
}

/// Signs in at the door (nothing for `SignedOut`).
pub async fn sign_in<S, B>(b: &mut Browser<S>, door: Door)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let (form, email) = match door {
        Door::SignedOut => return,
        Door::AdminCenter(email) => ("/signin", email),
        Door::Portal(email) => ("/portal/signin", email),
    };
    let signed_in = b
        .submit(form, form, &[("email", email), ("password", PASSWORD)])
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "{email} signs in");
}

/// The session's CSRF token as the page `path` carries it now.
pub async fn token_of<S, B>(b: &mut Browser<S>, path: &str) -> Option<String>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    token_in(&b.get(path).await.body)
}

/// Follows every link from the landing page, breadth first, without signing out.
pub async fn walk<S, B>(b: &mut Browser<S>, door: Door) -> Walk
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let mut queue: VecDeque<String> = door.starts().into();
    let mut seen: HashSet<String> = queue.iter().cloned().collect();
    let mut forms_found = BTreeMap::new();
    let mut links_found = BTreeMap::new();
    let mut problems = Vec::new();
    let mut visited = 0;
    while let Some(path) = queue.pop_front() {
        visited += 1;
        assert!(visited <= PAGE_LIMIT, "more than {PAGE_LIMIT} pages");
        let page = b.get(&path).await;
        if no_route_or_failure(page.status) {
            problems.push(format!("GET {path} answers {}", page.status));
            continue;
        }
        let (bare, params) = split_query(&path);
        if !params.is_empty() {
            let mut names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
            names.sort_unstable();
            names.dedup();
            let key = (bare.clone(), names.join("&"));
            links_found.entry(key).or_insert_with(|| QueryLink {
                path: bare.clone(),
                params: params.clone(),
            });
        }
        let html = page
            .headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.to_str().unwrap().starts_with("text/html"));
        let mut next: Vec<String> = page.location.iter().filter_map(|l| same_site(l)).collect();
        if html {
            next.extend(links(&page.body));
            for form in forms(&page.body, &path) {
                forms_found.entry(form.key()).or_insert(form);
            }
        }
        for link in next {
            if !link.ends_with("/signout") && seen.insert(link.clone()) {
                queue.push_back(link);
            }
        }
    }
    Walk {
        forms: forms_found.into_values().collect(),
        query_links: links_found.into_values().collect(),
        problems,
    }
}
