//! [`HdrLog`]: intervals written in HdrHistogram's interval log format.

use core::fmt;
use std::io::{self, Write};
use std::time::SystemTime;

use hdrhistogram::Histogram;
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{
    IntervalLogWriterBuilder, IntervalLogWriterError, Tag,
};

use super::recorder::Snapshot;

/// Writes [`Snapshot`]s as an HdrHistogram interval log (format 1.3,
/// histograms V2-encoded and compressed, as Java's `HistogramLogWriter`
/// writes them), which HdrHistogram's `HistogramLogProcessor`, its plotters
/// and `hdrhistogram`'s `IntervalLogIterator` read.
///
/// Each snapshot is two lines, tagged `corrected` and `uncorrected`, of
/// microseconds, timed from the log's `BaseTime` (the run's start on the
/// wall clock). The `Interval_Max` column is in microseconds.
///
/// # Examples
///
/// ```
/// use stagger::load::{HdrLog, Recorder};
/// use stagger::load::hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
/// use std::time::{Duration, Instant, SystemTime};
///
/// let start = Instant::now();
/// let mut recorder = Recorder::new(start);
/// let mut log = HdrLog::new(Vec::new(), SystemTime::now())?;
/// log.write(&recorder.interval(start + Duration::from_secs(1)))?;
/// let text = log.into_inner();
/// let tags: Vec<_> = IntervalLogIterator::new(&text)
///     .filter_map(|entry| match entry {
///         Ok(LogEntry::Interval(h)) => h.tag().map(|t| t.as_str().to_owned()),
///         _ => None,
///     })
///     .collect();
/// assert_eq!(tags, ["corrected", "uncorrected"]);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct HdrLog<W: Write> {
    writer: W,
    serializer: V2DeflateSerializer,
}

impl<W: Write> HdrLog<W> {
    /// Starts a log on `writer`: its header, with `start` (the run's start,
    /// on the wall clock) as both its `StartTime` and its `BaseTime`.
    ///
    /// # Errors
    ///
    /// Returns the writer's error.
    pub fn new(mut writer: W, start: SystemTime) -> io::Result<Self> {
        let mut serializer = V2DeflateSerializer::new();
        writeln!(writer, "#[Histogram log format version 1.3]")?;
        IntervalLogWriterBuilder::new()
            .add_comment("[Logged by stagger: latencies in microseconds, corrected (from the intended start) and uncorrected (from the actual start)]")
            .with_start_time(start)
            .with_base_time(start)
            .begin_log_with(&mut writer, &mut serializer)?;
        writeln!(
            writer,
            "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\""
        )?;
        Ok(HdrLog { writer, serializer })
    }

    /// Writes `snapshot`'s two histograms, from its start for its length.
    ///
    /// # Errors
    ///
    /// Returns the writer's error, or an error of kind `Other` if a
    /// histogram could not be encoded.
    pub fn write(&mut self, snapshot: &Snapshot) -> io::Result<()> {
        self.write_histogram(snapshot, snapshot.corrected(), "corrected")?;
        self.write_histogram(snapshot, snapshot.uncorrected(), "uncorrected")
    }

    fn write_histogram(
        &mut self,
        snapshot: &Snapshot,
        histogram: &Histogram<u64>,
        tag: &str,
    ) -> io::Result<()> {
        // A builder with no header writes none: one writer a line.
        let mut log = IntervalLogWriterBuilder::new()
            .begin_log_with(&mut self.writer, &mut self.serializer)?;
        log.write_histogram(
            histogram,
            snapshot.start(),
            snapshot.length(),
            Tag::new(tag),
        )
        .map_err(|e| match e {
            IntervalLogWriterError::IoError(e) => e,
            IntervalLogWriterError::SerializeError(e) => {
                io::Error::other(format!("stagger: encoding a histogram: {e:?}"))
            }
        })
    }

    /// The writer, flushed.
    ///
    /// # Errors
    ///
    /// Returns the writer's error.
    pub fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }

    /// The writer back.
    pub fn into_inner(self) -> W {
        self.writer
    }
}

impl<W: Write> fmt::Debug for HdrLog<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HdrLog").finish_non_exhaustive()
    }
}
