//! Label rules: the first line is the rule (`wconfid != 1`), the rest a CSV it is evaluated on.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use telltale_core::dataset::LabelSource;
use telltale_core::{DataSpec, Dataset, label::LabelRule, table::Table};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (rule, csv) = text.split_once('\n').unwrap_or((text, ""));
    if LabelRule::parse(rule).is_err() {
        return;
    }
    let Ok(table) = Table::from_reader(Path::new("fuzz.csv"), b',', csv.as_bytes()) else { return };
    let spec = DataSpec { label: Some(LabelSource::Rule(rule.to_owned())), ..DataSpec::default() };
    let _ = Dataset::from_table(&table, &spec);
});
