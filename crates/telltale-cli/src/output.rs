//! Small output helpers shared by the commands.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

/// `1234567` as `1,234,567`.
pub(crate) fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A fraction as a percentage with two decimals.
pub(crate) fn percent(fraction: f64) -> String {
    format!("{:.2}%", 100.0 * fraction)
}

/// Writes `text` to stdout. A reader that went away (`telltale ... | head`)
/// is not an error: the output is simply no longer wanted.
pub(crate) fn emit(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// Prints `value` as pretty JSON on stdout.
pub(crate) fn print_json<T: Serialize>(value: &T) -> Result<()> {
    emit(&(serde_json::to_string_pretty(value)? + "\n"))
}

/// Prints a command's result: JSON with `--json`, else `render`'s text.
pub(crate) fn report<T: Serialize>(json: bool, value: &T, render: impl Fn(&T) -> String) -> Result<()> {
    if json { print_json(value) } else { emit(&render(value)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(153000), "153,000");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(percent(2.0 / 3.0), "66.67%");
    }
}
