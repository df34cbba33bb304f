//! `telltale bench nab` and `telltale nab-score`: the flags into
//! telltale-bench's options, the report printed (the protocol and the
//! scoreboard: `telltale_bench::nab`).

use anyhow::Result;
use telltale_bench::nab::leaderboard::{render_bench, render_score};
use telltale_bench::nab::protocol::{NabOptions, run, score_results};

use crate::cli::{BenchNabArgs, NabScoreArgs};
use crate::output::report;

/// Runs `bench nab`.
pub(crate) fn run_bench(args: &BenchNabArgs) -> Result<()> {
    let options = NabOptions {
        corpus: args.corpus.clone(),
        roster: args.roster.clone().or_else(|| args.search.clone()),
        search: args.search.is_some(),
        detectors: args.detectors.clone(),
        out: args.out.clone(),
        report: args.report.clone(),
        cv: args.cv,
        compare: args.compare.clone(),
    };
    report(args.json, &run(&options)?, render_bench)
}

/// Runs `nab-score`.
pub(crate) fn run_score(args: &NabScoreArgs) -> Result<()> {
    report(args.json, &score_results(&args.results, &args.windows)?, render_score)
}
