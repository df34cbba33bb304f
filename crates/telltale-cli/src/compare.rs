//! `telltale compare`: the flags into telltale-bench's options, the table
//! printed (the runs themselves: `telltale_bench::perf::compare`).

use anyhow::Result;
use telltale_bench::perf::compare::{CompareOptions, compare};

use crate::cli::CompareArgs;
use crate::device::device;
use crate::output::{emit, print_json};

/// Runs the command.
pub(crate) fn run(args: &CompareArgs) -> Result<()> {
    let dev = device(args.device)?;
    let options = CompareOptions { configs: args.configs.clone(), seeds: args.seeds.clone(), calls: args.calls };
    let report = compare(&options, &dev)?;
    if args.json { print_json(&report) } else { emit(&report.render()) }
}
