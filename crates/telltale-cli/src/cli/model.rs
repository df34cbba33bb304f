//! Flags of the model commands: `train`, `evaluate`, `detect`, `tune`, `export`, `report`.

use std::path::PathBuf;

use clap::Args;

use crate::device::DeviceArg;

/// `telltale train`.
#[derive(Debug, Args)]
pub(crate) struct TrainArgs {
    /// The experiment configuration (a federated site takes the coordinator's instead).
    #[arg(long, value_name = "FILE.toml", required_unless_present = "federated")]
    pub config: Option<PathBuf>,

    /// Train as a site of a federated run: the coordinator's broker, mqtt[s]://[user:password@]host[:port][/RUN]
    /// (RUN: the run's name, needed only when the broker carries several). Only updates leave this machine.
    #[arg(long, value_name = "URL", requires_all = ["client", "data"], conflicts_with = "config")]
    pub federated: Option<String>,

    /// With --federated: this site's name (a topic level).
    #[arg(long, value_name = "NAME")]
    pub client: Option<String>,

    /// With --federated: this site's data file (read with the run's data spec).
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,

    /// With --federated and mqtts://: trust this CA certificate (PEM) instead of the system's.
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,

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

/// `telltale federate`.
#[derive(Debug, Args)]
pub(crate) struct FederateArgs {
    /// The run: an experiment configuration with a [federated] table.
    #[arg(long, value_name = "FILE.toml")]
    pub config: PathBuf,

    /// Use this MQTT broker instead of the embedded one: mqtt[s]://[user:password@]host[:port].
    #[arg(long, value_name = "URL")]
    pub broker: Option<String>,

    /// With mqtts://: trust this CA certificate (PEM) instead of the system's.
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,

    /// Where the embedded broker listens (default 127.0.0.1:1883).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:1883")]
    pub listen: String,

    /// The embedded broker's password file (NAME:HASH lines from `telltale passwd NAME`). Needed off loopback.
    #[arg(long, value_name = "FILE")]
    pub broker_passwords: Option<PathBuf>,

    /// The embedded broker's TLS certificate chain (PEM): with --broker-tls-key its listener speaks TLS only.
    #[arg(long, value_name = "FILE", requires = "broker_tls_key")]
    pub broker_tls_cert: Option<PathBuf>,

    /// The private key (PEM) of --broker-tls-cert.
    #[arg(long, value_name = "FILE", requires = "broker_tls_cert")]
    pub broker_tls_key: Option<PathBuf>,

    /// Where the run keeps its state and model directories (default runs/federated/<run>): a restart resumes
    /// after the last completed round stored there.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Where to judge the global model.
    #[arg(long, value_enum, default_value = "cpu")]
    pub device: DeviceArg,

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

    /// The file to write (default: DIR/model.safetensors, or DIR/model.onnx / DIR/model.tflite).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Store weight matrices as int8 with one scale per column (about a quarter of the size).
    #[arg(long)]
    pub int8: bool,

    /// Write an ONNX model (opset 17) instead: raw readings in, the scaler and the network inside, for ONNX
    /// Runtime and the converters that start from ONNX. Every network of the zoo (with --int8, the int8 weights
    /// widened back to f32).
    #[arg(long, conflicts_with = "tflite")]
    pub onnx: bool,

    /// Write a TFLite flatbuffer instead (batch 1, raw readings in, the scaler inside), for TFLite, LiteRT and
    /// TFLite Micro. Every network of the zoo but GRUs (TFLite has no GRU operator) and the convolutional
    /// autoencoder; with --int8, int8 weights with one scale per output channel, widened by DEQUANTIZE.
    #[arg(long)]
    pub tflite: bool,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `telltale import`.
#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// The ONNX file (from `torch.onnx.export`, or `tf2onnx` for Keras).
    #[arg(value_name = "MODEL.onnx")]
    pub onnx: PathBuf,

    /// Feature columns, in the order of the model's input (comma-separated).
    #[arg(long, value_delimiter = ',', required = true)]
    pub features: Vec<String>,

    /// Steps per window (checked against the graph where it fixes them).
    #[arg(long, value_name = "N")]
    pub window: Option<usize>,

    /// Steps between windows when scoring a file (default: 1).
    #[arg(long, value_name = "M")]
    pub step: Option<usize>,

    /// The scaler the model was trained behind: JSON, either telltale's (`telltale inspect`'s) or
    /// `{"mean": […], "scale": […]}` as scikit-learn's StandardScaler holds it (`mean_`, `scale_`), or
    /// `{"min": […], "scale": […]}` for (x − min) / scale.
    #[arg(long, value_name = "FILE")]
    pub scaler: Option<PathBuf>,

    /// What the output is (default: one value → classify, the window back → novelty).
    #[arg(long, value_enum)]
    pub task: Option<TaskArg>,

    /// A label rule over the data's columns (e.g. "wconfid != 1"), so `evaluate` can judge the model.
    #[arg(long, value_name = "RULE")]
    pub label: Option<String>,

    /// The threshold on scores (default 0.5 for classifiers; required for autoencoders).
    #[arg(long)]
    pub threshold: Option<f64>,

    /// A data file the model directory points at (`bench latency` times its windows).
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,

    /// The model's name (default: the file's stem).
    #[arg(long)]
    pub name: Option<String>,

    /// The model directory to write.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `--task` of `import`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum TaskArg {
    /// One logit or probability per window.
    Classify,
    /// The window reconstructed (an autoencoder).
    Novelty,
    /// The next steps predicted.
    Forecast,
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

/// `telltale compare`.
#[derive(Debug, Args)]
pub(crate) struct CompareArgs {
    /// An experiment configuration (repeat: `--config A.toml --config B.toml`); each keeps its own split.
    #[arg(long = "config", value_name = "FILE.toml", required = true)]
    pub configs: Vec<PathBuf>,

    /// Weight seeds, one training run each (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "42,1,2")]
    pub seeds: Vec<u64>,

    /// One-window calls timed per run (the latency is their median).
    #[arg(long, default_value_t = 500)]
    pub calls: usize,

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
