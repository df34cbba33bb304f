//! Command-line arguments: raw flags, validated into core types before any work.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use telltale_core::{DataSpec, LabelSource, MissingPolicy, TimestampColumn, WindowLabel, WindowSpec};

/// Deep-learning anomaly detection for IoT sensor data.
#[derive(Debug, Parser)]
#[command(name = "telltale", version, about, long_about = None)]
pub(crate) struct Cli {
    /// More log output (-v info, -vv debug, -vvv trace), on stderr.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Describe a sensor log: rows, columns, sampling, labels, windows.
    Inspect(InspectArgs),
    /// Judge any detector's scores against labels (point-wise and event-level).
    Metrics(MetricsArgs),
    /// Train a model from an experiment configuration (TOML).
    Train(TrainArgs),
    /// Score a data file with a trained model and report its figures.
    Evaluate(EvaluateArgs),
    /// Flag anomalous windows of a data file with a trained model.
    Detect(DetectArgs),
    /// Grid search with k-fold cross-validation (the configuration's [tune] section).
    Tune(TuneArgs),
    /// Write a trained network as one runtime model file (safetensors + JSON header).
    Export(ExportArgs),
    /// Measure telltale against its peers.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Score NAB result files (any detector's) with NAB's rules, threshold optimisation and normalisation.
    NabScore(NabScoreArgs),
    /// Draw a run's report: an HTML page with PNG/SVG figures (series with labelled anomalies and detections,
    /// losses, ROC/PR, confusion matrix, score histogram).
    Report(ReportArgs),
    /// Run the main job on the bundled accelerometer data.
    Demo(DemoArgs),
    /// Live detection: readings over MQTT, scores, alerts, storage, HTTP (health, metrics, API).
    Serve(ServeArgs),
    /// Publish sensor data as a fleet of devices through an MQTT broker.
    Simulate(SimulateArgs),
    /// The service's configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
}

/// `telltale config ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Print the effective `serve` configuration as TOML (defaults, then the file, the TELLTALE_* environment
    /// variables and the flags).
    Print(ServeArgs),
}

/// `telltale serve` (and `config print`, which takes the same settings).
#[derive(Debug, Clone, Args)]
pub(crate) struct ServeArgs {
    /// Configuration file (TOML; `telltale config print` lists every key).
    #[arg(long, value_name = "FILE.toml")]
    pub config: Option<PathBuf>,

    /// A trained model directory or an exported model file.
    #[arg(long, value_name = "DIR|FILE")]
    pub model: Option<String>,

    /// Use this MQTT broker instead of the embedded one: mqtt[s]://[user:password@]host[:port].
    #[arg(long, value_name = "URL")]
    pub broker: Option<String>,

    /// With mqtts://: trust this CA certificate (PEM) instead of the system's.
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<String>,

    /// Where the embedded broker listens (default 127.0.0.1:1883).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,

    /// Topic pattern; {device} marks the level naming the device (default sensors/{device}/#).
    #[arg(long, value_name = "PATTERN")]
    pub topic: Option<String>,

    /// Database: sqlite://FILE (default sqlite://telltale.db), postgres://..., mysql://...
    #[arg(long, value_name = "URL")]
    pub db: Option<String>,

    /// HTTP address for the dashboard (/), its API (/api/…), /health and /metrics (default 127.0.0.1:8080;
    /// "" for none).
    #[arg(long, value_name = "ADDR")]
    pub http: Option<String>,

    /// Token the dashboard and the API require (bearer header, or /?token= once in the browser); without one
    /// the HTTP server listens on loopback only. Also `token` in the file or TELLTALE_TOKEN.
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,

    /// Store anomalies and alerts only, not every reading.
    #[arg(long)]
    pub no_store_readings: bool,

    /// Stop after this many seconds (default: at Ctrl-C or SIGTERM).
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,

    /// Print no line per anomaly.
    #[arg(long)]
    pub quiet: bool,
}

/// `telltale simulate`.
#[derive(Debug, Args)]
pub(crate) struct SimulateArgs {
    /// CSV sensor log to replay.
    #[arg(long, value_name = "FILE", required_unless_present = "synthetic")]
    pub data: Option<PathBuf>,

    /// Generate sensor-like signals with injected point, contextual and collective anomalies instead.
    #[arg(long, conflicts_with = "data")]
    pub synthetic: bool,

    /// Columns to send, comma-separated (default: every numeric column but the timestamp).
    #[arg(long, value_delimiter = ',')]
    pub features: Vec<String>,

    /// Devices (each replays the rows; synthetic devices get signals of their own).
    #[arg(long, default_value_t = 1)]
    pub devices: usize,

    /// Readings per second per device (0: as fast as the broker takes them).
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,

    /// The broker: mqtt[s]://[user:password@]host[:port].
    #[arg(long, value_name = "URL", default_value = "mqtt://127.0.0.1:1883")]
    pub broker: String,

