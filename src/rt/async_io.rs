//! The timer shared by the async-std and smol backends: async-io's `Timer`.
//!
//! async-std's own timers are async-io's, so both backends sleep on the same
//! reactor and read `std::time::Instant`.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use async_io::Timer;

/// Future returned by the [`Sleeper`](crate::Sleeper) methods of
/// [`AsyncStd`](crate::rt::AsyncStd), [`Smol`](crate::rt::Smol) and
/// [`SmolExecutor`](crate::rt::SmolExecutor).
///
/// A deadline that does not fit in an `Instant` never fires.
///
/// # Examples
///
/// ```
/// use stagger::prelude::*;
/// use stagger::rt::AsyncIoSleep;
///
/// # #[cfg(feature = "smol")]
/// # let rt = stagger::rt::Smol;
/// # #[cfg(not(feature = "smol"))]
/// let rt = stagger::rt::AsyncStd; // or stagger::rt::Smol
/// let sleep: AsyncIoSleep = rt.sleep(Duration::from_millis(1));
/// rt.block_on(sleep);
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct AsyncIoSleep(Timer);

impl Future for AsyncIoSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(drop)
    }
}

/// Implements `Sleeper` over async-io's `Timer` for each named backend.
macro_rules! async_io_sleeper {
    ($($backend:ty),* $(,)?) => {$(
        impl $crate::Sleeper for $backend {
            type Sleep = AsyncIoSleep;

            fn sleep(&self, dur: core::time::Duration) -> AsyncIoSleep {
                AsyncIoSleep(Timer::after(dur))
            }

            fn sleep_until(&self, deadline: std::time::Instant) -> AsyncIoSleep {
                AsyncIoSleep(Timer::at(deadline))
            }

            fn now(&self) -> std::time::Instant {
                std::time::Instant::now()
            }
        }
    )*};
}

#[cfg(feature = "async-std")]
async_io_sleeper!(super::AsyncStd);
#[cfg(feature = "smol")]
async_io_sleeper!(super::Smol, super::SmolExecutor);
