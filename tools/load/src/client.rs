//! The HTTP side: hyper's client connections with a pool of its own
//! (HTTP/1 keep-alive: an idle connection is reused, a new one opened when
//! none is idle; HTTP/2 with prior knowledge: one connection, its streams
//! shared), one request per tick, and errors sorted by kind.
//!
//! hyper-util's pooled client works too (the first version of this tool
//! used it), but its pool keys, boxes and checks cost CPU per request that
//! a tool loading one host does not need.

use std::fmt;
use std::time::Duration;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::{http1, http2};
use hyper::{Request, Uri};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

use crate::args::Args;

/// How one request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A response, read to its end, with this status.
    Response(u16),
    /// No response.
    Failed(ErrorKind),
}

/// Why a request got no response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    /// The connection was refused (nothing listens there).
    Refused,
    /// Connecting failed otherwise (no route, DNS, timeout while connecting).
    Connect,
    /// The server reset the connection.
    Reset,
    /// The server closed the connection before answering in full.
    Closed,
    /// No answer within `--timeout`.
    Timeout,
    /// Anything else hyper reported.
    Other,
}

impl ErrorKind {
    /// Its name in the report (and the JSON's key).
    pub fn key(self) -> &'static str {
        match self {
            ErrorKind::Refused => "connection refused",
            ErrorKind::Connect => "connect",
            ErrorKind::Reset => "connection reset",
            ErrorKind::Closed => "connection closed",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Other => "other",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::Refused => "connection refused",
            ErrorKind::Connect => "could not connect",
            ErrorKind::Reset => "connection reset by the server",
            ErrorKind::Closed => "connection closed before the response",
            ErrorKind::Timeout => "no response within --timeout",
            ErrorKind::Other => "other error",
        })
    }
}

/// Sorts an error by what went wrong, looking through its chain of
/// sources: the first I/O error decides; else hyper's own kinds.
fn classify(error: &(dyn std::error::Error + 'static)) -> ErrorKind {
    let mut source = Some(error);
    let mut kind = ErrorKind::Other;
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as Io;
            return match io.kind() {
                Io::ConnectionRefused => ErrorKind::Refused,
                Io::ConnectionReset | Io::ConnectionAborted | Io::BrokenPipe => ErrorKind::Reset,
                Io::TimedOut => ErrorKind::Timeout,
                Io::UnexpectedEof => ErrorKind::Closed,
                _ if kind == ErrorKind::Other => ErrorKind::Connect,
                _ => kind,
            };
        }
        if let Some(h) = e.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() || h.is_canceled() || h.is_closed() {
                kind = ErrorKind::Closed;
            } else if h.is_timeout() {
                kind = ErrorKind::Timeout;
            }
        }
        source = e.source();
    }
    kind
}

/// The client and the request every tick sends.
#[derive(Clone)]
pub struct Target(Arc<Shared>);

struct Shared {
    addr: SocketAddr,
    http2: bool,
    /// Idle HTTP/1 connections, the last used on top.
    idle: Mutex<Vec<http1::SendRequest<Full<Bytes>>>>,
    /// The HTTP/2 connection, once open.
    h2: tokio::sync::Mutex<Option<http2::SendRequest<Full<Bytes>>>>,
    /// The request's target: origin form for HTTP/1 (with a Host header),
    /// absolute for HTTP/2.
    uri: Uri,
    method: hyper::Method,
    headers: hyper::HeaderMap,
    body: Bytes,
    timeout: Duration,
}

