//! `telltale bench stream`: the model and data found as `serve` and `simulate`
//! find them, the flags into telltale-bench's options, its figures printed
//! (the runs themselves: `telltale_bench::perf::stream`).

use anyhow::Result;
use telltale_bench::perf::stream::{StreamOptions, run as measure};

use crate::cli::BenchStreamArgs;
use crate::output::{emit, print_json};

/// Runs the command.
pub(crate) fn run(args: &BenchStreamArgs) -> Result<()> {
    let model = crate::serve::load_model(&args.model)?;
    let data = match &args.data {
        Some(p) => p.clone(),
        None => crate::demo::data_dir(None)?.join("accelerometer.csv"),
    };
    let report = measure(
        &model,
        &StreamOptions {
            data,
            devices: crate::simulate::device_names(args.devices),
            readings: args.readings,
            batch: args.batch,
            rate: args.rate,
            brokers: args.brokers.clone(),
            store_readings: !args.no_store_readings,
        },
    )?;
    if args.json { print_json(&report.to_json()) } else { emit(&report.render()) }
}
