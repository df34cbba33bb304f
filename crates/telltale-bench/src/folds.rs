//! Folds for cross-validation over the units a benchmark is made of (NAB and
//! MSL series, SKAB files): every unit in exactly one fold, assigned from its
//! name alone, so a unit's fold does not depend on which other units a folder
//! holds, and a run can be repeated anywhere.

use crate::error::{Error, Result};

/// The fold (in `0..k`) of every name: names sorted, then dealt round-robin,
/// which keeps the folds within one unit of the same size.
pub fn assign(names: &[String], k: usize) -> Result<Vec<usize>> {
    if k < 2 {
        return Err(Error::Config { field: "--cv".into(), message: format!("{k} folds: need at least 2") });
    }
    if names.len() < k {
        return Err(Error::Config {
            field: "--cv".into(),
            message: format!("{k} folds of {} units: every fold needs at least one", names.len()),
        });
    }
    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by(|&a, &b| names[a].cmp(&names[b]));
    let mut fold = vec![0; names.len()];
    for (rank, &i) in order.iter().enumerate() {
        fold[i] = rank % k;
    }
    Ok(fold)
}

/// The held-out `(unit, result)` pairs of the detectors chosen fold by fold,
/// and the name chosen for each fold.
pub type Picked<'a, U, R> = (Vec<(&'a U, &'a R)>, Vec<String>);

/// The choice of detector cross-validated over folds of units: for each fold
/// `f`, the detector of `detectors` (`(name, one result per unit)`) whose
/// `score` over the other folds' `(unit, result)` pairs is highest (ties go to
/// the first in roster order; a NaN is never chosen over a number). Gives the
/// held-out pairs of the chosen detectors, for the caller to pool, and the name
/// chosen for each fold.
pub fn choose<'a, U, R>(
    units: &'a [U],
    fold: &[usize],
    k: usize,
    detectors: &'a [(String, Vec<R>)],
    score: impl Fn(Vec<(&'a U, &'a R)>) -> Result<f64>,
) -> Result<Picked<'a, U, R>> {
    let subset = |results: &'a [R], held_out: bool, f: usize| -> Vec<(&'a U, &'a R)> {
        units.iter().zip(results).zip(fold).filter(|(_, g)| (**g == f) == held_out).map(|(pair, _)| pair).collect()
    };
    let mut picked = Vec::with_capacity(units.len());
    let mut chosen = Vec::with_capacity(k);
    for f in 0..k {
        let mut best: Option<(usize, f64)> = None;
        for (i, (_, results)) in detectors.iter().enumerate() {
            let s = score(subset(results, false, f))?;
            if best.is_none_or(|(_, b)| s > b || (b.is_nan() && !s.is_nan())) {
                best = Some((i, s));
            }
        }
        let Some((i, _)) = best else { break };
        picked.extend(subset(&detectors[i].1, true, f));
        chosen.push(detectors[i].0.clone());
    }
    Ok((picked, chosen))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("s{i:02}")).collect()
    }

    #[test]
    fn every_unit_in_one_fold_and_folds_balanced() {
        let f = assign(&names(31), 5).expect("folds");
        let mut sizes = [0; 5];
        for &x in &f {
            sizes[x] += 1;
        }
        assert_eq!(sizes, [7, 6, 6, 6, 6]);
    }

    #[test]
    fn a_units_fold_follows_its_name_not_the_input_order() {
        let mut n = names(10);
        let a = assign(&n, 3).expect("folds");
        n.reverse();
        let b = assign(&n, 3).expect("folds");
        for i in 0..10 {
            assert_eq!(a[i], b[9 - i]);
        }
    }

    #[test]
    fn too_few_units_or_folds_are_refused() {
        assert!(assign(&names(3), 1).unwrap_err().to_string().contains("at least 2"));
        assert!(assign(&names(3), 4).unwrap_err().to_string().contains("every fold"));
    }

    #[test]
    fn each_fold_gets_the_detector_best_on_the_other_folds() {
        // Units 0..4 in folds 0,1,0,1; "a" wins on fold 0's units, "b" on fold 1's,
        // and "nan" scores NaN everywhere, so it is never chosen though listed first.
        let units = [0usize, 1, 2, 3];
        let fold = [0, 1, 0, 1];
        let detectors = vec![
            ("nan".to_string(), vec![f64::NAN; 4]),
            ("a".to_string(), vec![1.0, 0.0, 1.0, 0.0]),
            ("b".to_string(), vec![0.0, 1.0, 0.0, 1.0]),
        ];
        let (picked, chosen) =
            choose(&units, &fold, 2, &detectors, |pairs| Ok(pairs.iter().map(|(_, r)| **r).sum::<f64>()))
                .expect("choice");
        // Fold 0 is scored with the detector best on fold 1 ("b"), and vice versa.
        assert_eq!(chosen, ["b", "a"]);
        let held: Vec<(usize, f64)> = picked.iter().map(|(u, r)| (**u, **r)).collect();
        assert_eq!(held, [(0, 0.0), (2, 0.0), (1, 0.0), (3, 0.0)]);
    }
}