impl Target {
    /// Checks the URL, resolves its host and sets up the request: a clear
    /// message for a URL it cannot load.
    pub async fn new(args: &Args) -> Result<Target, String> {
        let uri: Uri = args
            .url
            .parse()
            .map_err(|e| format!("`{}` is not a URL: {e}", args.url))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(format!("`{}`: https is not supported, only http", args.url));
            }
            Some(other) => {
                return Err(format!(
                    "`{}`: the scheme `{other}` is not supported, only http",
                    args.url
                ));
            }
            None => return Err(format!("`{}` is not a URL: it needs `http://`", args.url)),
        }
        let Some(host) = uri.host().filter(|h| !h.is_empty()) else {
            return Err(format!("`{}` is not a URL: it names no host", args.url));
        };
        let port = uri.port_u16().unwrap_or(80);
        // A bracketed IPv6 literal resolves without its brackets.
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let addr = tokio::net::lookup_host((bare, port))
            .await
            .ok()
            .and_then(|mut addrs| addrs.next())
            .ok_or_else(|| format!("cannot load {}: cannot resolve `{host}`", args.url))?;
        let mut headers = hyper::HeaderMap::new();
        let authority = uri.authority().expect("a host means an authority").clone();
        if !args.http2 {
            let host = hyper::header::HeaderValue::from_str(authority.as_str())
                .map_err(|_| format!("`{}`: the host is not valid in a header", args.url))?;
            headers.insert(hyper::header::HOST, host);
        }
        for (name, value) in &args.headers {
            headers.append(name.clone(), value.clone());
        }
        let uri = if args.http2 {
            uri
        } else {
            let path = uri.path_and_query().map_or("/", |p| p.as_str());
            Uri::builder()
                .path_and_query(path)
                .build()
                .map_err(|e| format!("`{}` is not a URL: {e}", args.url))?
        };
        Ok(Target(Arc::new(Shared {
            addr,
            http2: args.http2,
            idle: Mutex::new(Vec::new()),
            h2: tokio::sync::Mutex::new(None),
            uri,
            method: args.method.clone(),
            headers,
            body: Bytes::from(args.body.clone().unwrap_or_default()),
            timeout: args.timeout,
        })))
    }

    /// Opens `n` HTTP/1 connections, at most 256 at a time, and leaves
    /// them idle in the pool.
    pub async fn warm(&self, n: usize) -> Result<(), ErrorKind> {
        let mut opened = 0;
        while opened < n {
            let batch = (n - opened).min(256);
            let connections = (0..batch).map(|_| self.0.open_h1());
            for sender in futures::future::join_all(connections).await {
                self.0
                    .idle
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(sender?);
            }
            opened += batch;
        }
        Ok(())
    }

    /// One request, its response read to the end.
    pub fn send(&self) -> impl Future<Output = Outcome> + Send + use<> {
        let shared = self.0.clone();
        async move {
            match tokio::time::timeout(shared.timeout, shared.exchange()).await {
                Ok(Ok(status)) => Outcome::Response(status),
                Ok(Err(kind)) => Outcome::Failed(kind),
                Err(_) => Outcome::Failed(ErrorKind::Timeout),
            }
        }
    }
}

impl Shared {
    fn request(&self) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(self.body.clone()));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        request
    }

    async fn exchange(&self) -> Result<u16, ErrorKind> {
        if self.http2 {
            let mut sender = self.h2().await?;
            let response = sender
                .send_request(self.request())
                .await
                .map_err(|e| classify(&e))?;
            read(response).await
        } else {
            let mut sender = self.h1().await?;
            let response = sender
                .send_request(self.request())
                .await
                .map_err(|e| classify(&e))?;
            let status = read(response).await?;
            // Read to its end: the connection is free for the next request.
            self.idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(sender);
            Ok(status)
        }
    }

    async fn connect(&self) -> Result<TokioIo<TcpStream>, ErrorKind> {
        let stream = TcpStream::connect(self.addr)
            .await
            .map_err(|e| classify(&e))?;
        let _ = stream.set_nodelay(true);
        // Closed with a reset, not a FIN: the thousands of connections a
        // stall opens would otherwise sit in TIME_WAIT for a minute after
        // the run, holding their ports, and the next run would run out of
        // them (connect errors). A zero linger never blocks, the reason
        // for the deprecation.
        #[allow(deprecated)]
        let _ = stream.set_linger(Some(Duration::ZERO));
        Ok(TokioIo::new(stream))
    }

    /// An idle HTTP/1 connection, or a new one.
    async fn h1(&self) -> Result<http1::SendRequest<Full<Bytes>>, ErrorKind> {
        loop {
            let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let Some(mut sender) = idle else { break };
            // Ready at once unless the server closed it meanwhile.
            if sender.ready().await.is_ok() {
                return Ok(sender);
            }
        }
        self.open_h1().await
    }

    /// A new HTTP/1 connection.
    async fn open_h1(&self) -> Result<http1::SendRequest<Full<Bytes>>, ErrorKind> {
        let io = self.connect().await?;
        let (sender, connection) = http1::handshake(io).await.map_err(|e| classify(&e))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }

    /// The HTTP/2 connection, opened on first use and again if it closed.
    async fn h2(&self) -> Result<http2::SendRequest<Full<Bytes>>, ErrorKind> {
        let mut slot = self.h2.lock().await;
        if let Some(sender) = slot.as_ref().filter(|s| !s.is_closed()) {
            return Ok(sender.clone());
        }
        let io = self.connect().await?;
        let (sender, connection) = http2::handshake(TokioExecutor::new(), io)
            .await
            .map_err(|e| classify(&e))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        *slot = Some(sender.clone());
        Ok(sender)
    }
}

/// The response's status, its body read to the end.
async fn read(response: hyper::Response<hyper::body::Incoming>) -> Result<u16, ErrorKind> {
    let status = response.status().as_u16();
    response
        .into_body()
        .collect()
        .await
        .map_err(|e| classify(&e))?;
    Ok(status)
}