    /// With mqtts://: trust this CA certificate (PEM) instead of the system's.
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,

    /// Rows to replay: A..B (from 0, B excluded).
    #[arg(long, value_name = "A..B")]
    pub rows: Option<String>,

    /// Topic; {device} is replaced by the device's name.
    #[arg(long, default_value = "sensors/{device}/data")]
    pub topic: String,

    /// Readings per message (a JSON array when more than one).
    #[arg(long, default_value_t = 1)]
    pub batch: usize,

    /// MQTT QoS: 0 or 1.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(0..=1))]
    pub qos: u8,

    /// Synthetic rows per device.
    #[arg(long, default_value_t = 2000)]
    pub synthetic_rows: usize,

    /// Seed of the synthetic signals (device i uses seed + i).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Write the synthetic anomalies' labels here (CSV: device, timestamp, anomaly, kind).
    #[arg(long, value_name = "FILE", requires = "synthetic")]
    pub labels: Option<PathBuf>,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Where to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum DeviceArg {
    /// burn's CPU backend (Flex).
    Cpu,
    /// burn's CUDA backend, first GPU (needs the `cuda` build feature).
    Cuda,
    /// burn's wgpu backend, the default GPU (needs the `wgpu` build feature).
    Wgpu,
}

/// `telltale train`.
#[derive(Debug, Args)]
pub(crate) struct TrainArgs {
    /// The experiment configuration.
    #[arg(long, value_name = "FILE.toml")]
    pub config: PathBuf,

