//! [`Rate`]: how often, checked once, exact thereafter.

use core::fmt;
use core::time::Duration;

use crate::secs::Float;

/// Attoseconds per nanosecond.
const AS_PER_NS: u128 = 1_000_000_000;
/// Attoseconds per second.
const AS_PER_SEC: f64 = 1e18;

/// A rate of events: so many per second, or one every period.
///
/// The period is kept in attoseconds, so [`constant`](super::constant)'s
/// offsets, computed from their index and rounded to the nearest
/// nanosecond, are exact for any period a [`Duration`] can express, and
/// drift by at most a nanosecond per 10⁹ periods for a rate given per second
/// whose period is not a whole number of attoseconds (3 per second, say).
///
/// # Examples
///
/// ```
/// use stagger::schedule::Rate;
/// use std::time::Duration;
///
/// let rate = Rate::per_sec(1000.0)?;
/// assert_eq!(rate.period(), Duration::from_millis(1));
/// assert_eq!(Rate::every(Duration::from_millis(1))?, rate);
/// assert!(Rate::per_sec(0.0).is_err());
/// # Ok::<(), stagger::schedule::RateError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rate {
    /// The period in attoseconds: at least half a nanosecond (rates up to
    /// 2·10⁹ per second), kept as given: a period under a nanosecond is
    /// not rounded up to one, which would run another rate than the one
    /// asked for.
    period: u128,
}

impl Rate {
    /// `per_sec` events per second, read as the float's exact binary value
    /// (`0.1` is a hair over a tenth: use [`Rate::every`] for exact decimal
    /// periods).
    ///
    /// # Errors
    ///
    /// Returns a [`RateError`] naming the value if it is NaN, infinite, zero
    /// or negative, so high that its period rounds to 0 ns (above 2·10⁹ per
    /// second), or so low that its period is longer than [`Duration::MAX`].
    pub fn per_sec(per_sec: f64) -> Result<Rate, RateError> {
        let fail = |reason| {
            Err(RateError {
                input: Input::PerSec(per_sec),
                reason,
            })
        };
        if per_sec.is_nan() {
            return fail(RateReason::NotANumber);
        }
        if per_sec.is_infinite() {
            return fail(RateReason::Infinite);
        }
        if per_sec <= 0.0 {
            return fail(RateReason::NotPositive);
        }
        let period = AS_PER_SEC / per_sec;
        // Below half a nanosecond, the period rounds to zero.
        if period < AS_PER_NS as f64 / 2.0 {
            return fail(RateReason::TooFast);
        }
        if period > Duration::MAX.as_nanos() as f64 * AS_PER_NS as f64 {
            return fail(RateReason::TooSlow);
        }
        // At least half a nanosecond, and finite: the cast is in range.
        let period = exact_period(per_sec).unwrap_or(period.round() as u128);
        Ok(Rate { period })
    }

    /// One event every `period`.
    ///
    /// # Errors
    ///
    /// Returns a [`RateError`] if `period` is zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use stagger::schedule::Rate;
    /// use std::time::Duration;
    ///
    /// let rate = Rate::every(Duration::from_secs(30))?;
    /// assert_eq!(rate.per_sec_f64(), 1.0 / 30.0);
    /// let err = Rate::every(Duration::ZERO).unwrap_err();
    /// assert_eq!(err.to_string(), "invalid rate of one every 0ns: its period rounds to 0 ns");
    /// # Ok::<(), stagger::schedule::RateError>(())
    /// ```
    pub fn every(period: Duration) -> Result<Rate, RateError> {
        if period.is_zero() {
            return Err(RateError {
                input: Input::Every(period),
                reason: RateReason::TooFast,
            });
        }
        Ok(Rate {
            period: period.as_nanos() * AS_PER_NS,
        })
    }

    /// The period, rounded to the nanosecond: 1 ns for every rate from
    /// 6.7·10⁸ to 2·10⁹ per second, though each runs at its own rate (the
    /// schedules compute offsets from the exact period).
    pub fn period(&self) -> Duration {
        self.offset(1).unwrap_or(Duration::MAX)
    }

    /// Events per second.
    pub fn per_sec_f64(&self) -> f64 {
        AS_PER_SEC / self.period as f64
    }

    /// `i` periods, in whole nanoseconds and the attoseconds left over;
    /// saturating (only used where `i` periods fit).
    pub(crate) fn split(&self, i: u64) -> (u128, u64) {
        let attos = self.period.saturating_mul(u128::from(i));
        (attos / AS_PER_NS, (attos % AS_PER_NS) as u64)
    }

