//! The loopback listener of `liaison auth`: where Google sends the browser
//! back with the authorization code (RFC 8252 §7.3).
//!
//! Any process of this machine can reach the port, so a request counts only
//! when its `state` is the one this authorization sent to Google: anything
//! else gets a plain error page, a warning in the log, and the listener keeps
//! waiting for the right one. With the right state, a code ends the wait,
//! and so does an error (`access_denied` when consent was refused), at once.
//!
//! Each connection is served by hyper's HTTP/1 server in its own task, one
//! request per connection, and is bounded by [`CONNECTION_TIMEOUT`] (head
//! read, and everything else): a silent or slow client never holds up the
//! others, nor the process. The answer a request carries is handed on once
//! its page was written, so the browser shows it before `liaison auth` ends.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use secrecy::SecretString;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::pkce::same_state;

/// The longest one browser connection may take, from accept to the page
/// written: a browser on this machine needs milliseconds.
pub(super) const CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);

/// The most characters of Google's `error` and `error_description` quoted
/// in a message.
const QUOTED_MAX: usize = 200;

/// What Google's redirect carried, with the right `state`.
#[derive(Debug)]
pub(super) enum Answer {
    /// The authorization code, for the token endpoint.
    Code(SecretString),
    /// Google's `error` (`access_denied`: consent refused) and `error_description`.
    Refused { error: String, description: Option<String> },
}

/// The listener, bound to 127.0.0.1 on a port the system chose.
pub(super) struct Loopback {
    listener: TcpListener,
    address: SocketAddr,
    state: String,
    connection_timeout: Duration,
}

impl Loopback {
    /// Listens for the redirect of the authorization whose `state` is given.
    pub(super) async fn bind(state: String) -> std::io::Result<Loopback> {
        Loopback::bind_with(state, CONNECTION_TIMEOUT).await
    }

    pub(super) async fn bind_with(state: String, connection_timeout: Duration) -> std::io::Result<Loopback> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let address = listener.local_addr()?;
        Ok(Loopback {
            listener,
            address,
            state,
            connection_timeout,
        })
    }

    /// The `redirect_uri` to send to Google: the loopback IP literal, which
    /// Google recommends over `localhost` (no resolver, no IPv6 surprise),
    /// with the port; Google allows any port for desktop clients.
    pub(super) fn redirect_uri(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Serves browser requests until one brings the right `state` with a
    /// code or an error. No timeout of its own: the caller bounds the wait
    /// for the person at the browser.
    pub(super) async fn wait(self) -> std::io::Result<Answer> {
        let (tx, mut rx) = mpsc::channel::<Answer>(1);
        let state: Arc<str> = Arc::from(self.state.as_str());
        loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    let (stream, _) = accepted?;
                    tokio::spawn(serve(stream, state.clone(), tx.clone(), self.connection_timeout));
                }
                Some(answer) = rx.recv() => return Ok(answer),
            }
        }
    }
}

