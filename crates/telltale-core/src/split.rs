//! Splitting windows into train / validation / test, reproducibly from a seed.
//!
//! - [`SplitSpec::Stratified`]: seed 000's protocol, two stratified random
//!   draws as scikit-learn's `train_test_split(..., stratify=y)` makes them
//!   (the same part sizes and per-class counts; the random choice itself
//!   comes from our own seeded generator). Overlapping windows share rows
//!   across parts: [`leakage`] counts them.
//! - [`SplitSpec::Chronological`]: parts in time order with a purge gap.
//! - [`SplitSpec::GroupHoldout`]: whole levels of a group column held out.
//! - [`kfold_stratified`] and [`kfold_blocked`] for cross-validation.

use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::window::Windows;

/// Which levels of the group column go to a held-out part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum GroupPick {
    /// These levels (as written in the data, e.g. `"30"`).
    Levels(Vec<String>),
    /// This fraction of the levels, drawn at random from the seed (rounded, at least one).
    Fraction(f64),
}

/// How to split windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum SplitSpec {
    /// Stratified random split.
    Stratified {
        /// Fraction of windows for training.
        train: f64,
        /// Fraction for validation.
        val: f64,
        /// Fraction for test.
        test: f64,
        /// Random seed.
        seed: u64,
    },
    /// Contiguous parts in time order.
    Chronological {
        /// Fraction of windows for training.
        train: f64,
        /// Fraction for validation.
        val: f64,
        /// Fraction for test.
        test: f64,
        /// Rows left out between parts; at least the window span (the default).
        #[serde(default)]
        purge: Option<usize>,
    },
    /// Whole levels of a group column held out for validation and test.
    GroupHoldout {
        /// The column (it must be one of the dataset's groups).
        column: String,
        /// Levels for validation.
        val: GroupPick,
        /// Levels for test.
        test: GroupPick,
        /// Seed for random picks.
        #[serde(default)]
        seed: u64,
    },
}

/// Window indices of each part.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    /// Training windows.
    pub train: Vec<usize>,
    /// Validation windows.
    pub val: Vec<usize>,
    /// Test windows.
    pub test: Vec<usize>,
}

/// One cross-validation fold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fold {
    /// Training windows.
    pub train: Vec<usize>,
    /// Held-out windows.
    pub test: Vec<usize>,
}

/// Rows shared between parts: non-zero means a test window saw data the
/// model was trained on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leakage {
    /// Distinct rows covered by both a training and a validation window.
    pub train_val_rows: usize,
    /// Distinct rows covered by both a training and a test window.
    pub train_test_rows: usize,
}

fn check_fractions(train: f64, val: f64, test: f64) -> Result<()> {
    for (field, f) in [("train", train), ("val", val), ("test", test)] {
        if !(0.0..=1.0).contains(&f) || !f.is_finite() {
            return Err(Error::invalid(format!("split {field}"), format!("{f} is not a fraction in [0, 1]")));
        }
    }
    if (train + val + test - 1.0).abs() > 1e-9 {
        return Err(Error::invalid("split", format!("fractions add up to {}, not 1", train + val + test)));
    }
    if train == 0.0 {
        return Err(Error::invalid("split train", "must be above 0"));
    }
    Ok(())
}

impl SplitSpec {
    /// The seed 000 protocol: stratified 70 / 15 / 15, seed 42.
    pub fn seed000() -> SplitSpec {
        SplitSpec::Stratified { train: 0.7, val: 0.15, test: 0.15, seed: 42 }
    }

    /// Splits `windows` of `data`.
    pub fn split(&self, data: &Dataset, windows: &Windows) -> Result<Split> {
        match self {
            SplitSpec::Stratified { train, val, test, seed } => {
                check_fractions(*train, *val, *test)?;
                let labels =
                    windows.labels().ok_or_else(|| Error::invalid("split", "a stratified split needs labels"))?;
                stratified(labels, *val, *test, *seed)
            }
            SplitSpec::Chronological { train, val, test, purge } => {
                check_fractions(*train, *val, *test)?;
                chronological(windows, *val, *test, purge.unwrap_or(windows.span()))
            }
            SplitSpec::GroupHoldout { column, val, test, seed } => {
                group_holdout(data, windows, column, val, test, *seed)
            }
        }
    }
}

