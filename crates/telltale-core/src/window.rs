//! Sliding windows over a [`Dataset`]: start indices and labels only; the
//! data of a window is a slice of the dataset, never a copy.
//!
//! By default a window is taken only when at least one reading follows it:
//! starts `0, step, 2·step, …` while `start + size < n`. This is the
//! convention of seed 000's pandas loop (`range(0, len(X) - size, step)`,
//! 5,098 windows on the accelerometer data) and of a forecasting window with
//! horizon 1. Set [`WindowSpec::include_last`] to also take the window that
//! ends on the last reading.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::dataset::Dataset;
use crate::error::{Error, Result};

/// How a window's label follows from its rows' labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WindowLabel {
    /// The most frequent label; a tie counts as normal (pandas' `mode()[0]`).
    #[default]
    Majority,
    /// Anomalous when any row is.
    Any,
    /// The label of the last row.
    Last,
}

impl WindowLabel {
    /// The label of a window whose rows have `labels`.
    pub fn apply(self, labels: &[u8]) -> u8 {
        match self {
            WindowLabel::Majority => {
                let ones = labels.iter().filter(|&&l| l != 0).count();
                u8::from(2 * ones > labels.len())
            }
            WindowLabel::Any => u8::from(labels.iter().any(|&l| l != 0)),
            WindowLabel::Last => u8::from(labels.last().is_some_and(|&l| l != 0)),
        }
    }
}

impl std::str::FromStr for WindowLabel {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "majority" => Ok(WindowLabel::Majority),
            "any" => Ok(WindowLabel::Any),
            "last" => Ok(WindowLabel::Last),
            _ => Err(Error::invalid("window label", format!("'{s}' (expected majority, any or last)"))),
        }
    }
}

/// Classification / reconstruction windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowSpec {
    /// Rows per window.
    pub size: usize,
    /// Rows between window starts.
    pub step: usize,
    /// Window label rule.
    #[serde(default)]
    pub label: WindowLabel,
    /// Also take the window that ends on the last row of a segment.
    #[serde(default)]
    pub include_last: bool,
}

impl WindowSpec {
    /// A spec with the default label rule and end convention.
    pub fn new(size: usize, step: usize) -> WindowSpec {
        WindowSpec { size, step, label: WindowLabel::Majority, include_last: false }
    }

    /// Checks size and step.
    pub fn validate(&self) -> Result<()> {
        at_least_one("size", self.size)?;
        at_least_one("step", self.step)
    }
}

/// Forecasting windows: `lookback` rows in, the next `horizon` rows to predict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForecastSpec {
    /// Input rows.
    pub lookback: usize,
    /// Rows to predict after the input.
    pub horizon: usize,
    /// Rows between window starts.
    #[serde(default = "one")]
    pub step: usize,
}

fn one() -> usize {
    1
}

impl ForecastSpec {
    /// Checks the sizes.
    pub fn validate(&self) -> Result<()> {
        at_least_one("lookback", self.lookback)?;
        at_least_one("horizon", self.horizon)?;
        at_least_one("step", self.step)
    }
}

/// Refuses a window setting of 0, naming its key.
fn at_least_one(key: &'static str, value: usize) -> Result<()> {
    if value == 0 {
        return Err(Error::Window { key, message: "must be at least 1".into() });
    }
    Ok(())
}

/// What windows are cut for: classification and reconstruction (novelty) take
/// `size`/`step`, forecasting takes `lookback`/`horizon`/`step`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowKind {
    /// `size` rows per window (classifiers, autoencoders, baselines).
    Classify,
    /// `lookback` rows in, the next `horizon` rows to predict.
    Forecast,
}

/// Window settings as a user gives them: the `[window]` section of an
/// experiment file, or `inspect`'s `--window`, `--step`, `--window-label` and
/// `--include-last` flags. Both are checked by [`WindowSettings::check`], the
/// one place that turns settings into a [`WindowSpec`] or a [`ForecastSpec`];
/// a refusal is an [`Error::Window`] naming the key (`size`, `step`,
/// `lookback`, `horizon`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WindowSettings {
    /// Rows per window.
    pub size: Option<usize>,
    /// Rows between window starts (default 1 for forecasters).
    pub step: Option<usize>,
    /// Window label rule.
    pub label: WindowLabel,
    /// Also take the window that ends on the last row.
    pub include_last: bool,
    /// Input rows of a forecasting window.
    pub lookback: Option<usize>,
    /// Rows a forecaster predicts (default 1).
    pub horizon: Option<usize>,
}

