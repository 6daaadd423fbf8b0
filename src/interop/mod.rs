//! Adapters that let other crates' timer traits run on any stagger
//! [`Sleeper`](crate::Sleeper): Sim's virtual clock included, so that code
//! built on those crates can be tested in virtual time.
//!
//! Each is behind its own feature:
//!
//! - `backon`: [`BackonSleeper`], a [`backon::Sleeper`](::backon::Sleeper).
//! - `hyper`: [`HyperTimer`], a [`hyper::rt::Timer`](::hyper::rt::Timer), and
//!   [`HyperExecutor`], a [`hyper::rt::Executor`](::hyper::rt::Executor) over
//!   any stagger [`Spawn`](crate::Spawn).
//!
//! An adapter only translates: it holds the sleeper (or spawner) and
//! forwards each call.

#[cfg(feature = "backon")]
mod backon;
#[cfg(feature = "hyper")]
mod hyper;
#[cfg(feature = "hyper")]
mod hyper_executor;

#[cfg(feature = "backon")]
pub use self::backon::BackonSleeper;
#[cfg(feature = "hyper")]
pub use self::hyper::HyperTimer;
#[cfg(feature = "hyper")]
pub use self::hyper_executor::HyperExecutor;
