//! [`Addr`]: where a listener is bound and a connection goes: a host (a
//! name, or an IP address written out) and a port.

use core::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// An address on a simulated [`Net`](super::Net): a host and a port.
///
/// The host is a name (`"server"`) or an IP address (`10.0.0.1`, kept as its
/// text), so a test can use names and code that wants a [`SocketAddr`] can
/// use those. Links, partitions and resets are between hosts; listeners and
/// refusals are per address.
///
/// # Examples
///
/// ```
/// use std::net::SocketAddr;
/// use stagger::sim::net::{Addr, ToAddr};
///
/// let named = "server:80".to_addr().unwrap();
/// assert_eq!((named.host(), named.port()), ("server", 80));
/// let ip: SocketAddr = "10.0.0.1:443".parse().unwrap();
/// assert_eq!(ip.to_addr().unwrap().to_string(), "10.0.0.1:443");
/// assert!("no port".to_addr().is_err());
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Addr {
    host: Arc<str>,
    port: u16,
}

impl Addr {
    /// The address `port` on `host`.
    pub fn new(host: impl fmt::Display, port: u16) -> Self {
        Addr {
            host: host.to_string().into(),
            port,
        }
    }

    /// The host: a name, or an IP address as text.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    pub(super) fn host_arc(&self) -> &Arc<str> {
        &self.host
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Debug for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl From<SocketAddr> for Addr {
    fn from(addr: SocketAddr) -> Self {
        Addr::new(addr.ip(), addr.port())
    }
}

/// What names an [`Addr`]: an `Addr`, a [`SocketAddr`], `(host, port)`, or
/// text (`"server:80"`, `"10.0.0.1:80"`, `"[::1]:80"`).
pub trait ToAddr {
    /// The address.
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](io::ErrorKind::InvalidInput) for text without a
    /// host, or without a port that fits a `u16`.
    fn to_addr(&self) -> io::Result<Addr>;
}

impl ToAddr for Addr {
    fn to_addr(&self) -> io::Result<Addr> {
        Ok(self.clone())
    }
}

impl ToAddr for SocketAddr {
    fn to_addr(&self) -> io::Result<Addr> {
        Ok(Addr::from(*self))
    }
}

impl ToAddr for (IpAddr, u16) {
    fn to_addr(&self) -> io::Result<Addr> {
        Ok(Addr::new(self.0, self.1))
    }
}

impl ToAddr for (&str, u16) {
    fn to_addr(&self) -> io::Result<Addr> {
        match self.0.is_empty() {
            true => Err(invalid(&format!("{}:{}", self.0, self.1))),
            false => Ok(Addr::new(self.0, self.1)),
        }
    }
}

impl ToAddr for str {
    fn to_addr(&self) -> io::Result<Addr> {
        if let Ok(addr) = self.parse::<SocketAddr>() {
            return Ok(addr.into());
        }
        match self.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && !host.contains(':') => {
                let port = port.parse().map_err(|_| invalid(self))?;
                Ok(Addr::new(host, port))
            }
            _ => Err(invalid(self)),
        }
    }
}

impl ToAddr for String {
    fn to_addr(&self) -> io::Result<Addr> {
        self.as_str().to_addr()
    }
}

impl<T: ToAddr + ?Sized> ToAddr for &T {
    fn to_addr(&self) -> io::Result<Addr> {
        (**self).to_addr()
    }
}

fn invalid(text: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{text:?} is not an address: give host:port, with a port from 0 to 65535"),
    )
}
