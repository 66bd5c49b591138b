//! Plain HTTP requests: the connector every provider uses, and one
//! request/response exchange whose answer is read whole, up to a size limit.
//!
//! This is the helper of a provider that sends raw requests (hyper-util's
//! client), and of the OAuth token endpoints. It neither paces, retries nor
//! times out by itself: wrap it in [`super::Caller::run`] (through
//! [`super::Caller::send`], which also counts the request) or in a timeout.

use std::time::Duration;

// hyper 1 as google-calendar3 re-exports it: the same crate hyper-util builds
// on (the manifest names it too, for its server features only).
use google_calendar3::hyper::body::Bytes;
use google_calendar3::hyper::header::RETRY_AFTER;
use google_calendar3::hyper::{HeaderMap, Request};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use jiff::Timestamp;

use super::capped::{AnswerTooLarge, CappedConnector};
use super::error::ApiError;
use super::retry::parse_retry_after;

/// The connector of every request (APIs and token endpoints): webpki roots,
/// so a host without a CA bundle still works; plain http allowed, for a
/// configured API base or token URI on a test server or proxy (the
/// configuration allows it to loopback addresses only); every answer capped
/// at [`BODY_LIMIT`] on the connection itself (see `capped`).
pub type Connector = CappedConnector<HttpsConnector<HttpConnector>>;

/// A client for plain requests with a text body (JSON, a form, XML).
pub type HttpClient = Client<Connector, String>;

/// The largest answer body read: 16 MiB, above any calendar answer liaison
/// asks for — a page of 2,500 of its events is 3 to 6 MiB (about 1.5 to
/// 2.5 kB each), a freeBusy answer for 50 people over a term a few hundred
/// kB, a token answer under 2 kB — and far below what would hurt the daemon.
/// A larger answer is an error, not retried.
pub const BODY_LIMIT: usize = 16 * 1024 * 1024;

/// What the connection lets through beyond [`BODY_LIMIT`]: the head and the
/// chunk framing of an answer (hyper refuses heads over 400 kB anyway).
const HEAD_ROOM: usize = 512 * 1024;

/// See [`Connector`].
pub fn https_connector() -> Connector {
    let https = HttpsConnectorBuilder::new()
        .with_webpki_roots()
        .https_or_http()
        .enable_http1()
        .build();
    CappedConnector::new(https, BODY_LIMIT + HEAD_ROOM)
}

/// The [`Connector`] trusting only the CA certificates of the PEM bundle
/// `pem` (a server signed by a private CA) instead of the webpki roots.
/// `Err` says why the bundle cannot be used.
pub fn https_connector_with_roots(pem: &[u8]) -> Result<Connector, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| format!("is not a PEM bundle: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("holds a certificate rustls refuses: {e}"))?;
    }
    if roots.is_empty() {
        return Err("holds no certificate (expected PEM \"BEGIN CERTIFICATE\" blocks)".into());
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot be used for TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let https = HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .build();
    Ok(CappedConnector::new(https, BODY_LIMIT + HEAD_ROOM))
}

/// A client for [`exchange`], on [`https_connector`].
pub fn http_client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build(https_connector())
}

/// A client for [`exchange`] on another [`Connector`] (see
/// [`https_connector_with_roots`]).
pub fn http_client_on(connector: Connector) -> HttpClient {
    Client::builder(TokioExecutor::new()).build(connector)
}

/// An answer read whole.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    /// A 2xx status.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The answer's `Retry-After`, when it has one that can be read.
    pub fn retry_after(&self, now: Timestamp) -> Option<Duration> {
        self.headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, now))
    }
}

