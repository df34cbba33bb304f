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
}
