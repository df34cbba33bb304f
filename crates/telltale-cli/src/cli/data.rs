//! Flags of the data commands, `inspect` and `metrics`, and the data and
//! window flags they share.

use std::path::PathBuf;

use clap::Args;
use telltale_core::{DataSpec, LabelSource, MissingPolicy, TimestampColumn, WindowLabel, WindowSettings};

/// How to read a CSV sensor log into a dataset.
#[derive(Debug, Args)]
pub(crate) struct DataArgs {
    /// Label rule over columns, e.g. "wconfid != 1" or "anomaly == 1".
    #[arg(long, value_name = "RULE", conflicts_with = "label_windows")]
    pub label: Option<String>,

    /// JSON file of labelled time intervals (NAB's combined_windows.json).
    #[arg(long, value_name = "FILE")]
    pub label_windows: Option<PathBuf>,

    /// Key of the series in --label-windows (default: the one matching the file name).
    #[arg(long, value_name = "KEY", requires = "label_windows")]
    pub label_key: Option<String>,

    /// Feature columns, comma-separated (default: every numeric column not otherwise used).
    #[arg(long, value_delimiter = ',', value_name = "COLS")]
    pub features: Vec<String>,

    /// Columns never used as features, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "COLS")]
    pub exclude: Vec<String>,

    /// Timestamp column, or "none" (default: a column named timestamp, datetime, time, ...).
    #[arg(long, value_name = "COL")]
    pub timestamp: Option<String>,

    /// Columns whose change starts a new group; windows never cross one (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "COLS")]
    pub group: Vec<String>,

    /// Missing values: error, drop (the row) or ffill (the column's last value).
    #[arg(long, default_value = "error", value_name = "POLICY")]
    pub missing: MissingPolicy,

    /// Field separator (default: detected from the header: ',', ';' or tab).
    #[arg(long, value_name = "CHAR")]
    pub separator: Option<char>,
}

impl DataArgs {
    /// The dataset spec these flags describe.
    pub(crate) fn spec(&self) -> DataSpec {
        let label = match (&self.label, &self.label_windows) {
            (Some(rule), _) => Some(LabelSource::Rule(rule.clone())),
            (None, Some(path)) => Some(LabelSource::Intervals { intervals: path.clone(), key: self.label_key.clone() }),
            (None, None) => None,
        };
        let timestamp = match self.timestamp.as_deref() {
            None => TimestampColumn::Auto,
            Some("none") => TimestampColumn::None,
            Some(name) => TimestampColumn::Named(name.to_owned()),
        };
        DataSpec {
            features: self.features.clone(),
            exclude: self.exclude.clone(),
            timestamp,
            epoch_unit: Default::default(),
            label,
            groups: self.group.clone(),
            factors: Vec::new(),
            missing: self.missing,
            separator: self.separator,
        }
    }
}

/// Window flags.
#[derive(Debug, Args)]
pub(crate) struct WindowArgs {
    /// Rows per window.
    #[arg(long, value_name = "N", requires = "step")]
    pub window: Option<usize>,

    /// Rows between window starts.
    #[arg(long, value_name = "M", requires = "window")]
    pub step: Option<usize>,

    /// Window label rule: majority (ties are normal), any or last.
    #[arg(long, default_value = "majority", value_name = "RULE")]
    pub window_label: WindowLabel,

    /// Also take the window that ends on the last row (seed 000's loop does not).
    #[arg(long)]
    pub include_last: bool,
}

impl WindowArgs {
    /// The window settings these flags give, when --window and --step are
    /// given: the type of an experiment's `[window]` section, checked by the
    /// same `WindowSettings::check`.
    pub(crate) fn settings(&self) -> Option<WindowSettings> {
        self.window.is_some().then_some(WindowSettings {
            size: self.window,
            step: self.step,
            label: self.window_label,
            include_last: self.include_last,
            lookback: None,
            horizon: None,
        })
    }
}

/// `telltale inspect`.
#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// The CSV file.
    pub file: PathBuf,

    #[command(flatten)]
    pub data: DataArgs,

    #[command(flatten)]
    pub window: WindowArgs,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `telltale metrics`.
#[derive(Debug, Args)]
pub(crate) struct MetricsArgs {
    /// CSV file with one row per scored item, in time order.
    #[arg(long, value_name = "FILE")]
    pub input: PathBuf,

    /// Column of true labels (0 normal, 1 anomalous).
    #[arg(long, value_name = "COL")]
    pub label_col: String,

    /// Column of scores (higher = more anomalous).
    #[arg(long, value_name = "COL")]
    pub score_col: String,

    /// Scores >= this are anomalous.
    #[arg(long, default_value_t = 0.5, value_name = "T")]
    pub threshold: f64,

    /// Field separator (default: detected).
    #[arg(long, value_name = "CHAR")]
    pub separator: Option<char>,

    /// Skip event metrics (for rows that are not a time series, e.g. a random sample of windows).
    #[arg(long)]
    pub no_events: bool,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}