/// scikit-learn's `_approximate_mode`: split `n_draws` over classes in
/// proportion to `counts`, largest remainders first, ties broken at random.
pub fn approximate_mode(counts: &[usize], n_draws: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let total: usize = counts.iter().sum();
    if total == 0 {
        return vec![0; counts.len()];
    }
    let continuous: Vec<f64> = counts.iter().map(|&c| c as f64 / total as f64 * n_draws as f64).collect();
    let mut floored: Vec<usize> = continuous.iter().map(|c| c.floor() as usize).collect();
    let mut need = n_draws.saturating_sub(floored.iter().sum());
    let remainder: Vec<f64> = continuous.iter().zip(&floored).map(|(c, f)| c - *f as f64).collect();
    let mut values = remainder.clone();
    values.sort_by(|a, b| b.total_cmp(a));
    values.dedup();
    for value in values {
        if need == 0 {
            break;
        }
        let mut inds: Vec<usize> = (0..counts.len()).filter(|&i| remainder[i] == value).collect();
        inds.shuffle(rng);
        for &i in inds.iter().take(need) {
            floored[i] += 1;
        }
        need -= need.min(inds.len());
    }
    floored
}

/// Stratified shuffle split of `0..labels.len()` into (kept, held out) with
/// `n_out` held out, as scikit-learn's `StratifiedShuffleSplit`.
fn stratified_draw(items: &[usize], labels: &[u8], n_out: usize, rng: &mut ChaCha8Rng) -> (Vec<usize>, Vec<usize>) {
    let n_in = items.len() - n_out;
    let classes: Vec<Vec<usize>> = [0u8, 1]
        .iter()
        .map(|&c| items.iter().copied().filter(|&i| (labels[i] != 0) == (c != 0)).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .collect();
    let counts: Vec<usize> = classes.iter().map(Vec::len).collect();
    let n_i = approximate_mode(&counts, n_in, rng);
    let left: Vec<usize> = counts.iter().zip(&n_i).map(|(c, n)| c - n).collect();
    let t_i = approximate_mode(&left, n_out, rng);
    let (mut kept, mut out) = (Vec::with_capacity(n_in), Vec::with_capacity(n_out));
    for (k, mut class) in classes.into_iter().enumerate() {
        class.shuffle(rng);
        kept.extend_from_slice(&class[..n_i[k]]);
        out.extend_from_slice(&class[n_i[k]..n_i[k] + t_i[k]]);
    }
    kept.shuffle(rng);
    out.shuffle(rng);
    (kept, out)
}

/// Stratified train / val / test split of windows with `labels`: first
/// `ceil((val + test)·n)` held out, then `ceil(test / (val + test) · held)` of
/// those to test (scikit-learn's rounding).
pub fn stratified(labels: &[u8], val: f64, test: f64, seed: u64) -> Result<Split> {
    let n = labels.len();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let all: Vec<usize> = (0..n).collect();
    let n_out = ((val + test) * n as f64).ceil() as usize;
    if n_out >= n && n > 0 {
        return Err(Error::invalid("split", format!("{n} windows leave none for training")));
    }
    let (train, held) = stratified_draw(&all, labels, n_out, &mut rng);
    if val == 0.0 || test == 0.0 {
        let (val, test) = if val == 0.0 { (Vec::new(), held) } else { (held, Vec::new()) };
        return Ok(Split { train, val, test });
    }
    let n_test = (test / (val + test) * held.len() as f64).ceil() as usize;
    let (val, test) = stratified_draw(&held, labels, n_test, &mut rng);
    Ok(Split { train, val, test })
}

fn chronological(windows: &Windows, val_f: f64, test_f: f64, purge: usize) -> Result<Split> {
    let n = windows.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| windows.starts()[i]);
    let n_test = (test_f * n as f64).ceil() as usize;
    let n_val = (val_f * n as f64).ceil() as usize;
    let n_train = n.saturating_sub(n_test + n_val);
    let parts = [&order[..n_train], &order[n_train..n_train + n_val], &order[n_train + n_val..]];
    let mut out: [Vec<usize>; 3] = Default::default();
    let mut last_end: Option<usize> = None;
    for (k, part) in parts.iter().enumerate() {
        let kept: Vec<usize> =
            part.iter().copied().filter(|&i| last_end.is_none_or(|end| windows.starts()[i] >= end + purge)).collect();
        if let Some(&last) = kept.last() {
            last_end = Some(windows.rows(last).end);
        }
        out[k] = kept;
    }
    let [train, val, test] = out;
    if train.is_empty() {
        return Err(Error::invalid("split", format!("{n} windows leave none for training")));
    }
    for (field, asked, part, before) in [("val", val_f, &val, n_val), ("test", test_f, &test, n_test)] {
        if asked > 0.0 && part.is_empty() {
            return Err(Error::invalid(
                format!("split {field}"),
                format!(
                    "its {before} windows all fall in the purge gap of {purge} rows before it; give it a larger share"
                ),
            ));
        }
    }
    Ok(Split { train, val, test })
}

