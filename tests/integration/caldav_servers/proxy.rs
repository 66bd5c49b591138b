//! A pass-through proxy in front of a real CalDAV server, on 127.0.0.1 in a
//! thread of its own (the tests block their own runtime while the binary
//! runs): every request goes to the server unchanged, except PUTs under a
//! path the test refuses, answered `403 Forbidden` as a server whose
//! calendar refuses liaison's write would. The refusal is switched on and
//! off while the proxy runs.

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
}

async fn forward(State(shared): State<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
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
        if name != "content-length" && name != "transfer-encoding" && name != "connection" {
            response = response.header(name.as_str(), value.as_bytes());
        }
    }
    response.body(Body::from(answer.body.to_vec())).unwrap()
}
