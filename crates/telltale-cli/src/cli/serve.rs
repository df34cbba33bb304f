//! Flags of the live side: `serve`, `config print`, `simulate`, `demo`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

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

    /// The embedded broker's password file (NAME:HASH lines from `telltale passwd NAME`): only its users connect.
    /// Needed to listen off loopback.
    #[arg(long, value_name = "FILE")]
    pub broker_passwords: Option<String>,

    /// The embedded broker's TLS certificate chain (PEM): with --broker-tls-key its listener speaks TLS only.
    #[arg(long, value_name = "FILE", requires = "broker_tls_key")]
    pub broker_tls_cert: Option<String>,

    /// The private key (PEM) of --broker-tls-cert.
    #[arg(long, value_name = "FILE", requires = "broker_tls_cert")]
    pub broker_tls_key: Option<String>,

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

/// `telltale passwd`.
#[derive(Debug, Args)]
pub(crate) struct PasswdArgs {
    /// The user name (1 to 128 characters, no ':' and no spaces).
    pub name: String,
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
