//! `telltale bench latency`: the flags into telltale-bench's options, its
//! timings printed (the runs themselves: `telltale_bench::perf::latency`).

use anyhow::Result;
use telltale_bench::perf::latency::{LatencyOptions, run as time};

use crate::cli::BenchLatencyArgs;
use crate::output::{emit, print_json};

/// Runs the command.
pub(crate) fn run(args: &BenchLatencyArgs) -> Result<()> {
    let report = time(&LatencyOptions {
        model: args.model.clone(),
        calls: args.calls,
        rounds: args.rounds,
        int8: args.int8,
        tile: args.tile,
        threads: args.threads,
        references: args.reference.clone(),
    })?;
    if args.json { print_json(&report.to_json()) } else { emit(&report.render()) }
}