fn group_holdout(
    data: &Dataset,
    windows: &Windows,
    column: &str,
    val: &GroupPick,
    test: &GroupPick,
    seed: u64,
) -> Result<Split> {
    let factor = data.group(column).ok_or_else(|| {
        Error::invalid(
            "split column",
            format!("'{column}' is not a group or factor column of the data; add it to groups"),
        )
    })?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut free: Vec<usize> = (0..factor.levels.len()).collect();
    let mut chosen: [Vec<usize>; 2] = Default::default();
    // Named levels first, so a random pick never takes a level named for the other part.
    for (k, (which, p)) in [("test", test), ("val", val)].into_iter().enumerate() {
        if let GroupPick::Levels(levels) = p {
            for l in levels {
                let c = factor.levels.iter().position(|x| x == l).ok_or_else(|| {
                    Error::invalid(
                        format!("split {which}"),
                        format!("'{column}' has no level '{l}' (levels: {})", factor.levels.join(", ")),
                    )
                })?;
                if !free.contains(&c) {
                    return Err(Error::invalid(format!("split {which}"), format!("level '{l}' is held out twice")));
                }
                free.retain(|&x| x != c);
                chosen[k].push(c);
            }
        }
    }
    for (k, (which, p)) in [("test", test), ("val", val)].into_iter().enumerate() {
        if let GroupPick::Fraction(f) = *p {
            if !(0.0..1.0).contains(&f) {
                return Err(Error::invalid(format!("split {which}"), format!("{f} is not a fraction in [0, 1)")));
            }
            let n = ((f * factor.levels.len() as f64).round() as usize).max(usize::from(f > 0.0));
            free.shuffle(&mut rng);
            let take = n.min(free.len());
            chosen[k].extend(free.drain(..take));
        }
    }
    if free.is_empty() {
        return Err(Error::invalid("split", format!("no level of '{column}' is left for training")));
    }
    let [test_levels, val_levels] = chosen;
    let mut split = Split::default();
    for i in 0..windows.len() {
        let rows = windows.rows(i);
        let code = factor.codes[rows.start];
        if factor.codes[rows.clone()].iter().any(|&c| c != code) {
            return Err(Error::invalid(
                "split",
                format!("window at row {} crosses a change of '{column}'; add it to groups", rows.start),
            ));
        }
        let c = code as usize;
        if test_levels.contains(&c) {
            split.test.push(i);
        } else if val_levels.contains(&c) {
            split.val.push(i);
        } else {
            split.train.push(i);
        }
    }
    Ok(split)
}