/// Why an exchange brought no answer. The messages continue "the server ...".
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// No answer came: the connection could not be made, or broke before
    /// the head of the answer.
    #[error("cannot be reached: {}", with_causes(.0))]
    Connect(#[source] hyper_util::client::legacy::Error),
    /// The body of the answer broke off.
    #[error("answer was cut off: {0}")]
    Body(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The body is longer than the limit; the rest was not read.
    #[error("answer is larger than {}", shown_size(.limit))]
    TooLarge { limit: usize },
}

impl ExchangeError {
    /// The neutral class: a lost connection or answer may pass, an answer
    /// too large will not. `service` names the server ("Google").
    pub fn classify(&self, service: &str) -> ApiError {
        match self {
            ExchangeError::TooLarge { .. } => ApiError::Invalid(format!("{service}'s {self}")),
            ExchangeError::Connect(_) => ApiError::transient(format!("{service} {self}")),
            ExchangeError::Body(_) => ApiError::transient(format!("{service}'s {self}")),
        }
    }
}

/// `e` and its causes, `a: b: c`: hyper says only "client error
/// (Connect)"; the cause (refused, a name not found, a certificate of an
/// unknown issuer) is what the user acts on.
fn with_causes(e: &hyper_util::client::legacy::Error) -> String {
    let mut text = e.to_string();
    let mut next = std::error::Error::source(e);
    while let Some(cause) = next {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        next = cause.source();
    }
    text
}

/// A size as people read it: whole MiB as such, else bytes.
fn shown_size(bytes: &usize) -> String {
    const MIB: usize = 1024 * 1024;
    if *bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// Sends `request` once and reads the whole answer, at most `limit` bytes of
/// body. Whatever the status, an answer that came is `Ok`.
pub async fn exchange(client: &HttpClient, request: Request<String>, limit: usize) -> Result<Answer, ExchangeError> {
    let response = client.request(request).await.map_err(|e| {
        // A head too large for the connection's cap (see `capped`).
        match AnswerTooLarge::find(&e) {
            Some(_) => ExchangeError::TooLarge { limit: BODY_LIMIT },
            None => ExchangeError::Connect(e),
        }
    })?;
    let status = response.status().as_u16();
    let (head, body) = response.into_parts();
    let body = Limited::new(body, limit).collect().await.map_err(|e| {
        if e.downcast_ref::<LengthLimitError>().is_some() {
            ExchangeError::TooLarge { limit }
        } else if AnswerTooLarge::find(e.as_ref()).is_some() {
            // The connection's cap came first: a limit above BODY_LIMIT.
            ExchangeError::TooLarge {
                limit: limit.min(BODY_LIMIT),
            }
        } else {
            ExchangeError::Body(e)
        }
    })?;
    Ok(Answer {
        status,
        headers: head.headers,
        body: body.to_bytes(),
    })
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::routing::get;
    use tokio::io::AsyncWriteExt as _;

    use super::*;

    async fn serve(app: Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        base
    }

    fn get_request(url: &str) -> Request<String> {
        Request::get(url).body(String::new()).unwrap()
    }

    #[tokio::test]
    async fn an_answer_is_read_whole_with_its_status_and_headers() {
        let app = Router::new().route("/ok", get(|| async { "hello" })).route(
            "/slow-down",
            get(|| async { (axum::http::StatusCode::TOO_MANY_REQUESTS, [("retry-after", "5")], "{}") }),
        );
        let base = serve(app).await;
        let client = http_client();
        let ok = exchange(&client, get_request(&format!("{base}/ok")), 1024)
            .await
            .unwrap();
        assert!(ok.is_success());
        assert_eq!(&ok.body[..], b"hello");
        let limited = exchange(&client, get_request(&format!("{base}/slow-down")), 1024)
            .await
            .unwrap();
        assert_eq!(limited.status, 429);
        assert!(!limited.is_success());
        assert_eq!(limited.retry_after(Timestamp::now()), Some(Duration::from_secs(5)));
        let missing = exchange(&client, get_request(&format!("{base}/nothing")), 1024)
            .await
            .unwrap();
        assert_eq!(missing.status, 404, "a refusal is an answer too");
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_not_read_and_is_invalid() {
        let app = Router::new().route("/big", get(|| async { "x".repeat(4096) }));
        let base = serve(app).await;
        let client = http_client();
        let err = exchange(&client, get_request(&format!("{base}/big")), 1000)
            .await
            .unwrap_err();
        assert!(matches!(err, ExchangeError::TooLarge { limit: 1000 }), "{err:?}");
        assert_eq!(
            err.classify("Graph"),
            ApiError::Invalid("Graph's answer is larger than 1000 bytes".into())
        );
        let exact = exchange(&client, get_request(&format!("{base}/big")), 4096)
            .await
            .unwrap();
        assert_eq!(exact.body.len(), 4096, "a body of exactly the limit is read");
    }

    #[tokio::test]
    async fn no_connection_and_a_cut_body_are_transient() {
        let client = http_client();
        // Nothing listens on port 1.
        let err = exchange(&client, get_request("http://127.0.0.1:1/"), 1024)
            .await
            .unwrap_err();
        assert!(matches!(err, ExchangeError::Connect(_)), "{err:?}");
        let class = err.classify("CalDAV server");
        assert!(class.is_retryable(), "{class:?}");
        assert!(
            class.to_string().starts_with("CalDAV server cannot be reached: "),
            "{class}"
        );

        // A server that promises 100 bytes and sends 10.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 1024];
            let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut request).await;
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789")
                .await;
        });
        let err = exchange(&client, get_request(&format!("http://{addr}/")), 1024)
            .await
            .unwrap_err();
        assert!(matches!(err, ExchangeError::Body(_)), "{err:?}");
        let class = err.classify("Graph");
        assert!(class.is_retryable(), "{class:?}");
        assert!(class.to_string().starts_with("Graph's answer was cut off: "), "{class}");
    }
}
