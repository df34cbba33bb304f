//! `telltale bench train`: the flags into telltale-bench's options, its
//! timings printed (the runs themselves: `telltale_bench::perf::train`).

use anyhow::Result;
use telltale_bench::perf::train::{TrainOptions, experiment, run};

use crate::cli::BenchTrainArgs;
use crate::device::device;
use crate::output::{emit, print_json};

/// Runs the command.
pub(crate) fn run_bench_train(args: &BenchTrainArgs) -> Result<()> {
    let cfg = experiment(args.config.as_deref())?;
    let dev = device(args.device)?;
    let timings = run(cfg, &TrainOptions { epochs: args.epochs, references: args.reference.clone() }, &dev)?;
    if args.json { print_json(&timings.to_json()) } else { emit(&timings.render()) }
}