/// Serves one connection (one request), then hands on the answer it carried.
async fn serve(stream: TcpStream, state: Arc<str>, tx: mpsc::Sender<Answer>, timeout: Duration) {
    let carried: Arc<Mutex<Option<Answer>>> = Arc::default();
    let slot = carried.clone();
    let service = service_fn(move |request: Request<hyper::body::Incoming>| {
        let verdict = judge(request.uri().path(), request.uri().query(), &state);
        if let Some(warning) = verdict.warning {
            tracing::warn!("{warning}");
        }
        if let Some(answer) = verdict.answer
            && let Ok(mut slot) = slot.lock()
        {
            *slot = Some(answer);
        }
        let mut response = Response::new(verdict.page.to_string());
        *response.status_mut() = verdict.status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        std::future::ready(Ok::<_, Infallible>(response))
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(timeout)
        .keep_alive(false)
        .serve_connection(TokioIo::new(stream), service);
    match tokio::time::timeout(timeout, connection).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::debug!(error = %e, "a browser connection to the authorization listener failed"),
        Err(_) => tracing::debug!("a browser connection to the authorization listener timed out"),
    }
    // Taken out before the await: the lock is never held across it.
    let answer = carried.lock().ok().and_then(|mut slot| slot.take());
    if let Some(answer) = answer {
        let _ = tx.send(answer).await;
    }
}

/// What to do with one request.
#[derive(Debug)]
struct Verdict {
    status: StatusCode,
    page: &'static str,
    answer: Option<Answer>,
    warning: Option<&'static str>,
}

const WRONG_STATE_PAGE: &str = "This is not the answer liaison is waiting for: its state does not match the \
     authorization that `liaison auth` started. Nothing was authorized.\n\nIf you are authorizing liaison, open \
     the link that `liaison auth` printed in its terminal, in this browser.\n";
const CODE_PAGE: &str = "liaison received Google's answer. You can close this window; `liaison auth` finishes \
     in its terminal.\n";
const DENIED_PAGE: &str = "Access was not granted, so liaison is not authorized. `liaison auth` has stopped; run \
     it again to allow access.\n";
const ERROR_PAGE: &str = "Google answered with an error, so liaison is not authorized. `liaison auth` has \
     stopped and says why in its terminal.\n";
const NO_CODE_PAGE: &str = "This answer carries neither a code nor an error. liaison is still waiting for \
     Google's answer.\n";
const NOT_FOUND_PAGE: &str = "Not found.\n";

/// Judges one request by its path and query: only `/` with the right
/// `state` (once) carries an answer.
fn judge(path: &str, query: Option<&str>, ours: &str) -> Verdict {
    let verdict = |status, page, answer, warning| Verdict {
        status,
        page,
        answer,
        warning,
    };
    let params: Vec<(String, String)> = url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let all = |name: &'static str| values_of(&params, name);
    let one = |name: &'static str| {
        let mut values = all(name);
        match (values.next(), values.next()) {
            (Some(v), None) => Ok(Some(v)),
            (None, _) => Ok(None),
            (Some(_), Some(_)) => Err(()),
        }
    };
    let speaks = ["state", "code", "error"].iter().any(|name| all(name).next().is_some());
    if path != "/" || !speaks {
        // A favicon, a bare visit: not an answer, nothing to say.
        return verdict(StatusCode::NOT_FOUND, NOT_FOUND_PAGE, None, None);
    }
    let wrong_state = verdict(
        StatusCode::BAD_REQUEST,
        WRONG_STATE_PAGE,
        None,
        Some(
            "ignored a request to the authorization listener with a wrong or missing state: it is not Google's \
             answer to this authorization; still waiting for the browser",
        ),
    );
    // A parameter given twice is not Google's redirect either.
    let (Ok(state), Ok(code), Ok(error), Ok(description)) =
        (one("state"), one("code"), one("error"), one("error_description"))
    else {
        return wrong_state;
    };
    if !state.is_some_and(|s| same_state(s, ours)) {
        return wrong_state;
    }
    if let Some(error) = error {
        let page = if error == "access_denied" {
            DENIED_PAGE
        } else {
            ERROR_PAGE
        };
        let answer = Answer::Refused {
            error: quoted(error),
            description: description.map(quoted),
        };
        return verdict(StatusCode::OK, page, Some(answer), None);
    }
    match code.filter(|c| !c.is_empty()) {
        Some(code) => verdict(
            StatusCode::OK,
            CODE_PAGE,
            Some(Answer::Code(SecretString::from(code.to_string()))),
            None,
        ),
        None => verdict(StatusCode::BAD_REQUEST, NO_CODE_PAGE, None, None),
    }
}

