//! Fallible conversion from float seconds, the exercise's unit.

use core::fmt;
use core::time::Duration;

/// Converts float seconds, as the Python exercise takes them, to a
/// [`Duration`], rejecting values no delay can have.
///
/// Negative zero is zero. Values below one nanosecond round to the nearest
/// nanosecond, as [`Duration::try_from_secs_f64`] does.
///
/// # Errors
///
/// Returns a [`SecsError`] naming the value if it is NaN, infinite, negative,
/// or larger than [`Duration::MAX`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// assert_eq!(stagger::try_from_secs_f64(0.25), Ok(Duration::from_millis(250)));
///
/// let err = stagger::try_from_secs_f64(-1.0).unwrap_err();
/// assert_eq!(err.to_string(), "invalid delay of -1 seconds: negative");
/// ```
pub fn try_from_secs_f64(secs: f64) -> Result<Duration, SecsError> {
    let reason = if secs.is_nan() {
        Reason::NotANumber
    } else if secs.is_infinite() {
        Reason::Infinite
    } else if secs < 0.0 {
        Reason::Negative
    } else {
        return Duration::try_from_secs_f64(secs).map_err(|_| SecsError {
            value: secs,
            reason: Reason::TooLarge,
        });
    };
    Err(SecsError {
        value: secs,
        reason,
    })
}

/// A float number of seconds that is not a valid delay.
///
/// Returned by [`try_from_secs_f64`].
///
/// # Examples
///
/// ```
/// use stagger::Reason;
///
/// let err = stagger::try_from_secs_f64(1e300).unwrap_err();
/// assert_eq!(err.value(), 1e300);
/// assert_eq!(err.reason(), Reason::TooLarge);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SecsError {
    value: f64,
    reason: Reason,
}

/// Why a float was rejected by [`try_from_secs_f64`].
///
/// # Examples
///
/// ```
/// use stagger::Reason;
///
/// let reason = stagger::try_from_secs_f64(f64::NAN).unwrap_err().reason();
/// assert_eq!(reason, Reason::NotANumber);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// The value is NaN.
    NotANumber,
    /// The value is positive or negative infinity.
    Infinite,
    /// The value is below zero.
    Negative,
    /// The value exceeds [`Duration::MAX`].
    TooLarge,
}

impl SecsError {
    /// The rejected value.
    pub fn value(&self) -> f64 {
        self.value
    }

    /// Why it was rejected.
    pub fn reason(&self) -> Reason {
        self.reason
    }
}

impl fmt::Display for SecsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match self.reason {
            Reason::NotANumber => "not a number",
            Reason::Infinite => "infinite",
            Reason::Negative => "negative",
            Reason::TooLarge => "larger than the longest Duration",
        };
        write!(f, "invalid delay of {} seconds: {why}", Float(self.value))
    }
}

/// Displays a float the short way a person writes it: `0.25`, `-1`, `3e9`,
/// `1e300`, `2.5e-9`; never a 300-digit expansion.
pub(crate) struct Float(pub(crate) f64);

impl fmt::Display for Float {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plain = self.0.to_string();
        let exponent = format!("{:e}", self.0);
        // The shorter of the two, plain on a tie (`100`, not `1e2`).
        if exponent.len() < plain.len() {
            f.write_str(&exponent)
        } else {
            f.write_str(&plain)
        }
    }
}

impl std::error::Error for SecsError {}