    /// Model directory to write (default: runs/<name>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Where to train.
    #[arg(long, value_enum, default_value = "cpu")]
    pub device: DeviceArg,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `telltale bench ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum BenchCommand {
    /// Training speed: seconds per epoch of seed 000's CNN-LSTM on the accelerometer data.
    Train(BenchTrainArgs),
    /// Inference latency of a trained model through telltale-runtime, one window and batched.
    Latency(BenchLatencyArgs),
    /// Live detection throughput and latency through real brokers, against the broker alone in the same run.
    Stream(BenchStreamArgs),
    /// The Numenta Anomaly Benchmark: streaming detectors on a NAB-layout corpus, NAB's scorer, beside its scoreboard.
    Nab(BenchNabArgs),
    /// The Skoltech Anomaly Benchmark's protocol on every labelled SKAB-format file of a folder, beside its leaderboard.
    Skab(BenchSkabArgs),
}

/// `telltale bench nab`.
#[derive(Debug, Args)]
pub(crate) struct BenchNabArgs {
    /// The corpus: `data/<category>/<file>.csv` and `labels/combined_windows.json` (default: $TELLTALE_DATA/NAB).
    #[arg(long, value_name = "DIR")]
    pub corpus: Option<PathBuf>,

    /// The detectors, a TOML file laid out like `examples/nab-detectors.toml` (default: that roster, built in).
    #[arg(long, value_name = "FILE")]
    pub roster: Option<PathBuf>,

    /// Only these detectors (names as the table prints them, comma-separated; default: all).
    #[arg(long, value_delimiter = ',')]
    pub detectors: Vec<String>,

    /// Also write every detector's NAB result files here (`<detector>/<category>/<detector>_<file>.csv`).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Write a run record per detector here (`<detector>/run.json`, `scores.csv`) for `telltale report`.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `telltale bench skab`.
#[derive(Debug, Args)]
pub(crate) struct BenchSkabArgs {
    /// Folder of SKAB-format files, searched recursively (default: $TELLTALE_DATA/SKAB/data).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Only these detectors (comma-separated names; default: every zoo preset and baseline that fits SKAB).
    #[arg(long, value_delimiter = ',')]
    pub models: Vec<String>,

    /// Write a run record per detector here (`<detector>/run.json`, `scores.csv`) for `telltale report`.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,

    /// Device for the networks.
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    pub device: DeviceArg,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `telltale nab-score`.
#[derive(Debug, Args)]
pub(crate) struct NabScoreArgs {
    /// NAB result files: one detector's folder (`<category>/<detector>_<file>.csv`) or a folder of such folders.
    #[arg(long, value_name = "DIR")]
    pub results: PathBuf,

    /// The windows file (NAB's `labels/combined_windows.json`); only the series it lists are scored.
    #[arg(long, value_name = "FILE")]
    pub windows: PathBuf,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `telltale bench stream`.
#[derive(Debug, Args)]
pub(crate) struct BenchStreamArgs {
    /// The model: a trained model directory or an exported model file.
    #[arg(long, value_name = "DIR|FILE")]
    pub model: String,

    /// CSV whose rows every device replays (default: the bundled accelerometer data).
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,

    /// Devices publishing.
    #[arg(long, default_value_t = 100)]
    pub devices: usize,

    /// Readings each device publishes.
    #[arg(long, default_value_t = 3000)]
    pub readings: usize,

    /// Readings per message.
    #[arg(long, default_value_t = 10)]
    pub batch: usize,

    /// Readings per second offered, all devices together (0: as fast as the broker takes them).
    #[arg(long, default_value_t = 100_000.0)]
    pub rate: f64,

    /// Brokers to run through, comma-separated: embedded, mosquitto (Debian's package).
    #[arg(long, value_delimiter = ',', default_value = "embedded,mosquitto")]
    pub brokers: Vec<String>,

    /// Store anomalies only, not every reading (serve stores every reading by default).
    #[arg(long)]
    pub no_store_readings: bool,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `telltale bench latency`.
#[derive(Debug, Args)]
pub(crate) struct BenchLatencyArgs {
    /// A trained model directory (its test windows are scored).
    #[arg(long, value_name = "DIR")]
    pub model: PathBuf,

    /// Timed one-window calls.
    #[arg(long, default_value_t = 5000)]
    pub calls: usize,

    /// Timed passes over the test windows on every core.
    #[arg(long, default_value_t = 20)]
    pub rounds: usize,

    /// Also export with int8 weights and report its size and test accuracy beside the f32 model's.
    #[arg(long)]
    pub int8: bool,

    /// Windows per runtime call in batched mode.
    #[arg(long, default_value_t = 32)]
    pub tile: usize,

    /// Threads in batched mode (0: every core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,

    /// A peer to run in the same invocation; every `NAME_batch1_us`, `NAME_batched_us_per_window` and
    /// `NAME_bytes` it prints is reported with telltale's ratio (keras_cnn_lstm.py prints TFLite's,
    /// torch_cnn_lstm.py ONNX Runtime's). Repeatable.
    #[arg(long, value_name = "COMMAND")]
    pub reference: Vec<String>,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `telltale export`.
#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// A trained model directory.
    #[arg(long, value_name = "DIR")]
    pub model: PathBuf,

    /// The file to write (default: DIR/model.safetensors).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Store weight matrices as int8 with one scale per column (about a quarter of the size).
    #[arg(long)]
    pub int8: bool,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `telltale bench train`.
#[derive(Debug, Args)]
pub(crate) struct BenchTrainArgs {
    /// Experiment to time (default: seed 000's protocol on the accelerometer data).
    #[arg(long, value_name = "FILE.toml")]
    pub config: Option<PathBuf>,

    /// Epochs to time (early stopping off).
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,

    /// A peer to run in the same invocation: a command printing `median_epoch_s SECONDS`
    /// (../shared/reference/keras_cnn_lstm.py and torch_cnn_lstm.py do). Repeatable.
    #[arg(long, value_name = "COMMAND")]
    pub reference: Vec<String>,

    /// Where to train.
    #[arg(long, value_enum, default_value = "cpu")]
    pub device: DeviceArg,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `telltale tune`.
#[derive(Debug, Args)]
pub(crate) struct TuneArgs {
    /// The experiment configuration, with a [tune] section.
    #[arg(long, value_name = "FILE.toml")]
    pub config: PathBuf,

    /// Where to train.
    #[arg(long, value_enum, default_value = "cpu")]
    pub device: DeviceArg,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `telltale report`.
#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// A run's folder (a model directory, or what `--report` of evaluate/bench wrote), or a folder of them.
    #[arg(value_name = "RUN_DIR")]
    pub dir: PathBuf,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `telltale evaluate`.
#[derive(Debug, Args)]
pub(crate) struct EvaluateArgs {
    /// The model directory.
    #[arg(long, value_name = "DIR")]
    pub model: PathBuf,

    /// Data file (default: the file the model was trained on).
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,

    /// Score only this part of the model's own split (recomputed from its seed).
    #[arg(long, value_enum)]
    pub split: Option<PartArg>,

    /// Write the run record (run.json, scores.csv) here for `telltale report`.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,

    /// Where to compute.
    #[arg(long, value_enum, default_value = "cpu")]
    pub device: DeviceArg,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// A part of a split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum PartArg {
    /// Training windows.
    Train,
    /// Validation windows.
    Val,
    /// Test windows.
    Test,
}

/// `telltale detect`.
#[derive(Debug, Args)]
pub(crate) struct DetectArgs {
    /// The model directory.
    #[arg(long, value_name = "DIR")]
    pub model: PathBuf,

    /// Data file to scan.
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,

    /// Write every window's row to this CSV (default: only flagged windows to stdout).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Where to compute.
    #[arg(long, value_enum, default_value = "cpu")]
    pub device: DeviceArg,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

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
    /// The window spec, when --window and --step are given.
    pub(crate) fn spec(&self) -> Option<WindowSpec> {
        Some(WindowSpec {
            size: self.window?,
            step: self.step?,
            label: self.window_label,
            include_last: self.include_last,
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

/// `telltale demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Directory holding accelerometer.csv and examples/ (default: the bundled data/).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// After the fans' replay, keep serving (the live dashboard stays up) until Ctrl-C.
    #[arg(long)]
    pub keep_serving: bool,
}