/// The values of query parameter `name`, in order.
fn values_of<'a>(params: &'a [(String, String)], name: &'a str) -> impl Iterator<Item = &'a str> {
    params.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Text from the redirect fit for a message: printable characters only, and
/// not too many.
fn quoted(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).take(QUOTED_MAX).collect()
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret as _;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    const OURS: &str = "s7YfQn2Yw1n7kAX1vZV1o4mWQbX3Xe6zC5bAoVbUJ8s";

    fn code_of(v: &Verdict) -> Option<String> {
        match &v.answer {
            Some(Answer::Code(c)) => Some(c.expose_secret().to_string()),
            _ => None,
        }
    }

    #[test]
    fn only_the_right_state_once_carries_an_answer() {
        let right = format!("state={OURS}&code=4/0Acode&scope=a+b");
        let v = judge("/", Some(&right), OURS);
        assert_eq!((v.status, code_of(&v).as_deref()), (StatusCode::OK, Some("4/0Acode")));
        assert!(v.warning.is_none());

        let forged = [
            "code=4/0Acode".to_string(),
            "state=forged&code=4/0Acode".to_string(),
            format!("state={}&code=4/0Acode", &OURS[..42]),
            format!("state={OURS}&state=forged&code=4/0Acode"),
            format!("state=forged&state={OURS}&code=4/0Acode"),
            format!("state={OURS}&code=4/0Acode&code=4/0Aother"),
            "state=forged&error=access_denied".to_string(),
            "error=access_denied".to_string(),
        ];
        for query in forged {
            let v = judge("/", Some(&query), OURS);
            assert_eq!(v.status, StatusCode::BAD_REQUEST, "{query}");
            assert!(v.answer.is_none(), "{query}");
            assert_eq!(v.page, WRONG_STATE_PAGE, "{query}");
            assert!(v.warning.is_some(), "{query}");
        }
    }

    #[test]
    fn a_refusal_with_the_right_state_ends_the_wait() {
        let v = judge("/", Some(&format!("error=access_denied&state={OURS}")), OURS);
        assert_eq!(v.page, DENIED_PAGE);
        assert!(
            matches!(&v.answer, Some(Answer::Refused { error, description: None }) if error == "access_denied"),
            "{v:?}"
        );
        let v = judge(
            "/",
            Some(&format!(
                "error=invalid_scope&error_description=Bad%0Ascope&state={OURS}"
            )),
            OURS,
        );
        assert_eq!(v.page, ERROR_PAGE);
        assert!(
            matches!(&v.answer, Some(Answer::Refused { error, description: Some(d) })
                if error == "invalid_scope" && d == "Badscope"),
            "{v:?}"
        );
    }

    #[test]
    fn other_requests_are_not_answers() {
        for (path, query) in [
            ("/favicon.ico", None),
            ("/", None),
            ("/", Some("x=1")),
            ("/other", Some("code=c")),
        ] {
            let v = judge(path, query, OURS);
            assert_eq!(v.status, StatusCode::NOT_FOUND, "{path} {query:?}");
            assert!(v.answer.is_none() && v.warning.is_none());
        }
        let v = judge("/", Some(&format!("state={OURS}&code=")), OURS);
        assert_eq!((v.status, v.page), (StatusCode::BAD_REQUEST, NO_CODE_PAGE));
        assert!(v.answer.is_none());
    }

    /// Sends `head` on a new connection and reads the whole answer (bounded).
    async fn request(address: SocketAddr, head: &str) -> String {
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut answer = String::new();
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut answer))
            .await
            .unwrap()
            .unwrap();
        answer
    }

    fn get(path: &str) -> String {
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    }

    #[tokio::test]
    async fn the_listener_keeps_waiting_past_forged_and_silent_connections() {
        let loopback = Loopback::bind_with(OURS.to_string(), Duration::from_millis(300))
            .await
            .unwrap();
        let address = loopback.address;
        assert_eq!(loopback.redirect_uri(), format!("http://127.0.0.1:{}", address.port()));
        let waiting = tokio::spawn(loopback.wait());

        // A client that connects and says nothing is closed after the
        // connection timeout, and holds up nobody meanwhile.
        let mut silent = TcpStream::connect(address).await.unwrap();
        let forged = request(address, &get("/?state=forged&code=4/0Aforged")).await;
        assert!(forged.starts_with("HTTP/1.1 400"), "{forged}");
        assert!(forged.contains("its state does not match"), "{forged}");
        assert!(!waiting.is_finished());
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(10), silent.read_to_end(&mut rest)).await;
        assert!(matches!(closed, Ok(Ok(0)) | Ok(Err(_))), "{closed:?}");
        assert!(!waiting.is_finished());

        let right = request(address, &get(&format!("/?state={OURS}&code=4/0Aright&scope=x"))).await;
        assert!(right.starts_with("HTTP/1.1 200"), "{right}");
        assert!(right.contains("You can close this window"), "{right}");
        let answer = tokio::time::timeout(Duration::from_secs(10), waiting)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert!(
            matches!(&answer, Answer::Code(c) if c.expose_secret() == "4/0Aright"),
            "{answer:?}"
        );
        // The listener is gone with the wait.
        assert!(TcpStream::connect(address).await.is_err());
    }
}
