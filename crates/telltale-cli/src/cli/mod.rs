//! Command-line arguments: raw flags, validated into core types before any work.
//!
//! One file per command family; every name is re-exported here, so
//! `crate::cli::X` is where a command finds its flags:
//!
//! - `data`: `inspect`, `metrics` (and the data and window flags they share).
//! - `model`: `train`, `evaluate`, `detect`, `tune`, `export`, `report`.
//! - `bench`: `bench train|latency|stream|nab|skab`, `nab-score`.
//! - `serve`: `serve`, `simulate`, `demo`, `config print`.

mod bench;
mod data;
mod model;
mod serve;

use clap::{Parser, Subcommand};

pub(crate) use self::bench::{
    BenchChaosArgs, BenchCommand, BenchFederatedArgs, BenchLatencyArgs, BenchMslArgs, BenchNabArgs, BenchSkabArgs,
    BenchStreamArgs, BenchTrainArgs, NabScoreArgs,
};
pub(crate) use self::data::{DataArgs, InspectArgs, MetricsArgs, WindowArgs};
pub(crate) use self::model::{
    CompareArgs, DetectArgs, EvaluateArgs, ExportArgs, FederateArgs, ImportArgs, PartArg, ReportArgs, TaskArg,
    TrainArgs, TuneArgs,
};
pub(crate) use self::serve::{ConfigCommand, DemoArgs, PasswdArgs, ServeArgs, SimulateArgs};

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
    /// Coordinate federated training: sites (`train --federated`) train on their own data and send only
    /// updates; each round's global model is an ordinary model directory.
    Federate(FederateArgs),
    /// Score a data file with a trained model and report its figures.
    Evaluate(EvaluateArgs),
    /// Flag anomalous windows of a data file with a trained model.
    Detect(DetectArgs),
    /// Grid search with k-fold cross-validation (the configuration's [tune] section).
    Tune(TuneArgs),
    /// Train experiments on the same split over several seeds and print their figures side by side.
    Compare(CompareArgs),
    /// Write a trained network as one runtime model file (safetensors + JSON header).
    Export(ExportArgs),
    /// Import a network trained elsewhere (ONNX, from PyTorch or Keras) as a model directory.
    Import(ImportArgs),
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
    /// Read a password on stdin and print the NAME:HASH line for the embedded broker's password file
    /// (`serve --broker-passwords FILE`).
    Passwd(PasswdArgs),
    /// The service's configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
}
