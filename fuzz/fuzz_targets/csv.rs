//! CSV loading and typing: a sensor log's bytes through `Table::from_reader` and `Dataset::from_table`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use telltale_core::{DataSpec, Dataset, table::Table};

fuzz_target!(|data: &[u8]| {
    for separator in [b',', b';'] {
        let Ok(table) = Table::from_reader(Path::new("fuzz.csv"), separator, data) else { continue };
        if let Ok(d) = Dataset::from_table(&table, &DataSpec::default()) {
            assert_eq!(d.values().len(), d.n_rows() * d.n_features());
        }
    }
});
