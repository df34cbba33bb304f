//! The detectors `bench msl` runs: zoo detectors (`[[detector]]`, fitted on
//! a channel's train array) and streaming detectors (`[[stream]]`, the train
//! array their warm-up, then the test array read one row at a time), with
//! their threshold rules. The roster: `examples/msl-bench.toml`.

use burn::tensor::Device;
use serde::Deserialize;
use telltale_core::{Dataset, ThresholdSpec};
use telltale_models::online::StreamScorer;

use crate::error::{Context, Error, Result};
use crate::msl::corpus::Channel;
use crate::msl::npy::Matrix;
use crate::msl::protocol::ChannelResult;
use crate::zoo::{Columns, ForecastError, ZooDetector, fit_score};

/// The built-in roster, `examples/msl-bench.toml`.
const ROSTER: &str = include_str!("../../../../examples/msl-bench.toml");

/// A streaming detector of the roster: reads the value column, the train
/// array as its warm-up.
#[derive(Debug, Clone, Deserialize)]
pub struct StreamEntry {
    /// Name in the tables.
    pub name: String,
    /// Detector, likelihood and quiet period, as `bench nab` takes them.
    #[serde(flatten)]
    pub scorer: StreamScorer,
    /// `telemanom` (its dynamic threshold on the test scores) or `fixed` (a cut on the `[0, 1]` scores).
    pub threshold: ThresholdSpec,
}

/// One entry of the roster.
#[derive(Debug, Clone)]
pub enum MslDetector {
    /// Fitted on the train array.
    Zoo(ZooDetector),
    /// Warmed up on the train array, then streaming.
    Stream(StreamEntry),
}

impl MslDetector {
    /// Its name.
    pub fn name(&self) -> &str {
        match self {
            MslDetector::Zoo(z) => &z.name,
            MslDetector::Stream(s) => &s.name,
        }
    }
}

/// The built-in roster, or the one in `text` (laid out like `examples/msl-bench.toml`); zoo entries first.
pub fn roster(text: Option<&str>) -> Result<Vec<MslDetector>> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Roster {
        #[serde(default)]
        detector: Vec<ZooDetector>,
        #[serde(default)]
        stream: Vec<StreamEntry>,
    }
    let r = toml::from_str::<Roster>(text.unwrap_or(ROSTER)).context_with(|| "the MSL roster".into())?;
    for s in &r.stream {
        s.scorer.validate().map_err(Error::from).context_with(|| format!("the MSL roster: stream '{}'", s.name))?;
        if !matches!(s.threshold, ThresholdSpec::Telemanom(_) | ThresholdSpec::Fixed { .. }) {
            return Err(Error::Config {
                field: format!("stream '{}' threshold", s.name),
                message: "a streaming detector takes `telemanom` or `fixed`".into(),
            });
        }
    }
    Ok(r.detector.into_iter().map(MslDetector::Zoo).chain(r.stream.into_iter().map(MslDetector::Stream)).collect())
}

/// The channel's arrays as datasets (train, test) with the columns `columns` reads.
fn datasets(c: &Channel, columns: Columns) -> Result<(Dataset, Dataset)> {
    let cols = match columns {
        Columns::All => c.train.cols,
        Columns::Value => 1,
    };
    let features: Vec<String> = (0..cols).map(|i| if i == 0 { "value".into() } else { format!("cmd{i}") }).collect();
    let take = |m: &Matrix| -> Vec<f32> {
        m.values.chunks(m.cols.max(1)).flat_map(|row| row[..cols].iter().map(|&v| v as f32)).collect()
    };
    Ok((
        Dataset::from_parts(features.clone(), take(&c.train), None, None)?,
        Dataset::from_parts(features, take(&c.test), None, None)?,
    ))
}

/// telemanom's dynamic threshold over the scored rows (the leading unscored
/// rows never flagged); with `values` (scores that are errors of these
/// values, in their units) its scale checks too.
fn dynamic(t: &telltale_core::telemanom::Telemanom, scores: &[f64], values: Option<&[f64]>) -> Result<Vec<bool>> {
    t.validate()?;
    let first = scores.iter().position(|s| s.is_finite()).unwrap_or(scores.len());
    let mut flags = vec![false; first];
    flags.extend(t.flags_with_values(&scores[first..], values.map(|v| &v[first.min(v.len())..])));
    Ok(flags)
}

/// Runs one detector on one channel.
pub fn run_channel(det: &MslDetector, c: &Channel, device: &Device) -> Result<ChannelResult> {
    match det {
        MslDetector::Zoo(z) => {
            let (train, test) = datasets(c, z.columns)?;
            let what = format!("channel {}", c.name);
            let scored = fit_score(z, &train, train.n_rows(), &test, &what, device)?;
            let flags = match z.threshold {
                Some(ThresholdSpec::Telemanom(t)) => {
                    // Absolute forecast errors are in the value's units: telemanom's scale checks apply.
                    let values = (z.forecast_error == ForecastError::Absolute).then(|| c.test.column(0));
                    dynamic(&t, &scored.rows, values.as_deref())?
                }
                _ => z.flags(&scored.rows, z.static_threshold(&scored.fit)?),
            };
            Ok(ChannelResult { flags, scores: scored.rows })
        }
        MslDetector::Stream(s) => {
            let mut values = c.train.column(0);
            values.extend(c.test.column(0));
            let warmup = c.train.rows;
            let scores = s.scorer.score(&values, warmup, 1.0).split_off(warmup);
            let flags = match s.threshold {
                ThresholdSpec::Telemanom(t) => dynamic(&t, &scores, None)?,
                ThresholdSpec::Fixed { value } => scores.iter().map(|&x| x >= value).collect(),
                _ => {
                    return Err(Error::Config {
                        field: format!("stream '{}' threshold", s.name),
                        message: "a streaming detector takes `telemanom` or `fixed`".into(),
                    });
                }
            };
            Ok(ChannelResult { flags, scores })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error and every source under it, as the command line prints them.
    fn chain(e: &Error) -> String {
        let mut out = e.to_string();
        let mut next = std::error::Error::source(e);
        while let Some(s) = next {
            out = format!("{out}: {s}");
            next = s.source();
        }
        out
    }

    #[test]
    fn the_shipped_rosters_read_and_a_bad_stream_threshold_is_named() {
        let built_in = roster(None).expect("examples/msl-bench.toml");
        assert!(built_in.iter().any(|d| d.name() == "telemanom-lstm"));
        let grid = roster(Some(include_str!("../../../../examples/msl-grid.toml"))).expect("examples/msl-grid.toml");
        assert_eq!(grid.len(), 13);
        let bad = "[[stream]]\nname = \"g\"\nquiet = 0.0\ndetector = { kind = \"gaussian\", window = 10 }\n\
                   threshold = { kind = \"percentile\", q = 99.0 }\n";
        let err = chain(&roster(Some(bad)).expect_err("percentile on a stream"));
        assert!(err.contains("stream 'g' threshold"), "{err}");
        let err = chain(&roster(Some("[[detectr]]\nname = \"x\"\n")).expect_err("unknown table"));
        assert!(err.contains("detectr"), "{err}");
    }
}
