//! The float-seconds conversion over the exercise's awkward inputs.

use std::time::Duration;

use stagger::{Reason, try_from_secs_f64};

#[test]
fn conversion_table() {
    let table: [(f64, Result<Duration, Reason>); 10] = [
        (-1.0, Err(Reason::Negative)),
        (-0.0, Ok(Duration::ZERO)),
        (0.0, Ok(Duration::ZERO)),
        (f64::NAN, Err(Reason::NotANumber)),
        (f64::INFINITY, Err(Reason::Infinite)),
        (f64::NEG_INFINITY, Err(Reason::Infinite)),
        (f64::MAX, Err(Reason::TooLarge)),
        (2f64.powi(64), Err(Reason::TooLarge)),
        (1e-300, Ok(Duration::ZERO)),
        (1e-9, Ok(Duration::from_nanos(1))),
    ];
    for (secs, want) in table {
        let got = try_from_secs_f64(secs);
        match (got, want) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{secs}"),
            (Err(err), Err(reason)) => {
                assert_eq!(err.reason(), reason, "{secs}");
                assert!(err.value().is_nan() || err.value() == secs);
                // The message names the value, as written.
                let written = format!("{secs:e}").replace("e0", "");
                let message = err.to_string();
                assert!(
                    message.contains(&secs.to_string()) || message.contains(&written),
                    "{message}"
                );
            }
            (got, want) => panic!("{secs}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn ordinary_values() {
    assert_eq!(try_from_secs_f64(10.0), Ok(stagger::DEFAULT_MAX_DELAY));
    assert_eq!(try_from_secs_f64(0.5), Ok(Duration::from_millis(500)));
    // The largest float below 2^64 still fits.
    let below = 18_446_744_073_709_549_568.0;
    assert_eq!(
        try_from_secs_f64(below).map(|d| d.as_secs()),
        Ok(below as u64)
    );
}

#[test]
fn messages() {
    let msg = |secs: f64| try_from_secs_f64(secs).unwrap_err().to_string();
    assert_eq!(msg(-1.0), "invalid delay of -1 seconds: negative");
    assert_eq!(msg(f64::NAN), "invalid delay of NaN seconds: not a number");
    assert_eq!(msg(f64::INFINITY), "invalid delay of inf seconds: infinite");
    assert_eq!(
        msg(1e20),
        "invalid delay of 1e20 seconds: larger than the longest Duration"
    );
    // As the user wrote it, not a 301-digit expansion.
    assert_eq!(
        msg(1e300),
        "invalid delay of 1e300 seconds: larger than the longest Duration"
    );
    assert_eq!(msg(-2.5e-9), "invalid delay of -2.5e-9 seconds: negative");
    assert_eq!(msg(-0.25), "invalid delay of -0.25 seconds: negative");
}
