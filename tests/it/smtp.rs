//! A small SMTP server for tests: listens on loopback, speaks enough SMTP for
//! lettre (EHLO/HELO, MAIL FROM, RCPT TO, DATA, RSET, NOOP, QUIT), keeps every
//! message it receives, and can be stopped and started again on the same port to
//! play a relay that is down for a while.
#![allow(dead_code)] // shared by every test module; not each uses every helper

use std::sync::{Arc, Mutex};

use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use crate::helpers::eventually;

/// One message as delivered.
#[derive(Clone, Debug)]
pub struct Received {
    /// The envelope sender.
    pub from: String,
    /// The envelope recipients.
    pub to: Vec<String>,
    /// The message as sent after DATA (dot-stuffing undone).
    pub data: String,
}

impl Received {
    /// A header's raw value.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next()?;
        let prefix = format!("{}:", name.to_ascii_lowercase());
        head.split("\r\n")
            .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].trim().to_owned())
    }

    /// The decoded body of the part with this content type (`text/plain`, `text/html`).
    pub fn part(&self, content_type: &str) -> Option<String> {
        let marker = format!("Content-Type: {content_type}");
        let start = self.data.find(&marker)?;
        let rest = &self.data[start..];
        let (headers, body) = rest.split_once("\r\n\r\n")?;
        let body = body.split("\r\n--").next().unwrap_or(body);
        let encoding = headers
            .split("\r\n")
            .find(|l| {
                l.to_ascii_lowercase()
                    .starts_with("content-transfer-encoding:")
            })
            .map(|l| {
                l.split(':')
                    .nth(1)
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_default();
        Some(match encoding.as_str() {
            "quoted-printable" => decode_qp(body),
            "base64" => {
                let clean: String = body.split_whitespace().collect();
                String::from_utf8_lossy(
                    &base64::engine::general_purpose::STANDARD
                        .decode(clean)
                        .unwrap_or_default(),
                )
                .into_owned()
            }
            _ => body.to_owned(),
        })
    }

    /// The plain-text part.
    pub fn text(&self) -> String {
        self.part("text/plain").expect("a text/plain part")
    }

    /// The HTML part.
    pub fn html(&self) -> String {
        self.part("text/html").expect("a text/html part")
    }

    /// The first link in the text part that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> Option<String> {
        let text = self.text();
        let start = text.find(prefix)?;
        Some(
            text[start..]
                .chars()
                .take_while(|c| !c.is_whitespace())
                .collect(),
        )
    }
}

fn decode_qp(body: &str) -> String {
    let joined = body.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Default)]
struct Inbox {
    messages: Mutex<Vec<Received>>,
}

/// The test server. Dropping it stops it.
pub struct SmtpServer {
    port: u16,
    inbox: Arc<Inbox>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl SmtpServer {
    /// Starts on a free loopback port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding SMTP");
        let port = listener.local_addr().expect("SMTP address").port();
        let server = Self {
            port,
            inbox: Arc::default(),
            task: Mutex::new(None),
        };
        server.serve(listener);
        server
    }

    /// The URL to configure the app with.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    fn serve(&self, listener: TcpListener) {
        let inbox = self.inbox.clone();
        let task = tokio::spawn(async move {
            // Dropping the set (when this task is aborted) aborts every connection.
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        if let Ok((stream, _)) = accepted {
                            connections.spawn(converse(stream, inbox.clone()));
                        }
                    }
                    Some(_) = connections.join_next() => {}
                }
            }
        });
        *self.task.lock().unwrap() = Some(task);
    }

    /// Stops listening and drops open connections: the relay is down.
    pub async fn stop(&self) {
        let task = self.task.lock().unwrap().take();
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
    }

    /// Listens again on the same port.
    pub async fn restart(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("re-binding SMTP on the same port");
        self.serve(listener);
    }

    /// Every message so far.
    pub fn messages(&self) -> Vec<Received> {
        self.inbox.messages.lock().unwrap().clone()
    }

    /// Messages to one recipient.
    pub fn messages_to(&self, to: &str) -> Vec<Received> {
        self.messages()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(to)))
            .collect()
    }

    /// Waits until `to` has received `count` messages; returns the latest one.
    pub async fn wait_for(&self, to: &str, count: usize) -> Received {
        eventually(&format!("message #{count} to {to}"), async || {
            let got = self.messages_to(to);
            match got.last() {
                Some(latest) if got.len() >= count => Ok(latest.clone()),
                _ => Err(format!("{} messages", got.len())),
            }
        })
        .await
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        if let Ok(mut task) = self.task.lock() {
            if let Some(task) = task.take() {
                task.abort();
            }
        }
    }
}

fn address(arg: &str) -> String {
    let start = arg.find('<').map(|i| i + 1).unwrap_or(0);
    let end = arg[start..]
        .find('>')
        .map(|i| i + start)
        .unwrap_or(arg.len());
    arg[start..end].to_owned()
}

async fn converse(stream: TcpStream, inbox: Arc<Inbox>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    if write.write_all(b"220 test-smtp ESMTP\r\n").await.is_err() {
        return;
    }
    let mut from = String::new();
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        let answer: String = if upper.starts_with("EHLO") {
            "250-test-smtp\r\n250 8BITMIME\r\n".into()
        } else if upper.starts_with("HELO") {
            "250 test-smtp\r\n".into()
        } else if upper.starts_with("MAIL FROM:") {
            from = address(&command[10..]);
            to.clear();
            "250 OK\r\n".into()
        } else if upper.starts_with("RCPT TO:") {
            to.push(address(&command[8..]));
            "250 OK\r\n".into()
        } else if upper == "DATA" {
            if write.write_all(b"354 go ahead\r\n").await.is_err() {
                return;
            }
            let mut data = String::new();
            loop {
                line.clear();
                match lines.read_line(&mut line).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                let unstuffed = line.strip_prefix('.').unwrap_or(&line);
                data.push_str(unstuffed);
            }
            inbox.messages.lock().unwrap().push(Received {
                from: from.clone(),
                to: std::mem::take(&mut to),
                data,
            });
            "250 OK queued\r\n".into()
        } else if upper == "RSET" {
            to.clear();
            "250 OK\r\n".into()
        } else if upper == "NOOP" {
            "250 OK\r\n".into()
        } else if upper == "QUIT" {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            "502 not implemented\r\n".into()
        };
        if write.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
    }
}
