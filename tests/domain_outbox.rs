//! The outbox: emails are kept, then delivered by SMTP once each.

mod common;

use allot::domain::outbox;
use allot::domain::schema::outbox as outbox_table;
use allot::mail::SmtpMailer;
use common::*;
use diesel::prelude::*;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// A minimal SMTP server on loopback that accepts every message and keeps what it was sent.
fn fake_smtp() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Arc::new(Mutex::new(Vec::new()));
    let keep = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(20) {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let _ = stream.write_all(b"220 fake ESMTP\r\n");
            let mut in_data = false;
            let mut message = String::new();
            let mut line = String::new();
            while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                if in_data {
                    if line == ".\r\n" {
                        in_data = false;
                        keep.lock().unwrap().push(std::mem::take(&mut message));
                        let _ = stream.write_all(b"250 queued\r\n");
                    } else {
                        message.push_str(&line);
                    }
                } else {
                    let upper = line.to_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        b"250 fake\r\n"
                    } else if upper.starts_with("DATA") {
                        in_data = true;
                        b"354 go on\r\n"
                    } else if upper.starts_with("QUIT") {
                        let _ = stream.write_all(b"221 bye\r\n");
                        break;
                    } else {
                        b"250 ok\r\n"
                    };
                    let _ = stream.write_all(reply);
                }
                line.clear();
            }
        }
    });
    (port, received)
}

#[test]
fn the_outbox_is_delivered_by_smtp_once_and_marked_sent() {
    // An empty database: the demo's own emails would be delivered too.
    let db = TestDb::new();
    let mut conn = db.conn();
    outbox::enqueue(
        &mut conn,
        test_now(),
        &outbox::Email {
            tenant: None,
            to: "admin@contoso.example",
            subject: "Contoso: a test",
            body: "Hello from allot.",
            link: Some("/support/requests/7"),
        },
    )
    .unwrap();
    let (port, received) = fake_smtp();
    let mailer = SmtpMailer::new(
        &format!("smtp://127.0.0.1:{port}"),
        "allot <no-reply@allot.example>",
        "https://allot.example.test/",
    )
    .unwrap();
    assert_eq!(
        outbox::deliver(&mut conn, &mailer, test_now(), 100).unwrap(),
        1
    );
    let messages = received.lock().unwrap().clone();
    assert_eq!(messages.len(), 1);
    assert!(messages[0].contains("Subject: Contoso: a test"));
    assert!(messages[0].contains("To: admin@contoso.example"));
    assert!(messages[0].contains("Hello from allot."));
    assert!(
        messages[0].contains("Message-ID: <allot.1.")
            && messages[0].contains("@allot.example.test>"),
        "a Message-ID of the outbox's email on the public host: {}",
        messages[0]
    );
    assert!(
        messages[0].contains("https://allot.example.test/support/requests/7"),
        "the link is the public address and the page's path: {}",
        messages[0]
    );
    let unsent: i64 = outbox_table::table
        .filter(outbox_table::sent_at.is_null())
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(unsent, 0);
    assert_eq!(
        outbox::deliver(&mut conn, &mailer, test_now(), 100).unwrap(),
        0,
        "nothing is sent twice"
    );
}

#[test]
fn an_unreachable_server_leaves_the_email_for_the_next_run() {
    let db = TestDb::new();
    let mut conn = db.conn();
    outbox::enqueue(
        &mut conn,
        test_now(),
        &outbox::Email {
            tenant: None,
            to: "a@b.example",
            subject: "s",
            body: "b",
            link: None,
        },
    )
    .unwrap();
    // A port nothing listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mailer = SmtpMailer::new(
        &format!("smtp://127.0.0.1:{port}"),
        "allot <no-reply@allot.example>",
        "https://allot.example.test/",
    )
    .unwrap();
    assert_eq!(
        outbox::deliver(&mut conn, &mailer, test_now(), 100).unwrap(),
        0
    );
    let unsent: i64 = outbox_table::table
        .filter(outbox_table::sent_at.is_null())
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(unsent, 1);
    assert!(SmtpMailer::new("not a url", "x@y.example", "http://localhost:8080").is_err());
}

