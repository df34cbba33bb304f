//! `telltale bench skab`.

use anyhow::{Result, bail};

use crate::cli::BenchSkabArgs;

pub(crate) fn run(_args: &BenchSkabArgs) -> Result<()> {
    bail!("bench skab: not built yet")
}
