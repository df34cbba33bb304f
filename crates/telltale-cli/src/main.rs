//! `telltale`: one binary that inspects sensor logs, judges detectors and
//! (as the project grows) trains, serves and benchmarks them.
//!
//! Exit codes: 0 success, 1 unexpected failure, 2 bad arguments or
//! configuration, 3 bad input data (unreadable or malformed files).

mod bench;
mod chaos;
// The flags' doc comments are clap's help text (`[tune]`, `runs/<name>`), not rustdoc links or HTML.
#[allow(rustdoc::broken_intra_doc_links, rustdoc::invalid_html_tags)]
mod cli;
mod compare;
mod demo;
mod demo_stream;
mod detect;
mod device;
mod evaluate;
mod export;
mod federate;
mod import;
mod inspect;
mod judge;
mod latency;
mod msl;
mod nab;
mod output;
mod report;
mod scored;
mod serve;
mod simulate;
mod skab;
mod stream_bench;
mod train;
mod tune;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::cli::{BenchCommand, Cli, Command, ConfigCommand};

/// mimalloc keeps freed pages for reuse: burn allocates a fresh buffer per
/// tensor, and the system allocator returns large ones to the kernel at
/// once, paying page faults on every operation (4x slower matmuls here).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit code for bad arguments or configuration (clap uses it too).
const EXIT_USAGE: u8 = 2;
/// Exit code for bad input data.
const EXIT_DATA: u8 = 3;

fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    // The embedded broker logs every client that leaves abruptly as an error: its own lines only at -vvv.
    let broker = if verbose >= 3 { "trace" } else { "off" };
    let filter = EnvFilter::try_from_env("TELLTALE_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("{level},rumqttd={broker},remote_link={broker}")));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}

fn exit_code(err: &anyhow::Error) -> u8 {
    if let Some(e) = err.downcast_ref::<telltale_core::Error>() {
        return core_exit_code(e);
    }
    if let Some(e) = err.downcast_ref::<telltale_stream::Error>() {
        return stream_exit_code(e);
    }
    if let Some(e) = err.downcast_ref::<telltale_bench::Error>() {
        // A benchmark passes the lower crates' errors through: they decide, as when called directly.
        return match e.root() {
            telltale_bench::Error::Core(e) => core_exit_code(e),
            telltale_bench::Error::Stream(e) => stream_exit_code(e),
            telltale_bench::Error::Models(e) => models_exit_code(e),
            telltale_bench::Error::Data(_) => EXIT_DATA,
            telltale_bench::Error::Config { .. } => EXIT_USAGE,
            _ => 1,
        };
    }
    if let Some(e) = err.downcast_ref::<telltale_federated::Error>() {
        return match e {
            telltale_federated::Error::Core(e) => core_exit_code(e),
            telltale_federated::Error::Stream(e) => stream_exit_code(e),
            telltale_federated::Error::Models(e) => models_exit_code(e),
            telltale_federated::Error::Config { .. } => 2,
            telltale_federated::Error::Io { .. } | telltale_federated::Error::State { .. } => 3,
            _ => 1,
        };
    }
    match err.downcast_ref::<telltale_models::Error>() {
        Some(e) => models_exit_code(e),
        None => 1,
    }
}

fn core_exit_code(e: &telltale_core::Error) -> u8 {
    if e.is_data_error() { EXIT_DATA } else { EXIT_USAGE }
}

fn stream_exit_code(e: &telltale_stream::Error) -> u8 {
    match e {
        telltale_stream::Error::Config { .. } | telltale_stream::Error::Topic { .. } => EXIT_USAGE,
        telltale_stream::Error::Malformed { .. } => EXIT_DATA,
        _ => 1,
    }
}

fn models_exit_code(e: &telltale_models::Error) -> u8 {
    if e.is_data_error() { EXIT_DATA } else { EXIT_USAGE }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    tracing::debug!(?cli.command, "starting");
    let result = match &cli.command {
        Command::Inspect(args) => inspect::run(args),
        Command::Metrics(args) => judge::run(args),
        Command::Train(args) => train::run_train(args),
        Command::Federate(args) => federate::run(args),
        Command::Evaluate(args) => evaluate::run_evaluate(args),
        Command::Detect(args) => detect::run_detect(args),
        Command::Tune(args) => tune::run_tune(args),
        Command::Compare(args) => compare::run(args),
        Command::Bench(BenchCommand::Train(args)) => bench::run_bench_train(args),
        Command::Bench(BenchCommand::Latency(args)) => latency::run(args),
        Command::Bench(BenchCommand::Stream(args)) => stream_bench::run(args),
        Command::Bench(BenchCommand::Chaos(args)) => chaos::run(args),
        Command::Bench(BenchCommand::Federated(args)) => federate::bench(args),
        Command::Bench(BenchCommand::Nab(args)) => nab::run_bench(args),
        Command::Bench(BenchCommand::Skab(args)) => skab::run(args),
        Command::Bench(BenchCommand::Msl(args)) => msl::run(args),
        Command::NabScore(args) => nab::run_score(args),
        Command::Report(args) => report::run(args),
        Command::Export(args) => export::run(args),
        Command::Import(args) => import::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Passwd(args) => serve::passwd(args),
        Command::Config(ConfigCommand::Print(args)) => serve::print_config(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(exit_code(&err))
        }
    }
}