/// Checked window settings: the windows of one kind, every size at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowPlan {
    /// Classification / reconstruction windows.
    Classify(WindowSpec),
    /// Forecasting windows.
    Forecast(ForecastSpec),
}

impl WindowPlan {
    /// The windows over `data`.
    pub fn windows(&self, data: &Dataset) -> Result<Windows> {
        match self {
            WindowPlan::Classify(spec) => Windows::classify(data, spec),
            WindowPlan::Forecast(spec) => Windows::forecast(data, spec),
        }
    }

    /// Input rows of a window (the size, or the lookback).
    pub fn steps(&self) -> usize {
        match self {
            WindowPlan::Classify(spec) => spec.size,
            WindowPlan::Forecast(spec) => spec.lookback,
        }
    }

    /// Rows between window starts.
    pub fn step(&self) -> usize {
        match self {
            WindowPlan::Classify(spec) => spec.step,
            WindowPlan::Forecast(spec) => spec.step,
        }
    }
}

impl WindowSettings {
    /// Checks the settings for `kind`: the keys it needs are present and at
    /// least 1, the keys of the other kind absent.
    pub fn check(&self, kind: impl Into<WindowKind>) -> Result<WindowPlan> {
        Ok(match kind.into() {
            WindowKind::Classify => WindowPlan::Classify(self.check_classify()?),
            WindowKind::Forecast => WindowPlan::Forecast(self.check_forecast()?),
        })
    }

    /// Checks the settings of classification windows.
    pub fn check_classify(&self) -> Result<WindowSpec> {
        let missing = |key| Error::Window { key, message: "missing".into() };
        let size = self.size.ok_or_else(|| missing("size"))?;
        at_least_one("size", size)?;
        let step = self.step.ok_or_else(|| missing("step"))?;
        at_least_one("step", step)?;
        if self.lookback.is_some() || self.horizon.is_some() {
            return Err(Error::Window {
                key: "lookback",
                message: "only forecasters take lookback and horizon".into(),
            });
        }
        Ok(WindowSpec { size, step, label: self.label, include_last: self.include_last })
    }

    /// Checks the settings of forecasting windows (`horizon` and `step` default to 1).
    pub fn check_forecast(&self) -> Result<ForecastSpec> {
        let lookback = self
            .lookback
            .ok_or_else(|| Error::Window { key: "lookback", message: "forecasters need a lookback".into() })?;
        let spec = ForecastSpec { lookback, horizon: self.horizon.unwrap_or(1), step: self.step.unwrap_or(1) };
        spec.validate()?;
        if self.size.is_some() {
            return Err(Error::Window {
                key: "size",
                message: "forecasters take window.lookback, not window.size".into(),
            });
        }
        Ok(spec)
    }

    /// Checks the settings and cuts the windows of `data`.
    pub fn windows(&self, kind: impl Into<WindowKind>, data: &Dataset) -> Result<Windows> {
        self.check(kind)?.windows(data)
    }

    /// Input rows of a window as given (0 when the key is missing).
    pub fn steps(&self, kind: impl Into<WindowKind>) -> usize {
        match kind.into() {
            WindowKind::Forecast => self.lookback.unwrap_or(0),
            WindowKind::Classify => self.size.unwrap_or(0),
        }
    }
}

/// A set of windows: where each starts, how many rows it spans, its label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Windows {
    starts: Vec<usize>,
    input: usize,
    span: usize,
    labels: Option<Vec<u8>>,
}

impl Windows {
    /// Classification windows of `spec` over `data`, never crossing a segment
    /// (group) border.
    pub fn classify(data: &Dataset, spec: &WindowSpec) -> Result<Windows> {
        spec.validate()?;
        Ok(Windows::over(&data.segments(), spec.size, spec.size, spec.step, spec.include_last, |r| {
            data.labels().map(|l| spec.label.apply(&l[r]))
        }))
    }

