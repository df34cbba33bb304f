//! `telltale bench chaos`: the flags into telltale-bench's options (this binary is the `serve` deployed), its
//! table or JSON printed, and a failure when a deployment broke its promise (the runs themselves:
//! `telltale_bench::chaos`).

use std::time::Duration;

use anyhow::{Context, Result, bail};
use telltale_bench::chaos::{ChaosOptions, DbKind, run as chaos};

use crate::cli::BenchChaosArgs;
use crate::output::{emit, print_json};

/// Runs the command.
pub(crate) fn run(args: &BenchChaosArgs) -> Result<()> {
    if !(args.outage_s.is_finite() && args.outage_s >= 0.0) {
        bail!("--outage-s must be 0 or more seconds, not {}", args.outage_s);
    }
    let options = ChaosOptions {
        exe: std::env::current_exe().context("cannot find this binary (it is the serve deployed)")?,
        scenarios: args.scenarios.clone(),
        readings: args.readings,
        devices: args.devices,
        rate: args.rate,
        outage: Duration::from_secs_f64(args.outage_s),
        ids: args.ids,
        db: DbKind::parse(&args.db)?,
    };
    let report = chaos(&options)?;
    if args.json {
        print_json(&report.to_json())?;
    } else {
        emit(&report.render())?;
    }
    let broken = report.broken();
    if !broken.is_empty() {
        bail!("a deployment broke its promise: {}", broken.join("; "));
    }
    Ok(())
}
