//! Comparing floating-point results: every value out of tolerance named, with the worst one.

use std::fmt::Write as _;

/// How many mismatches a failure lists before summarising the rest.
const SHOWN: usize = 8;

/// Asserts `|actual[i] − expected[i]| ≤ tol` for every `i` (and equal lengths; NaN matches only NaN).
///
/// On failure the message gives the lengths, the first mismatches (index, actual, expected, difference), how many
/// there are, and the worst difference.
#[track_caller]
pub fn assert_all_close<A, E>(actual: &[A], expected: &[E], tol: f64)
where
    A: Copy + Into<f64>,
    E: Copy + Into<f64>,
{
    if let Some(message) = mismatches(actual, expected, |_| tol, &format!("tolerance {tol:e}")) {
        panic!("{message}");
    }
}

/// Asserts `|actual[i] − expected[i]| ≤ tol · (1 + |expected[i]|)` for every `i`: absolute near zero, relative for
/// large values (numpy's `isclose` with `atol = rtol = tol`).
#[track_caller]
pub fn assert_all_close_rel<A, E>(actual: &[A], expected: &[E], tol: f64)
where
    A: Copy + Into<f64>,
    E: Copy + Into<f64>,
{
    let within = |e: f64| tol * (1.0 + e.abs());
    if let Some(message) = mismatches(actual, expected, within, &format!("tolerance {tol:e} · (1 + |expected|)")) {
        panic!("{message}");
    }
}

/// The failure message, or `None` when every value is within `within(expected)`.
fn mismatches<A, E>(actual: &[A], expected: &[E], within: impl Fn(f64) -> f64, rule: &str) -> Option<String>
where
    A: Copy + Into<f64>,
    E: Copy + Into<f64>,
{
    let mut bad = Vec::new();
    let mut worst: Option<(usize, f64)> = None;
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let (a, e): (f64, f64) = (a.into(), e.into());
        let both_nan = a.is_nan() && e.is_nan();
        let diff = (a - e).abs();
        // A NaN on one side only is a difference that is never within tolerance.
        let within_tol = diff.partial_cmp(&within(e)).is_some_and(|o| o.is_le());
        if !both_nan && !within_tol {
            bad.push((i, a, e, diff));
            if worst.is_none_or(|(_, w)| diff > w || diff.is_nan()) {
                worst = Some((i, diff));
            }
        }
    }
    if bad.is_empty() && actual.len() == expected.len() {
        return None;
    }
    let mut out = String::new();
    if actual.len() != expected.len() {
        let _ = writeln!(out, "lengths differ: actual {}, expected {}", actual.len(), expected.len());
    }
    if !bad.is_empty() {
        let compared = actual.len().min(expected.len());
        let _ = writeln!(out, "{} of {compared} values differ beyond {rule}:", bad.len());
        for (i, a, e, d) in bad.iter().take(SHOWN) {
            let _ = writeln!(out, "  [{i}] actual {a:?}, expected {e:?}, difference {d:e}");
        }
        if bad.len() > SHOWN {
            let _ = writeln!(out, "  … and {} more", bad.len() - SHOWN);
        }
        if let Some((i, d)) = worst {
            let _ = writeln!(out, "worst: [{i}], difference {d:e}");
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
        let e = std::panic::catch_unwind(f).expect_err("the assertion fails");
        e.downcast_ref::<String>().cloned().unwrap_or_default()
    }

    #[test]
    fn within_tolerance_passes_for_f64_and_f32() {
        assert_all_close(&[1.0, 2.0, f64::NAN], &[1.0 + 1e-10, 2.0, f64::NAN], 1e-9);
        assert_all_close(&[0.5f32, 0.25], &[0.5f64, 0.25], 0.0);
        assert_all_close_rel(&[1000.0], &[1000.0 + 1e-6], 1e-9);
    }

    #[test]
    fn a_failure_names_each_value_and_the_worst() {
        let m = message(|| assert_all_close(&[1.0, 2.0, 3.0, 4.0], &[1.0, 2.5, 3.0, 3.0], 0.1));
        assert!(m.starts_with("2 of 4 values differ beyond tolerance 1e-1:"), "{m}");
        assert!(m.contains("[1] actual 2.0, expected 2.5, difference 5e-1"), "{m}");
        assert!(m.contains("[3] actual 4.0, expected 3.0, difference 1e0"), "{m}");
        assert!(m.contains("worst: [3], difference 1e0"), "{m}");
    }

    #[test]
    fn lengths_nans_and_relative_tolerance_are_checked() {
        let m = message(|| assert_all_close(&[1.0, 2.0], &[1.0], 1e-9));
        assert!(m.starts_with("lengths differ: actual 2, expected 1"), "{m}");
        let m = message(|| assert_all_close(&[f64::NAN], &[1.0], 1e9));
        assert!(m.contains("[0] actual NaN, expected 1.0"), "{m}");
        // Relative: 1e-6 off at 1000 is within 1e-9 · 1001; at 0 it is not.
        let m = message(|| assert_all_close_rel(&[1e-6], &[0.0], 1e-9));
        assert!(m.contains("beyond tolerance 1e-9 · (1 + |expected|)"), "{m}");
        let many: Vec<f64> = (0..20).map(f64::from).collect();
        let m = message(|| assert_all_close(&many, &[-1.0; 20], 0.5));
        assert!(m.contains("… and 12 more") && m.contains("worst: [19], difference 2e1"), "{m}");
    }
}