    /// Forecasting windows: the window spans `lookback + horizon` rows; its
    /// label is anomalous when any predicted row is.
    pub fn forecast(data: &Dataset, spec: &ForecastSpec) -> Result<Windows> {
        spec.validate()?;
        let span = spec.lookback + spec.horizon;
        Ok(Windows::over(&data.segments(), spec.lookback, span, spec.step, true, |r| {
            data.labels().map(|l| WindowLabel::Any.apply(&l[r.start + spec.lookback..r.end]))
        }))
    }

    /// Windows of `span` rows (the first `input` of them are the model input)
    /// over each segment; `label` gives the label of a row range.
    pub fn over(
        segments: &[Range<usize>],
        input: usize,
        span: usize,
        step: usize,
        include_last: bool,
        label: impl Fn(Range<usize>) -> Option<u8>,
    ) -> Windows {
        let mut starts = Vec::new();
        let mut labels = Vec::new();
        let mut any_label = true;
        for seg in segments {
            let mut start = seg.start;
            while start + span < seg.end || (include_last && start + span == seg.end) {
                match label(start..start + span) {
                    Some(l) => labels.push(l),
                    None => any_label = false,
                }
                starts.push(start);
                start += step;
            }
        }
        Windows { starts, input, span, labels: any_label.then_some(labels) }
    }

    /// Number of windows.
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// True when there are no windows.
    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// First row of every window.
    pub fn starts(&self) -> &[usize] {
        &self.starts
    }

    /// Rows of model input per window (the window size, or the lookback).
    pub fn input_len(&self) -> usize {
        self.input
    }

    /// Rows each window covers (input plus forecast horizon).
    pub fn span(&self) -> usize {
        self.span
    }

    /// Window labels, when the data is labelled.
    pub fn labels(&self) -> Option<&[u8]> {
        self.labels.as_deref()
    }

    /// All rows window `i` covers.
    pub fn rows(&self, i: usize) -> Range<usize> {
        self.starts[i]..self.starts[i] + self.span
    }

    /// The input rows of window `i`.
    pub fn input_rows(&self, i: usize) -> Range<usize> {
        self.starts[i]..self.starts[i] + self.input
    }

    /// The rows to predict of forecasting window `i` (empty for classification).
    pub fn target_rows(&self, i: usize) -> Range<usize> {
        self.starts[i] + self.input..self.starts[i] + self.span
    }

    /// Count of windows per label `(normal, anomalous)`.
    pub fn label_counts(&self) -> Option<(usize, usize)> {
        let labels = self.labels.as_ref()?;
        let anomalous = labels.iter().filter(|&&l| l != 0).count();
        Some((labels.len() - anomalous, anomalous))
    }

