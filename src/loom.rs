//! The synchronisation types of the concurrency core ([`task`](crate::task)
//! and [`group`](crate::group)): std's, or under `--cfg loom` loom's, whose
//! model checker then explores every interleaving of the models in
//! `src/loom_models/` (tokio's way: `tokio/src/loom/`). The core names its
//! `Arc`, `Mutex`, atomics and thread-locals only through this module.
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test --release --lib --target-dir target/loom loom
//! ```

#[cfg(not(loom))]
pub(crate) use std::{sync, thread_local};

#[cfg(loom)]
pub(crate) use loom::sync;

/// loom's `thread_local!` (a value per loom thread), taking std's
/// `const { … }` initialiser, which loom's does not parse.
#[cfg(loom)]
macro_rules! loom_thread_local {
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = const { $init:expr };) => {
        ::loom::thread_local!($(#[$attr])* $vis static $name: $t = $init);
    };
}

#[cfg(loom)]
pub(crate) use loom_thread_local as thread_local;
