//! `telltale bench msl`: the flags into telltale-bench's options, the report
//! printed (the protocol and the leaderboard: `telltale_bench::msl`).

use anyhow::Result;
use telltale_bench::msl::leaderboard::render;
use telltale_bench::msl::protocol::{MslOptions, run as run_bench};

use crate::cli::BenchMslArgs;
use crate::device::device;
use crate::output::report;

/// Runs the command.
pub(crate) fn run(args: &BenchMslArgs) -> Result<()> {
    let options = MslOptions {
        data_dir: args.data_dir.clone(),
        roster: args.roster.clone(),
        detectors: args.detectors.clone(),
        cv: args.cv,
        report: args.report.clone(),
    };
    let dev = device(args.device)?;
    report(args.json, &run_bench(&options, &dev)?, render)
}
