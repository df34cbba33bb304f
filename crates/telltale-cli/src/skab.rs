//! `telltale bench skab`: the flags into telltale-bench's options, the report
//! printed (the protocol and the leaderboard: `telltale_bench::skab`).

use anyhow::Result;
use telltale_bench::skab::leaderboard::render;
use telltale_bench::skab::protocol::{SkabOptions, SkabRun};

use crate::cli::BenchSkabArgs;
use crate::device::device;
use crate::output::report;

/// Runs the command.
pub(crate) fn run(args: &BenchSkabArgs) -> Result<()> {
    let run = SkabRun::prepare(&SkabOptions {
        data_dir: args.data_dir.clone(),
        models: args.models.clone(),
        report: args.report.clone(),
        cv: args.cv,
        search: args.search.clone(),
    })?;
    let dev = device(args.device)?;
    report(args.json, &run.run(&dev)?, render)
}