    /// The offset of event `i`: `i` periods, to the nearest nanosecond;
    /// `None` past [`Duration::MAX`].
    pub(crate) fn offset(&self, i: u64) -> Option<Duration> {
        let attos = self.period.checked_mul(u128::from(i))?;
        nanos(attos.checked_add(AS_PER_NS / 2)? / AS_PER_NS)
    }
}

/// `10¹⁸ / per_sec` attoseconds, rounded to the nearest, computed exactly
/// from the float's binary value (`m · 2^e`) where integers hold it: every
/// rate but the slowest (periods over about a day and a half of fractional
/// digits), for which the float quotient is close enough. `per_sec` is
/// positive, finite and at most 2·10⁹.
fn exact_period(per_sec: f64) -> Option<u128> {
    const ONE_SEC: u128 = 1_000_000_000_000_000_000;
    let bits = per_sec.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1 << 52) - 1);
    let (mut m, mut e) = match biased {
        0 => (fraction, -1074),
        _ => (fraction | (1 << 52), biased - 1075),
    };
    let zeros = m.trailing_zeros();
    m >>= zeros;
    e += zeros as i32;
    let m = u128::from(m);
    if e >= 0 {
        // per_sec ≤ 2·10⁹ < 2³¹: the shift keeps it.
        let divisor = m << e;
        Some((ONE_SEC + divisor / 2) / divisor)
    } else {
        // 10¹⁸ < 2⁶⁰, so shifts up to 67 bits fit.
        let shift = u32::try_from(-e).ok().filter(|&s| s <= 67)?;
        let dividend = ONE_SEC << shift;
        Some((dividend + m / 2) / m)
    }
}

/// `n` nanoseconds as a `Duration`, if it fits.
fn nanos(n: u128) -> Option<Duration> {
    let secs = u64::try_from(n / 1_000_000_000).ok()?;
    Some(Duration::new(secs, (n % 1_000_000_000) as u32))
}

impl fmt::Debug for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rate")
            .field("per_sec", &self.per_sec_f64())
            .field("period", &self.period())
            .finish()
    }
}

/// A rate that no schedule can run at.
///
/// Returned by [`Rate::per_sec`] and [`Rate::every`]; its message names the
/// value as it was given.
///
/// # Examples
///
/// ```
/// use stagger::schedule::{Rate, RateReason};
///
/// let err = Rate::per_sec(f64::NAN).unwrap_err();
/// assert_eq!(err.reason(), RateReason::NotANumber);
/// assert_eq!(err.to_string(), "invalid rate of NaN per second: not a number");
/// assert_eq!(Rate::per_sec(3e9).unwrap_err().to_string(),
///            "invalid rate of 3e9 per second: its period rounds to 0 ns");
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateError {
    input: Input,
    reason: RateReason,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Input {
    PerSec(f64),
    Every(Duration),
}

/// Why [`Rate::per_sec`] or [`Rate::every`] refused a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RateReason {
    /// The rate is NaN.
    NotANumber,
    /// The rate is infinite.
    Infinite,
    /// The rate is zero or negative.
    NotPositive,
    /// The period rounds to zero nanoseconds.
    TooFast,
    /// The period is longer than [`Duration::MAX`].
    TooSlow,
    /// A [`Stage`](super::Stage)'s rate is negative (a stage's rate may be
    /// zero).
    Negative,
}

/// Events per second: [`Rate::per_sec_f64`], so that a `Rate` is a
/// [`Stage`](super::Stage)'s rate.
impl From<Rate> for f64 {
    fn from(rate: Rate) -> f64 {
        rate.per_sec_f64()
    }
}

/// Checks a [`Stage`](super::Stage)'s rate per second: finite, zero or
/// more.
pub(crate) fn stage_rate(per_sec: f64) -> Result<f64, RateError> {
    let reason = if per_sec.is_nan() {
        RateReason::NotANumber
    } else if per_sec.is_infinite() {
        RateReason::Infinite
    } else if per_sec < 0.0 {
        RateReason::Negative
    } else {
        // -0.0 is 0.
        return Ok(per_sec + 0.0);
    };
    Err(RateError {
        input: Input::PerSec(per_sec),
        reason,
    })
}

impl RateError {
    /// Why the value was refused.
    pub fn reason(&self) -> RateReason {
        self.reason
    }

