//! The size limit of every answer, enforced on the connection itself.
//!
//! google-calendar3's hub and yup-oauth2 read answers whole with no limit of
//! their own, and neither lets a caller wrap the body: the one place every
//! byte passes is the connection their hyper client reads from. So
//! [`CappedConnector`] wraps the connector of every client, and each
//! connection ([`CappedIo`]) counts the bytes of the answer being read (head,
//! framing and body, decrypted): past the limit the read fails with
//! [`AnswerTooLarge`], hyper drops the connection, and at most the limit and
//! one read buffer were held, whether or not the server sent a
//! `Content-Length`.
//!
//! Answers are told apart by the direction of traffic: on an HTTP/1.1
//! connection (the only version the connector offers) the client writes a
//! request only once the previous answer was read to its end, so the first
//! write after a read starts the next exchange and resets the count.
//!
//! A client that reads bodies itself (the hub) throws the read error away and
//! sees an empty body; [`CutAnswers`] counts the answers cut, so that its
//! caller can say why (see `calendar::google::client`).

use std::future::Future;
use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};

use google_calendar3::hyper::Uri;
use google_calendar3::hyper::rt::{Read, ReadBuf, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::{Connected, Connection};

/// The largest read handed on at once (hyper's own buffer is at most this
/// big in practice; a smaller request is honoured).
const SCRATCH: usize = 64 * 1024;

/// The error of a read past the limit (inside an `io::Error`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the answer is larger than {limit} bytes")]
pub struct AnswerTooLarge {
    pub limit: usize,
}

impl AnswerTooLarge {
    /// Finds one in an error's chain (an `io::Error` hides its own payload
    /// from `source()`, so each one is opened).
    pub fn find(error: &(dyn std::error::Error + 'static)) -> Option<AnswerTooLarge> {
        let mut next = Some(error);
        while let Some(e) = next {
            if let Some(found) = e.downcast_ref::<AnswerTooLarge>() {
                return Some(*found);
            }
            if let Some(found) = e
                .downcast_ref::<io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<AnswerTooLarge>())
            {
                return Some(*found);
            }
            next = e.source();
        }
        None
    }
}

/// How many answers the connections of one connector have cut for their size.
#[derive(Clone, Debug, Default)]
pub struct CutAnswers(Arc<AtomicU64>);

impl CutAnswers {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    fn add_one(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// A connector whose connections fail a read past `limit` bytes of one answer.
#[derive(Clone, Debug)]
pub struct CappedConnector<C> {
    inner: C,
    limit: usize,
    cut: CutAnswers,
}

impl<C> CappedConnector<C> {
    pub fn new(inner: C, limit: usize) -> CappedConnector<C> {
        CappedConnector {
            inner,
            limit,
            cut: CutAnswers::default(),
        }
    }

    /// The limit, in bytes of one answer (head, framing and body).
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The count of answers this connector's connections cut (shared by clones).
    pub fn cut_answers(&self) -> CutAnswers {
        self.cut.clone()
    }
}

type ConnectFuture<T, E> = Pin<Box<dyn Future<Output = Result<CappedIo<T>, E>> + Send>>;

impl<C> tower_service::Service<Uri> for CappedConnector<C>
where
    C: tower_service::Service<Uri>,
    C::Future: Send + 'static,
    C::Response: Send + 'static,
{
    type Response = CappedIo<C::Response>;
    type Error = C::Error;
    type Future = ConnectFuture<C::Response, C::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connecting = self.inner.call(uri);
        let (limit, cut) = (self.limit, self.cut.clone());
        Box::pin(async move { Ok(CappedIo::new(connecting.await?, limit, cut)) })
    }
}

/// One connection of a [`CappedConnector`].
pub struct CappedIo<T> {
    inner: T,
    limit: usize,
    cut: CutAnswers,
    /// Bytes of the answer being read.
    read: usize,
    /// Something was read since the last write: the next write starts a new exchange.
    reading: bool,
    scratch: Box<[MaybeUninit<u8>]>,
}

impl<T> CappedIo<T> {
    fn new(inner: T, limit: usize, cut: CutAnswers) -> CappedIo<T> {
        CappedIo {
            inner,
            limit,
            cut,
            read: 0,
            reading: false,
            scratch: vec![MaybeUninit::uninit(); SCRATCH].into_boxed_slice(),
        }
    }

    fn writing(&mut self) {
        if self.reading {
            self.reading = false;
            self.read = 0;
        }
    }
}

impl<T: Read + Unpin> Read for CappedIo<T> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, mut buf: ReadBufCursor<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.read > this.limit {
            return Poll::Ready(Err(io::Error::other(AnswerTooLarge { limit: this.limit })));
        }
        // Read into our own buffer to learn how much came (a cursor handed
        // on cannot tell), then pass it on.
        let want = buf.remaining().min(this.scratch.len());
        let mut scratch = ReadBuf::uninit(&mut this.scratch[..want]);
        ready!(Pin::new(&mut this.inner).poll_read(cx, scratch.unfilled()))?;
        let got = scratch.filled();
        this.reading = true;
        this.read = this.read.saturating_add(got.len());
        if this.read > this.limit {
            this.cut.add_one();
            tracing::debug!(limit = this.limit, "an answer larger than the limit was cut off");
            return Poll::Ready(Err(io::Error::other(AnswerTooLarge { limit: this.limit })));
        }
        buf.put_slice(got);
        Poll::Ready(Ok(()))
    }
}

