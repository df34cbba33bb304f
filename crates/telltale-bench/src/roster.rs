//! Choosing detectors from a benchmark's roster by name (`--detectors`, `--models`).

use crate::error::{Error, Result};

/// The entries of `roster` named in `wanted` (all of them when it is empty),
/// in roster order; an unknown name is an error naming `flag` and the known names.
pub fn select<T>(roster: Vec<T>, wanted: &[String], flag: &str, name: impl Fn(&T) -> &str) -> Result<Vec<T>> {
    if let Some(bad) = wanted.iter().find(|w| !roster.iter().any(|r| name(r) == w.as_str())) {
        let known: Vec<&str> = roster.iter().map(&name).collect();
        return Err(Error::Failed(format!("{flag}: unknown detector '{bad}' (one of: {})", known.join(", "))));
    }
    Ok(roster.into_iter().filter(|r| wanted.is_empty() || wanted.iter().any(|w| w == name(r))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_in_roster_order_and_names_an_unknown_detector() {
        let roster = || vec!["a", "b", "c"];
        let all = select(roster(), &[], "--detectors", |n| n).expect("all");
        assert_eq!(all, ["a", "b", "c"]);
        let some = select(roster(), &["c".into(), "a".into()], "--detectors", |n| n).expect("some");
        assert_eq!(some, ["a", "c"]);
        let err = select(roster(), &["z".into()], "--models", |n| n).expect_err("unknown");
        assert_eq!(err.to_string(), "--models: unknown detector 'z' (one of: a, b, c)");
    }
}
