//! A pass-through proxy in front of a real CalDAV server, on 127.0.0.1 in a
//! thread of its own (the tests block their own runtime while the binary
//! runs): every request goes to the server unchanged, except PUTs under a
//! path the test refuses, answered `403 Forbidden` as a server whose
//! calendar refuses liaison's write would. The refusal is switched on and
//! off while the proxy runs.
//!
//! It also records every request (method, path, `If-Match`), can refuse
//! every method under a path (`403`, a calendar no longer shared), can drop
//! the ETag of GET answers under a path (a server that sends none), and can
//! play a person who edits a resource between liaison's read and its write:
//! before the next PUT or DELETE of a path reaches the server, the person's
//! PUT of that path is sent first.

use std::sync::{Arc, Mutex};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::response::Response;
use google_calendar3::hyper::Request as HyperRequest;
use liaison::calendar::http::{exchange, http_client};

#[derive(Clone)]
struct Shared {
    upstream: String,
    /// PUTs to paths starting with this are refused.
    refuse: Arc<Mutex<Option<String>>>,
    /// PUTs refused so far.
    refused: Arc<Mutex<u32>>,
    /// Every method under this path is refused (403).
    refuse_all: Arc<Mutex<Option<String>>>,
    /// GET answers under this path lose their ETag.
    strip_etag: Arc<Mutex<Option<String>>>,
    /// `(path, body, authorization)`: sent as a PUT before the next PUT or
    /// DELETE of `path` is forwarded (once).
    interfere: Arc<Mutex<Option<(String, String, String)>>>,
    /// Every request seen: method, path, `If-Match`.
    seen: Arc<Mutex<Vec<Seen>>>,
}

/// One request the proxy saw.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub if_match: Option<String>,
}

/// The running proxy; it stops with the test process.
pub struct Proxy {
    /// `http://127.0.0.1:<port>/`
    pub base: String,
    shared: Shared,
}

impl Proxy {
    /// A proxy to `upstream` (`http://127.0.0.1:<port>/`).
    pub fn start(upstream: &str) -> Proxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("nonblocking");
        let base = format!("http://{}/", listener.local_addr().expect("address"));
        let shared = Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            refuse: Arc::new(Mutex::new(None)),
            refused: Arc::new(Mutex::new(0)),
            refuse_all: Arc::new(Mutex::new(None)),
            strip_etag: Arc::new(Mutex::new(None)),
            interfere: Arc::new(Mutex::new(None)),
            seen: Arc::new(Mutex::new(Vec::new())),
        };
        let state = shared.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                let app = axum::Router::new().fallback(forward).with_state(state);
                axum::serve(listener, app).await.expect("proxy serves");
            });
        });
        Proxy { base, shared }
    }

    /// Refuses PUTs under `path` from now on (`None`: none).
    pub fn refuse_puts_under(&self, path: Option<&str>) {
        *self.shared.refuse.lock().unwrap() = path.map(str::to_string);
    }

    /// PUTs refused so far.
    pub fn refused(&self) -> u32 {
        *self.shared.refused.lock().unwrap()
    }

    /// Refuses every request under `path` from now on (`None`: none).
    pub fn refuse_all_under(&self, path: Option<&str>) {
        *self.shared.refuse_all.lock().unwrap() = path.map(str::to_string);
    }

    /// Drops the ETag of GET answers under `path` (`None`: keeps them).
    pub fn strip_etags_under(&self, path: Option<&str>) {
        *self.shared.strip_etag.lock().unwrap() = path.map(str::to_string);
    }

    /// Before the next PUT or DELETE of `path` is forwarded, `user` (of
    /// the test servers) PUTs `body` there, unconditionally.
    pub fn interfere_before_write(&self, path: &str, user: &str, body: &str) {
        let basic = data_encoding::BASE64.encode(format!("{user}:{}", super::PASSWORD).as_bytes());
        *self.shared.interfere.lock().unwrap() = Some((path.to_string(), body.to_string(), format!("Basic {basic}")));
    }

    /// Whether the person's edit is still to be sent.
    pub fn interference_pending(&self) -> bool {
        self.shared.interfere.lock().unwrap().is_some()
    }

    /// Every request seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }
}

async fn forward(State(shared): State<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    shared.seen.lock().unwrap().push(Seen {
        method: parts.method.to_string(),
        path: path.clone(),
        if_match: parts
            .headers
            .get("if-match")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    });
    let refuse_all = shared.refuse_all.lock().unwrap().clone();
    if refuse_all.is_some_and(|prefix| path.starts_with(&prefix)) {
        return Response::builder()
            .status(403)
            .body(Body::from("no longer shared (the test's proxy)"))
            .unwrap();
    }
    if parts.method == "PUT" || parts.method == "DELETE" {
        let due = {
            let mut interfere = shared.interfere.lock().unwrap();
            match interfere.as_ref() {
                Some((p, _, _)) if *p == path => interfere.take(),
                _ => None,
            }
        };
        if let Some((p, body, authorization)) = due {
            let request = HyperRequest::builder()
                .method("PUT")
                .uri(format!("{}{p}", shared.upstream))
                .header("Authorization", authorization)
                .header("Content-Type", "text/calendar; charset=utf-8")
                .body(body)
                .expect("request");
            let answer = exchange(&http_client(), request, 1 << 24)
                .await
                .expect("the server answers");
            assert!(answer.status < 300, "the person's edit of {p}: {}", answer.status);
        }
    }
    let strip = shared.strip_etag.lock().unwrap().clone();
    let strip = parts.method == "GET" && strip.is_some_and(|prefix| path.starts_with(&prefix));
    let refuse = shared.refuse.lock().unwrap().clone();
    if parts.method == "PUT" && refuse.is_some_and(|prefix| path.starts_with(&prefix)) {
        *shared.refused.lock().unwrap() += 1;
        return Response::builder()
            .status(403)
            .body(Body::from("refused by the test's proxy"))
            .unwrap();
    }
    let body = to_bytes(body, 1 << 24).await.expect("request body");
    let mut builder = HyperRequest::builder()
        .method(parts.method.as_str())
        .uri(format!("{}{path}", shared.upstream));
    for (name, value) in &parts.headers {
        if name != "host" {
            builder = builder.header(name.as_str(), value.as_bytes());
        }
    }
    let request = builder
        .body(String::from_utf8_lossy(&body).into_owned())
        .expect("request");
    let answer = exchange(&http_client(), request, 1 << 24)
        .await
        .expect("the server answers");
    let mut response = Response::builder().status(answer.status);
    for (name, value) in &answer.headers {
        if name != "content-length" && name != "transfer-encoding" && name != "connection" && !(strip && name == "etag")
        {
            response = response.header(name.as_str(), value.as_bytes());
        }
    }
    response.body(Body::from(answer.body.to_vec())).unwrap()
}
