//! Runtime backends, one per Cargo feature.

#[cfg(any(feature = "async-std", feature = "smol"))]
mod async_io;
#[cfg(feature = "async-std")]
mod async_std;
#[cfg(feature = "smol")]
mod smol;
#[cfg(feature = "tokio")]
mod tokio;

#[cfg(any(feature = "async-std", feature = "smol"))]
pub use self::async_io::AsyncIoSleep;
#[cfg(feature = "async-std")]
pub use self::async_std::AsyncStd;
#[cfg(feature = "smol")]
pub use self::smol::{Smol, SmolExecutor, SmolTask};
#[cfg(feature = "tokio")]
pub use self::tokio::{Tokio, TokioHandle, TokioHandleSleep, TokioSleep};