    /// Marks every row covered by the windows `indices` (e.g. a training split).
    pub fn covered_rows(&self, indices: &[usize], n_rows: usize) -> Vec<bool> {
        let mut covered = vec![false; n_rows];
        for &i in indices {
            covered[self.rows(i)].fill(true);
        }
        covered
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn series(n: usize, labels: Vec<u8>) -> Dataset {
        Dataset::from_parts(vec!["v".into()], (0..n).map(|i| i as f32).collect(), None, Some(labels)).unwrap()
    }

    #[test]
    fn seed_convention_drops_the_window_ending_on_the_last_row() {
        let d = series(10, vec![0; 10]);
        let w = Windows::classify(&d, &WindowSpec::new(4, 2)).unwrap();
        assert_eq!(w.starts(), &[0, 2, 4]);
        let w = Windows::classify(&d, &WindowSpec { include_last: true, ..WindowSpec::new(4, 2) }).unwrap();
        assert_eq!(w.starts(), &[0, 2, 4, 6]);
        assert_eq!(d.rows(w.rows(3)), &[6.0, 7.0, 8.0, 9.0]);
    }

    #[test]
    fn label_rules() {
        assert_eq!(WindowLabel::Majority.apply(&[0, 1, 1, 0]), 0, "a tie is normal");
        assert_eq!(WindowLabel::Majority.apply(&[0, 1, 1]), 1);
        assert_eq!(WindowLabel::Any.apply(&[0, 0, 1, 0]), 1);
        assert_eq!(WindowLabel::Any.apply(&[0, 0]), 0);
        assert_eq!(WindowLabel::Last.apply(&[1, 0]), 0);
        assert_eq!(WindowLabel::Last.apply(&[0, 1]), 1);
    }

    #[test]
    fn forecast_windows() {
        let d = series(6, vec![0, 0, 0, 0, 1, 0]);
        let w = Windows::forecast(&d, &ForecastSpec { lookback: 3, horizon: 1, step: 1 }).unwrap();
        assert_eq!(w.starts(), &[0, 1, 2]);
        assert_eq!(w.labels(), Some(&[0u8, 1, 0][..]));
        assert_eq!(w.input_rows(1), 1..4);
        assert_eq!(w.target_rows(1), 4..5);
    }

    #[test]
    fn rejects_zero_sizes() {
        let d = series(3, vec![0; 3]);
        assert!(Windows::classify(&d, &WindowSpec::new(0, 1)).is_err());
        assert!(Windows::classify(&d, &WindowSpec::new(2, 0)).is_err());
        assert!(Windows::forecast(&d, &ForecastSpec { lookback: 2, horizon: 0, step: 1 }).is_err());
    }

    #[test]
    fn settings_are_checked_once_naming_the_key() {
        let classify = WindowSettings { size: Some(4), step: Some(2), ..Default::default() };
        assert_eq!(classify.check(WindowKind::Classify).unwrap(), WindowPlan::Classify(WindowSpec::new(4, 2)));
        let msg = |s: WindowSettings, kind| s.check(kind).unwrap_err().to_string();
        assert_eq!(
            msg(WindowSettings { size: Some(0), ..classify.clone() }, WindowKind::Classify),
            "invalid window size: must be at least 1"
        );
        assert_eq!(
            msg(WindowSettings { step: None, ..classify.clone() }, WindowKind::Classify),
            "invalid window step: missing"
        );
        assert_eq!(
            msg(WindowSettings { horizon: Some(2), ..classify.clone() }, WindowKind::Classify),
            "invalid window lookback: only forecasters take lookback and horizon"
        );
        assert_eq!(msg(classify.clone(), WindowKind::Forecast), "invalid window lookback: forecasters need a lookback");
        let forecast = WindowSettings { lookback: Some(3), ..Default::default() };
        let plan = forecast.check(WindowKind::Forecast).unwrap();
        assert_eq!(plan, WindowPlan::Forecast(ForecastSpec { lookback: 3, horizon: 1, step: 1 }));
        assert_eq!((plan.steps(), plan.step()), (3, 1));
        assert_eq!(
            msg(WindowSettings { horizon: Some(0), ..forecast.clone() }, WindowKind::Forecast),
            "invalid window horizon: must be at least 1"
        );
        let both = WindowSettings { size: Some(3), ..forecast };
        assert_eq!(
            msg(both, WindowKind::Forecast),
            "invalid window size: forecasters take window.lookback, not window.size"
        );
        // The TOML section and the flags are the same settings.
        let parsed: WindowSettings = toml::from_str("size = 4\nstep = 2").unwrap();
        assert_eq!(parsed, classify);
        assert!(toml::from_str::<WindowSettings>("sise = 4").unwrap_err().to_string().contains("sise"));
        let d = series(10, vec![0; 10]);
        assert_eq!(classify.windows(WindowKind::Classify, &d).unwrap().starts(), &[0, 2, 4]);
    }

    proptest! {
        #[test]
        fn windows_stay_inside_segments(
            cuts in proptest::collection::btree_set(1usize..200, 0..6),
            size in 1usize..40,
            step in 1usize..40,
            include_last: bool,
        ) {
            let n = 200;
            let mut bounds: Vec<usize> = cuts.into_iter().collect();
            bounds.insert(0, 0);
            bounds.push(n);
            let segments: Vec<Range<usize>> = bounds.windows(2).map(|b| b[0]..b[1]).collect();
            let w = Windows::over(&segments, size, size, step, include_last, |_| Some(0));
            let mut expected = 0;
            for seg in &segments {
                let len = seg.end - seg.start;
                let usable = if include_last { len + 1 } else { len };
                if usable > size {
                    expected += (usable - size - 1) / step + 1;
                }
            }
            prop_assert_eq!(w.len(), expected);
            for i in 0..w.len() {
                let r = w.rows(i);
                let seg = segments.iter().find(|s| s.contains(&r.start)).unwrap();
                prop_assert!(r.end <= seg.end);
                prop_assert!(include_last || r.end < seg.end);
            }
        }
    }
}
