//! Peers run in the same invocation: a reference command prints `NAME NUMBER`
//! pairs on stdout (e.g. `median_epoch_s 1.25`), read back as figures.

use std::collections::BTreeMap;
use std::process::Command;

use crate::error::{Context, Error, Result};

/// Runs a peer's command and returns every `NAME NUMBER` pair it prints on stdout.
pub fn reference_figures(command: &str) -> Result<BTreeMap<String, f64>> {
    let mut parts = command.split_whitespace();
    let program = parts.next().ok_or_else(|| Error::Failed("empty --reference command".into()))?;
    let out = Command::new(program)
        .args(parts)
        .env("TF_CPP_MIN_LOG_LEVEL", "2")
        .output()
        .context_with(|| format!("running {command}"))?;
    if !out.status.success() {
        return Err(Error::Failed(format!(
            "{command} failed: {}",
            String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or_default()
        )));
    }
    Ok(figures(&String::from_utf8_lossy(&out.stdout)))
}

/// Every `NAME NUMBER` pair of whitespace-separated words in `text`.
fn figures(text: &str) -> BTreeMap<String, f64> {
    let words: Vec<&str> = text.split_whitespace().collect();
    words.windows(2).filter_map(|w| Some((w[0].to_owned(), w[1].parse().ok()?))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_name_number_pairs() {
        let f = figures("preset cnn-lstm\nmedian_epoch_s 1.5\nonnx_batch1_us 48.5 done\n");
        assert_eq!(f.get("median_epoch_s"), Some(&1.5));
        assert_eq!(f.get("onnx_batch1_us"), Some(&48.5));
        assert_eq!(f.len(), 2);
    }

    #[test]
    fn an_empty_command_is_refused() {
        let err = reference_figures("  ").expect_err("empty");
        assert_eq!(err.to_string(), "empty --reference command");
    }
}
