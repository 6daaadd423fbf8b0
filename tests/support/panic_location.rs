//! Where a panic points: shared by the test files that check
//! `#[track_caller]`.

/// Runs `f`, which must panic, and returns the file its panic points at.
pub fn panic_location(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
    use std::sync::{Arc, Mutex};
    // The panic hook is global: one caller at a time, or two tests running
    // at once would restore each other's hooks.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _one = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let seen = Arc::new(Mutex::new(None));
    let previous = Arc::new(std::panic::take_hook());
    let (record, chain) = (Arc::clone(&seen), Arc::clone(&previous));
    let me = std::thread::current().id();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().id() == me {
            *record.lock().unwrap() = info.location().map(|l| l.file().to_owned());
        } else {
            chain(info);
        }
    }));
    let caught = std::panic::catch_unwind(f);
    std::panic::set_hook(Box::new(move |info| previous(info)));
    assert!(caught.is_err(), "did not panic");
    seen.lock().unwrap().take().unwrap()
}