/// Stratified k-fold as scikit-learn's `StratifiedKFold(shuffle=True)`: the
/// same per-fold class counts, windows drawn from our seeded generator.
pub fn kfold_stratified(labels: &[u8], k: usize, seed: u64) -> Result<Vec<Fold>> {
    let n = labels.len();
    if k < 2 || k > n {
        return Err(Error::invalid("folds", format!("{k} folds for {n} windows")));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Sorted labels dealt round-robin give each fold's class counts.
    let mut sorted: Vec<u8> = labels.iter().map(|&l| u8::from(l != 0)).collect();
    sorted.sort_unstable();
    let mut alloc = vec![[0usize; 2]; k];
    for (i, &l) in sorted.iter().enumerate() {
        alloc[i % k][l as usize] += 1;
    }
    let mut fold_of = vec![0usize; n];
    for class in 0..2u8 {
        let mut idx: Vec<usize> = (0..n).filter(|&i| u8::from(labels[i] != 0) == class).collect();
        idx.shuffle(&mut rng);
        let mut pos = 0;
        for (f, a) in alloc.iter().enumerate() {
            for &i in &idx[pos..pos + a[class as usize]] {
                fold_of[i] = f;
            }
            pos += a[class as usize];
        }
    }
    Ok((0..k)
        .map(|f| Fold {
            train: (0..n).filter(|&i| fold_of[i] != f).collect(),
            test: (0..n).filter(|&i| fold_of[i] == f).collect(),
        })
        .collect())
}

/// Blocked k-fold over windows `idx` of `windows`: `k` contiguous blocks in
/// time order; each is the test part once, and training windows within
/// `purge` rows of it are left out. Folds hold positions into `idx`.
pub fn kfold_blocked(windows: &Windows, idx: &[usize], k: usize, purge: usize) -> Result<Vec<Fold>> {
    let n = idx.len();
    if k < 2 || k > n {
        return Err(Error::invalid("folds", format!("{k} folds for {n} windows")));
    }
    let start = |p: usize| windows.starts()[idx[p]];
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&p| start(p));
    let (base, extra) = (n / k, n % k);
    let mut folds = Vec::with_capacity(k);
    let mut pos = 0;
    for f in 0..k {
        let len = base + usize::from(f < extra);
        let test: Vec<usize> = order[pos..pos + len].to_vec();
        let lo = start(test[0]);
        let hi = test.iter().map(|&p| windows.rows(idx[p]).end).max().unwrap_or(lo);
        // Test windows lie inside [lo, hi), so this also leaves them out.
        let train = order
            .iter()
            .copied()
            .filter(|&p| {
                let r = windows.rows(idx[p]);
                r.end + purge <= lo || r.start >= hi + purge
            })
            .collect();
        folds.push(Fold { train, test });
        pos += len;
    }
    Ok(folds)
}

/// `fold` with every training window that shares a row with a held-out
/// window (or comes within `purge` rows of one) left out: overlapping
/// windows on both sides of a fold would let the model see held-out rows.
/// `idx` maps the fold's positions to window indices, as for [`kfold_blocked`].
pub fn purged(windows: &Windows, idx: &[usize], fold: Fold, purge: usize) -> Fold {
    let n_rows = idx.iter().map(|&i| windows.rows(i).end).max().unwrap_or(0) + purge;
    let mut held = vec![false; n_rows + 1];
    for &p in &fold.test {
        let r = windows.rows(idx[p]);
        held[r.start.saturating_sub(purge)..(r.end + purge).min(n_rows)].iter_mut().for_each(|h| *h = true);
    }
    let train = fold.train.into_iter().filter(|&p| !held[windows.rows(idx[p])].iter().any(|&h| h)).collect();
    Fold { train, test: fold.test }
}

