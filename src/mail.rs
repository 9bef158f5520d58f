//! SMTP delivery of the outbox with lettre, when `ALLOT_SMTP_URL` is set.

use lettre::message::header::ContentType;
use lettre::{Message, SmtpTransport, Transport};

use crate::domain::outbox::{Mailer, Outgoing};

pub struct SmtpMailer {
    transport: SmtpTransport,
    from: lettre::message::Mailbox,
    /// The server's address as people reach it, put before an email's link.
    public_url: String,
    /// Its host name, the right-hand side of the Message-IDs.
    host: String,
}

impl SmtpMailer {
    /// `url` as lettre reads it: `smtp://host:25`, `smtp://user:pass@host:587?tls=required`,
    /// `smtps://host:465`.
    pub fn new(url: &str, from: &str, public_url: &str) -> Result<SmtpMailer, String> {
        let transport = SmtpTransport::from_url(url)
            .map_err(|e| format!("ALLOT_SMTP_URL is not a valid SMTP URL: {e}"))?
            .build();
        let from = from
            .parse()
            .map_err(|e| format!("ALLOT_SMTP_FROM is not a valid address: {e}"))?;
        let public_url = public_url.trim_end_matches('/').to_owned();
        let host = public_url
            .split("://")
            .nth(1)
            .unwrap_or(&public_url)
            .split(['/', ':'])
            .next()
            .filter(|h| !h.is_empty())
            .unwrap_or("localhost")
            .to_owned();
        Ok(SmtpMailer {
            transport,
            from,
            public_url,
            host,
        })
    }
}

impl Mailer for SmtpMailer {
    fn send(&self, email: &Outgoing<'_>) -> Result<(), String> {
        let (to, body) = (email.to, email.body);
        let body = match email.link {
            Some(path) => format!("{body}\n\n{}{path}\n", self.public_url),
            None => body.to_owned(),
        };
        // The same email sent again (its sender stopped before marking it sent) keeps its
        // Message-ID, so mail systems can tell it is the same one.
        let message_id = format!(
            "<allot.{}.{}@{}>",
            email.id,
            email.created_at.timestamp(),
            self.host
        );
        let message = Message::builder()
            .message_id(Some(message_id))
            .from(self.from.clone())
            .to(to.parse().map_err(|e| format!("bad recipient {to}: {e}"))?)
            .subject(email.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| e.to_string())?;
        self.transport
            .send(&message)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