    /// The rate per second that was refused, if it was given per second.
    pub fn per_sec(&self) -> Option<f64> {
        match self.input {
            Input::PerSec(per_sec) => Some(per_sec),
            Input::Every(_) => None,
        }
    }
}

impl fmt::Display for RateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.input {
            Input::PerSec(per_sec) => write!(f, "invalid rate of {} per second: ", Float(per_sec))?,
            Input::Every(period) => write!(f, "invalid rate of one every {period:?}: ")?,
        }
        f.write_str(match self.reason {
            RateReason::NotANumber => "not a number",
            RateReason::Infinite => "infinite",
            RateReason::NotPositive => "not positive",
            RateReason::TooFast => "its period rounds to 0 ns",
            RateReason::TooSlow => "its period is longer than the longest Duration",
            RateReason::Negative => "negative",
        })
    }
}

impl std::error::Error for RateError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_exact() {
        let third = Rate::per_sec(3.0).unwrap();
        assert_eq!(third.offset(3), Some(Duration::from_secs(1)));
        assert_eq!(third.offset(1), Some(Duration::from_nanos(333_333_333)));
        assert_eq!(third.offset(2), Some(Duration::from_nanos(666_666_667)));
        // Three billion periods later, within a nanosecond.
        let far = third.offset(3_000_000_000).unwrap();
        assert!(Duration::from_secs(1_000_000_000) - far <= Duration::from_nanos(1));
        // 0.1 is not exact in binary: 10⁶ of its periods are a hair under
        // 10⁷ s, which rounds to 1 ns under.
        let tenth = Rate::per_sec(0.1).unwrap();
        let far = tenth.offset(1_000_000).unwrap();
        assert_eq!(
            Duration::from_secs(10_000_000) - far,
            Duration::from_nanos(1)
        );
        // Given as a period, it is exact.
        let tenth = Rate::every(Duration::from_secs(10)).unwrap();
        assert_eq!(
            tenth.offset(1_000_000),
            Some(Duration::from_secs(10_000_000))
        );
        let rate = Rate::per_sec(1234.5).unwrap();
        let secs = 1_000_000_000.0 / 1234.5 * 1e6; // ns, i = 10⁶
        let got = rate.offset(1_000_000).unwrap().as_nanos() as f64;
        assert!((got - secs).abs() <= 1.0, "{got} vs {secs}");
        let ms = Rate::every(Duration::from_millis(1)).unwrap();
        assert_eq!(ms.offset(u64::MAX), Some(Duration::from_millis(u64::MAX)));
        let slow = Rate::every(Duration::MAX).unwrap();
        assert_eq!(slow.offset(1), Some(Duration::MAX));
        assert_eq!(slow.offset(2), None);
    }

    #[test]
    fn limits() {
        assert_eq!(
            Rate::per_sec(2e9).unwrap().period(),
            Duration::from_nanos(1)
        );
        // Between 10⁹ and 2·10⁹ per second the period is under a
        // nanosecond: kept exactly, not rounded up to 1 ns (which ran them
        // all at 10⁹ per second).
        let fast = Rate::per_sec(1.5e9).unwrap();
        // To the attosecond of its period: 1.5·10⁹ within 10⁻⁹ of itself.
        assert!((fast.per_sec_f64() / 1.5e9 - 1.0).abs() < 1e-9);
        assert_ne!(fast, Rate::per_sec(1e9).unwrap());
        assert_eq!(fast.offset(3_000_000), Some(Duration::from_millis(2)));
        assert_eq!(fast.period(), Duration::from_nanos(1));
        assert_eq!(
            Rate::per_sec(2e9).unwrap().offset(2_000_000_000),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            Rate::per_sec(2.1e9).unwrap_err().reason(),
            RateReason::TooFast
        );
        assert_eq!(
            Rate::per_sec(1e-30).unwrap_err().reason(),
            RateReason::TooSlow
        );
        assert_eq!(
            Rate::per_sec(-1.0).unwrap_err().reason(),
            RateReason::NotPositive
        );
        assert_eq!(
            Rate::per_sec(-0.0).unwrap_err().reason(),
            RateReason::NotPositive
        );
        assert_eq!(
            Rate::per_sec(f64::INFINITY).unwrap_err().reason(),
            RateReason::Infinite
        );
        assert_eq!(
            Rate::per_sec(-1e300).unwrap_err().to_string(),
            "invalid rate of -1e300 per second: not positive"
        );
    }
}
