//! Flags of the benchmarks: `bench train|latency|stream|chaos|nab|skab|msl` and `nab-score`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::device::DeviceArg;

/// `telltale bench ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum BenchCommand {
    /// Training speed: seconds per epoch of seed 000's CNN-LSTM on the accelerometer data.
    Train(BenchTrainArgs),
    /// Inference latency of a trained model through telltale-runtime, one window and batched.
    Latency(BenchLatencyArgs),
    /// Live detection throughput and latency through real brokers, against the broker alone in the same run.
    Stream(BenchStreamArgs),
    /// Scripted faults against a real deployment on loopback (serve killed, brokers and databases restarted, a
    /// full disk, a hanging webhook, 100k device names, payloads at the limit): readings sent, acknowledged,
    /// stored, lost and stored twice, alerts lost or doubled, recovery times.
    Chaos(BenchChaosArgs),
    /// Federated training on loopback: a coordinator and one process per site (each with its own shard) through
    /// one broker, per round figures and bytes both ways, beside the same model trained centrally in the same run.
    Federated(BenchFederatedArgs),
    /// The Numenta Anomaly Benchmark: streaming detectors on a NAB-layout corpus, NAB's scorer, beside its scoreboard.
    Nab(BenchNabArgs),
    /// The Skoltech Anomaly Benchmark's protocol on every labelled SKAB-format file of a folder, beside its leaderboard.
    Skab(BenchSkabArgs),
    /// NASA's spacecraft telemetry (telemanom's layout): detectors fitted on each channel's train array, its test
    /// array scored, telemanom's event-level figures summed over channels, point-wise F1, ROC-AUC and VUS-PR.
    Msl(BenchMslArgs),
}

/// `telltale bench msl`.
#[derive(Debug, Args)]
pub(crate) struct BenchMslArgs {
    /// Folder in telemanom's layout: `labeled_anomalies.csv`, `train/<chan>.npy`, `test/<chan>.npy`
    /// (default: $TELLTALE_DATA/MSL).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// The detectors, a TOML file laid out like `examples/msl-bench.toml` (default: that roster, built in).
    #[arg(long, value_name = "FILE")]
    pub roster: Option<PathBuf>,

    /// Only these detectors (comma-separated names; default: the whole roster).
    #[arg(long, value_delimiter = ',')]
    pub detectors: Vec<String>,

    /// Also cross-validate the choice of detector over K folds of channels (chosen on the other folds).
    #[arg(long, value_name = "K")]
    pub cv: Option<usize>,

    /// Write a run record per detector here (`<detector>/run.json`, `scores.csv`: every scored test
    /// row with its label, score, flag and value) for `telltale report`.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,

    /// Device for the networks.
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    pub device: DeviceArg,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
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

    /// Also cross-validate over K folds of series: thresholds and the choice of detector made on the other folds.
    #[arg(long, value_name = "K")]
    pub cv: Option<usize>,

    /// A grid of settings (laid out like `--roster`) to search: the headline is the search's cross-validated
    /// score (`--cv K` needed), not the best cell's in-sample one.
    #[arg(long, value_name = "FILE", conflicts_with = "roster", requires = "cv")]
    pub search: Option<PathBuf>,

    /// Other detectors' NAB result files (one detector's folder or a folder of them), scored on the same series.
    #[arg(long, value_name = "DIR")]
    pub compare: Option<PathBuf>,

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

    /// Also cross-validate the choice of detector over K folds of files (chosen on the other folds).
    #[arg(long, value_name = "K")]
    pub cv: Option<usize>,

    /// A grid of settings (laid out like `examples/skab-bench.toml`) run instead of the roster: the headline is
    /// the search's cross-validated score (`--cv K` needed), not the best cell's in-sample one.
    #[arg(long, value_name = "FILE", requires = "cv")]
    pub search: Option<PathBuf>,

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

/// `telltale bench federated`.
#[derive(Debug, Args)]
pub(crate) struct BenchFederatedArgs {
    /// The run: an experiment with a [federated] table naming shard_by and sites.
    #[arg(long, value_name = "FILE.toml")]
    pub config: PathBuf,

    /// Sites: the first N of federated.sites (default all).
    #[arg(long, value_name = "N")]
    pub clients: Option<usize>,

    /// The update codec: f32, int8, topk:FRACTION or sign (default the file's).
    #[arg(long, value_name = "CODEC")]
    pub codec: Option<String>,

    /// Rounds (default the file's).
    #[arg(long, value_name = "N")]
    pub rounds: Option<usize>,

    /// Kill one site mid-round (it starts again later) and the coordinator once (it resumes).
    #[arg(long)]
    pub chaos: bool,

    /// Use this broker instead of an embedded one: mqtt://host:port.
    #[arg(long, value_name = "URL")]
    pub broker: Option<String>,

    /// Scratch folder for shards, state and logs (default: a new one under the system's temporary folder).
    #[arg(long, value_name = "DIR")]
    pub work: Option<PathBuf>,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `telltale bench chaos`.
#[derive(Debug, Args)]
pub(crate) struct BenchChaosArgs {
    /// Scenarios to run, comma-separated (default: all): kill-serve, kill-serve-embedded, broker-restarts,
    /// postgres-stopped, mariadb-stopped, disk-full, webhook-hangs, many-devices, payload-limit.
    #[arg(long, value_delimiter = ',')]
    pub scenarios: Vec<String>,

    /// Readings published in each streaming scenario.
    #[arg(long, default_value_t = 20_000)]
    pub readings: usize,

    /// Devices they are dealt to.
    #[arg(long, default_value_t = 20)]
    pub devices: usize,

    /// Messages per second offered.
    #[arg(long, default_value_t = 1_000.0)]
    pub rate: f64,

    /// Seconds a database stays stopped, or the webhook hangs.
    #[arg(long, default_value_t = 30.0)]
    pub outage_s: f64,

    /// New device names in many-devices.
    #[arg(long, default_value_t = 100_000)]
    pub ids: usize,

    /// The database of the scenarios that do not name their own: sqlite, postgres, mariadb.
    #[arg(long, default_value = "postgres")]
    pub db: String,

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
