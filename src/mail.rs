//! SMTP delivery of the outbox with lettre, when `ALLOT_SMTP_URL` is set.

use lettre::message::header::ContentType;
use lettre::{Message, SmtpTransport, Transport};

use crate::domain::outbox::Mailer;

pub struct SmtpMailer {
    transport: SmtpTransport,
    from: lettre::message::Mailbox,
    /// The server's address as people reach it, put before an email's link.
    public_url: String,
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
        Ok(SmtpMailer {
            transport,
            from,
            public_url: public_url.trim_end_matches('/').to_owned(),
        })
    }
}

impl Mailer for SmtpMailer {
    fn send(&self, to: &str, subject: &str, body: &str, link: Option<&str>) -> Result<(), String> {
        let body = match link {
            Some(path) => format!("{body}\n\n{}{path}\n", self.public_url),
            None => body.to_owned(),
        };
        let message = Message::builder()
            .from(self.from.clone())
            .to(to.parse().map_err(|e| format!("bad recipient {to}: {e}"))?)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| e.to_string())?;
        self.transport
            .send(&message)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