/// Counts the rows shared between the training part and the other parts.
pub fn leakage(windows: &Windows, split: &Split, n_rows: usize) -> Leakage {
    let train = windows.covered_rows(&split.train, n_rows);
    let shared = |part: &[usize]| {
        let rows = windows.covered_rows(part, n_rows);
        rows.iter().zip(&train).filter(|(a, b)| **a && **b).count()
    };
    Leakage { train_val_rows: shared(&split.val), train_test_rows: shared(&split.test) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::WindowSpec;

    fn labelled(labels: Vec<u8>) -> Dataset {
        let n = labels.len();
        Dataset::from_parts(vec!["v".into()], vec![0.0; n], None, Some(labels)).unwrap()
    }

    #[test]
    fn seed000_sizes() {
        // 1,700 normal and 3,398 anomalous windows, as on the accelerometer data.
        let mut labels = vec![0u8; 1700];
        labels.extend(vec![1u8; 3398]);
        let s = stratified(&labels, 0.15, 0.15, 42).unwrap();
        assert_eq!((s.train.len(), s.val.len(), s.test.len()), (3568, 765, 765));
        let ones = |p: &[usize]| p.iter().filter(|&&i| labels[i] == 1).count();
        assert_eq!((ones(&s.train), ones(&s.val), ones(&s.test)), (2378, 510, 510));
        let mut all: Vec<usize> = s.train.iter().chain(&s.val).chain(&s.test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..5098).collect::<Vec<_>>());
        assert_eq!(s, stratified(&labels, 0.15, 0.15, 42).unwrap(), "same seed, same split");
        assert_ne!(s, stratified(&labels, 0.15, 0.15, 7).unwrap(), "another seed, another split");
    }

    #[test]
    fn chronological_split_purges_overlap() {
        let d = labelled(vec![0; 100]);
        let w = Windows::classify(&d, &WindowSpec::new(10, 5)).unwrap();
        let spec = SplitSpec::Chronological { train: 0.6, val: 0.2, test: 0.2, purge: None };
        let s = spec.split(&d, &w).unwrap();
        let lk = leakage(&w, &s, 100);
        assert_eq!(lk, Leakage::default());
        let last_train_end = w.rows(*s.train.last().unwrap()).end;
        assert!(w.starts()[s.val[0]] >= last_train_end + 10, "at least one window between parts");
        assert!(s.train.iter().all(|&i| w.starts()[i] < w.starts()[s.val[0]]));
    }

    #[test]
    fn a_part_lost_to_the_purge_gap_is_an_error() {
        let d = labelled(vec![0; 200]);
        let w = Windows::classify(&d, &WindowSpec::new(30, 1)).unwrap();
        let spec = SplitSpec::Chronological { train: 0.6, val: 0.05, test: 0.35, purge: None };
        let e = spec.split(&d, &w).unwrap_err().to_string();
        assert!(e.starts_with("invalid split val: its 9 windows all fall in the purge gap of 30 rows"), "{e}");
    }

    #[test]
    fn random_split_of_overlapping_windows_leaks() {
        let d = labelled((0..400).map(|i| u8::from(i % 7 == 0)).collect());
        let w = Windows::classify(&d, &WindowSpec::new(20, 10)).unwrap();
        let s = SplitSpec::Stratified { train: 0.7, val: 0.15, test: 0.15, seed: 1 }.split(&d, &w).unwrap();
        assert!(leakage(&w, &s, 400).train_test_rows > 0);
    }

    #[test]
    fn group_holdout_keeps_levels_apart() {
        let text = "g,v\n".to_owned() + &(0..60).map(|i| format!("{},{i}\n", i / 10 * 5)).collect::<String>();
        let t = crate::table::Table::from_reader(std::path::Path::new("g.csv"), b',', text.as_bytes()).unwrap();
        let spec = crate::dataset::DataSpec { groups: vec!["g".into()], ..Default::default() };
        let d = Dataset::from_table(&t, &spec).unwrap();
        let w = Windows::classify(&d, &WindowSpec::new(4, 2)).unwrap();
        let split = SplitSpec::GroupHoldout {
            column: "g".into(),
            val: GroupPick::Levels(vec!["5".into()]),
            test: GroupPick::Fraction(0.34),
            seed: 3,
        }
        .split(&d, &w)
        .unwrap();
        let f = d.group("g").unwrap();
        let levels = |p: &[usize]| {
            let mut l: Vec<u32> = p.iter().map(|&i| f.codes[w.starts()[i]]).collect();
            l.dedup();
            l
        };
        assert_eq!(levels(&split.val), vec![1]);
        assert_eq!(levels(&split.test).len(), 2);
        assert_eq!(leakage(&w, &split, d.n_rows()), Leakage::default());
        let bad = SplitSpec::GroupHoldout {
            column: "g".into(),
            val: GroupPick::Levels(vec!["7".into()]),
            test: GroupPick::Levels(vec![]),
            seed: 0,
        }
        .split(&d, &w)
        .unwrap_err();
        assert!(bad.to_string().contains("'g' has no level '7' (levels: 0, 5, 10, 15, 20, 25)"), "{bad}");
    }

    #[test]
    fn kfolds_cover_everything_once() {
        let labels: Vec<u8> = (0..53).map(|i| u8::from(i % 4 == 0)).collect();
        let folds = kfold_stratified(&labels, 5, 0).unwrap();
        let mut seen = vec![0; 53];
        for f in &folds {
            for &i in &f.test {
                seen[i] += 1;
            }
            assert_eq!(f.train.len() + f.test.len(), 53);
        }
        assert!(seen.iter().all(|&s| s == 1));
        let d = labelled(labels);
        let w = Windows::classify(&d, &WindowSpec::new(4, 1)).unwrap();
        let all: Vec<usize> = (0..w.len()).collect();
        for f in kfold_blocked(&w, &all, 4, 4).unwrap() {
            let lo = w.starts()[f.test[0]];
            let hi = f.test.iter().map(|&i| w.rows(i).end).max().unwrap();
            assert!(f.train.iter().all(|&i| w.rows(i).end + 4 <= lo || w.starts()[i] >= hi + 4));
            assert!(f.train.iter().all(|i| !f.test.contains(i)));
            assert!(!f.train.is_empty());
        }
        let mut tested: Vec<usize> = kfold_blocked(&w, &all, 4, 4).unwrap().into_iter().flat_map(|f| f.test).collect();
        tested.sort_unstable();
        assert_eq!(tested, (0..w.len()).collect::<Vec<_>>(), "each window is tested exactly once");
    }

    #[test]
    fn purged_folds_share_no_row_between_training_and_held_out_windows() {
        let labels: Vec<u8> = (0..200).map(|i| u8::from(i % 7 < 2)).collect();
        let d = labelled(labels);
        // Windows of 10 rows every 5: each shares rows with its neighbours.
        let w = Windows::classify(&d, &WindowSpec::new(10, 5)).unwrap();
        let all: Vec<usize> = (0..w.len()).collect();
        let wl = w.labels().unwrap().to_vec();
        for f in kfold_stratified(&wl, 4, 1).unwrap() {
            let before = f.train.len();
            let f = purged(&w, &all, f, 0);
            let held = w.covered_rows(&f.test, 200);
            let trained = w.covered_rows(&f.train, 200);
            assert!(held.iter().zip(&trained).all(|(h, t)| !(*h && *t)), "a row on both sides");
            assert!(f.train.len() < before && !f.train.is_empty());
        }
    }

    #[test]
    fn bad_fractions() {
        let d = labelled(vec![0, 1, 0, 1]);
        let w = Windows::classify(&d, &WindowSpec::new(1, 1)).unwrap();
        let e = SplitSpec::Stratified { train: 0.7, val: 0.2, test: 0.2, seed: 0 }.split(&d, &w).unwrap_err();
        assert!(e.to_string().contains("add up to"), "{e}");
    }
}