impl<T: Write + Unpin> Write for CappedIo<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.writing();
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.writing();
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

impl<T: Connection> Connection for CappedIo<T> {
    fn connected(&self) -> Connected {
        self.inner.connected()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use http_body_util::BodyExt as _;
    use hyper_util::client::legacy::Client;
    use hyper_util::client::legacy::connect::HttpConnector;
    use hyper_util::rt::TokioExecutor;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    /// A server on 127.0.0.1 that answers every request on a connection, in
    /// turn, with the next of `answers` (raw HTTP), keeping the connection
    /// open; answers the number of connections it accepted.
    async fn raw_server(answers: Vec<Vec<u8>>) -> (String, Arc<AtomicU64>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicU64::new(0));
        let counted = accepted.clone();
        tokio::spawn(async move {
            let mut answers = answers.into_iter();
            while let Ok((mut socket, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::Relaxed);
                let mut request = Vec::new();
                loop {
                    let mut chunk = [0u8; 4096];
                    let Ok(n) = socket.read(&mut chunk).await else { break };
                    if n == 0 {
                        break;
                    }
                    request.extend_from_slice(&chunk[..n]);
                    if !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        continue;
                    }
                    request.clear();
                    let Some(answer) = answers.next() else { return };
                    if socket.write_all(&answer).await.is_err() {
                        break;
                    }
                }
            }
        });
        (base, accepted)
    }

    /// A chunked answer (no Content-Length) of `size` bytes of body, in
    /// chunks of 1,000.
    fn chunked(size: usize) -> Vec<u8> {
        let mut out = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
        let mut left = size;
        while left > 0 {
            let n = left.min(1000);
            out.extend_from_slice(format!("{n:x}\r\n").as_bytes());
            out.extend(std::iter::repeat_n(b'x', n));
            out.extend_from_slice(b"\r\n");
            left -= n;
        }
        out.extend_from_slice(b"0\r\n\r\n");
        out
    }

    type TestClient = Client<CappedConnector<HttpConnector>, String>;

    async fn get(client: &TestClient, url: &str) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
        let response = client.get(url.parse()?).await?;
        Ok(response.into_body().collect().await?.to_bytes().to_vec())
    }

    #[tokio::test]
    async fn a_streamed_answer_past_the_limit_fails_and_each_answer_has_its_own_count() {
        // Three answers of 6,000 body bytes each on one kept-alive
        // connection, then one of 12,000: the count starts again with each
        // request, so only the last one is over 10,000 bytes.
        let answers = vec![chunked(6000), chunked(6000), chunked(6000), chunked(12_000)];
        let (base, accepted) = raw_server(answers).await;
        let connector = CappedConnector::new(HttpConnector::new(), 10_000);
        let cut = connector.cut_answers();
        let client: TestClient = Client::builder(TokioExecutor::new()).build(connector);
        for _ in 0..3 {
            let body = get(&client, &format!("{base}/small")).await.unwrap();
            assert_eq!(body.len(), 6000);
        }
        assert_eq!(accepted.load(Ordering::Relaxed), 1, "one connection, reused");
        assert_eq!(cut.get(), 0);
        let err = tokio::time::timeout(Duration::from_secs(10), get(&client, &format!("{base}/big")))
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(
            AnswerTooLarge::find(err.as_ref()),
            Some(AnswerTooLarge { limit: 10_000 }),
            "{err:?}"
        );
        assert_eq!(cut.get(), 1);
    }

    #[tokio::test]
    async fn an_answer_without_length_or_chunks_is_cut_too() {
        // Delimited by the end of the connection only: the server would go
        // on for 1 MiB.
        let mut answer = b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n".to_vec();
        answer.extend(std::iter::repeat_n(b'y', 1 << 20));
        let (base, _) = raw_server(vec![answer]).await;
        let connector = CappedConnector::new(HttpConnector::new(), 50_000);
        let cut = connector.cut_answers();
        let client: TestClient = Client::builder(TokioExecutor::new()).build(connector);
        let err = get(&client, &format!("{base}/")).await.unwrap_err();
        assert!(AnswerTooLarge::find(err.as_ref()).is_some(), "{err:?}");
        assert_eq!(cut.get(), 1);
    }

    #[test]
    fn the_limit_is_found_inside_io_and_wrapping_errors() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] io::Error);
        let io = io::Error::other(AnswerTooLarge { limit: 7 });
        let outer = Outer(io);
        assert_eq!(AnswerTooLarge::find(&outer), Some(AnswerTooLarge { limit: 7 }));
        let unrelated = io::Error::other("reset");
        assert_eq!(AnswerTooLarge::find(&unrelated), None);
    }
}
