//! The HTTP side: hyper-util's pooled client (HTTP/1 keep-alive, or HTTP/2
//! with prior knowledge), one request per tick, and errors sorted by kind.

use std::error::Error as _;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

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

/// Sorts an error from hyper-util's client by what went wrong, looking
/// through its chain of sources.
fn classify(error: &hyper_util::client::legacy::Error) -> ErrorKind {
    let mut source: Option<&(dyn std::error::Error + 'static)> = error.source();
    let mut kind = if error.is_connect() {
        ErrorKind::Connect
    } else {
        ErrorKind::Other
    };
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as Io;
            return match io.kind() {
                Io::ConnectionRefused => ErrorKind::Refused,
                Io::ConnectionReset | Io::ConnectionAborted | Io::BrokenPipe => ErrorKind::Reset,
                Io::TimedOut => ErrorKind::Timeout,
                Io::UnexpectedEof => ErrorKind::Closed,
                _ => kind,
            };
        }
        if let Some(h) = e.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() || h.is_canceled() {
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
pub struct Target {
    client: Client<HttpConnector, Full<Bytes>>,
    uri: Uri,
    method: hyper::Method,
    headers: hyper::HeaderMap,
    body: Bytes,
    timeout: Duration,
}

impl Target {
    /// Checks the URL and builds the client: a clear message for a URL it
    /// cannot load.
    pub fn new(args: &Args) -> Result<Target, String> {
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
        if uri.host().is_none_or(str::is_empty) {
            return Err(format!("`{}` is not a URL: it names no host", args.url));
        }
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .pool_max_idle_per_host(usize::MAX)
            .http2_only(args.http2)
            .build(connector);
        let mut headers = hyper::HeaderMap::new();
        for (name, value) in &args.headers {
            headers.append(name.clone(), value.clone());
        }
        Ok(Target {
            client,
            uri,
            method: args.method.clone(),
            headers,
            body: Bytes::from(args.body.clone().unwrap_or_default()),
            timeout: args.timeout,
        })
    }

    /// One request, its response read to the end.
    pub fn send(&self) -> impl Future<Output = Outcome> + Send + use<> {
        let mut request = Request::new(Full::new(self.body.clone()));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        let response = self.client.request(request);
        let timeout = self.timeout;
        async move {
            let exchange = async {
                let response = response.await.map_err(|e| classify(&e))?;
                let status = response.status().as_u16();
                response.into_body().collect().await.map_err(|e| {
                    if e.is_timeout() {
                        ErrorKind::Timeout
                    } else {
                        ErrorKind::Closed
                    }
                })?;
                Ok(status)
            };
            match tokio::time::timeout(timeout, exchange).await {
                Ok(Ok(status)) => Outcome::Response(status),
                Ok(Err(kind)) => Outcome::Failed(kind),
                Err(_) => Outcome::Failed(ErrorKind::Timeout),
            }
        }
    }
}