#[test]
fn only_billing_support_reads_the_outbox() {
    let db = TestDb::with_demo();
    let mut conn = db.conn();
    assert!(outbox::list(&mut conn, &actor(&db, "support@allot.example"), 10).is_ok());
    for email in [
        "partner@allot.example",
        "admin@contoso.example",
        "billing@contoso.example",
    ] {
        assert_eq!(
            outbox::list(&mut conn, &actor(&db, email), 10).err(),
            Some(allot::domain::DomainError::Forbidden),
            "{email}"
        );
    }
}

/// Keeps what it was asked to send, slowly, as a real SMTP server answers.
#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl outbox::Mailer for Recorder {
    fn send(&self, email: &outbox::Outgoing<'_>) -> Result<(), String> {
        std::thread::sleep(std::time::Duration::from_millis(1));
        self.0
            .lock()
            .unwrap()
            .push(format!("{} {}", email.to, email.subject));
        Ok(())
    }
}

fn queue(conn: &mut allot::domain::DbConnection, n: usize) {
    for i in 0..n {
        outbox::enqueue(
            conn,
            test_now(),
            &outbox::Email {
                tenant: None,
                to: &format!("user{i}@contoso.example"),
                subject: &format!("Email {i}"),
                body: "b",
                link: None,
            },
        )
        .unwrap();
    }
}

#[test]
fn senders_in_several_processes_at_once_send_each_email_once() {
    let db = TestDb::new();
    queue(&mut db.conn(), 300);
    let mailer = Arc::new(Recorder::default());
    // Four senders, each with its own connection, as four server processes would be; small
    // batches so that they run into each other over and over.
    let senders: Vec<_> = (0..4)
        .map(|_| {
            let mut conn = db.conn();
            let mailer = mailer.clone();
            std::thread::spawn(move || {
                let mut sent = 0;
                loop {
                    let n = outbox::deliver(&mut conn, mailer.as_ref(), test_now(), 7).unwrap();
                    if n == 0 {
                        return sent;
                    }
                    sent += n;
                }
            })
        })
        .collect();
    let counted: usize = senders.into_iter().map(|s| s.join().unwrap()).sum();
    let mut sent = mailer.0.lock().unwrap().clone();
    assert_eq!(sent.len(), 300, "every email was sent");
    assert_eq!(counted, 300, "the senders' counts add up to the emails");
    sent.sort();
    sent.dedup();
    assert_eq!(sent.len(), 300, "no email was sent twice");
    let unsent: i64 = outbox_table::table
        .filter(outbox_table::sent_at.is_null())
        .count()
        .get_result(&mut db.conn())
        .unwrap();
    assert_eq!(unsent, 0);
}

#[test]
fn a_claim_left_by_a_sender_that_stopped_is_taken_again_only_when_old() {
    let db = TestDb::new();
    let mut conn = db.conn();
    queue(&mut conn, 3);
    // A sender claimed the emails, then was killed before sending them.
    diesel::update(outbox_table::table)
        .set((
            outbox_table::claim.eq(Some("0123456789abcdef")),
            outbox_table::claimed_at.eq(Some(test_now().naive_utc())),
        ))
        .execute(&mut conn)
        .unwrap();
    let mailer = Recorder::default();
    let soon = test_now() + chrono::Duration::minutes(outbox::CLAIM_MINUTES - 1);
    assert_eq!(
        outbox::deliver(&mut conn, &mailer, soon, 100).unwrap(),
        0,
        "a live claim is left to its sender"
    );
    let later = test_now() + chrono::Duration::minutes(outbox::CLAIM_MINUTES + 1);
    assert_eq!(outbox::deliver(&mut conn, &mailer, later, 100).unwrap(), 3);
    assert_eq!(mailer.0.lock().unwrap().len(), 3);
}
