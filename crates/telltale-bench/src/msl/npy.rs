//! telemanom's arrays: `.npy` files read by [`telltale_core::npy`], errors naming the file.

use std::path::Path;

pub use telltale_core::npy::{Matrix, parse};

use crate::error::{Error, Result};

fn bad(path: &Path, message: impl Into<String>) -> Error {
    Error::Data(format!("{}: {}", path.display(), message.into()))
}

/// Reads an `.npy` file.
pub fn read(path: &Path) -> Result<Matrix> {
    let bytes = std::fs::read(path).map_err(|e| bad(path, format!("cannot read: {e}")))?;
    parse(&bytes).map_err(|m| bad(path, m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_file() {
        let dir = std::env::temp_dir().join(format!("telltale-npy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("C-2.npy");
        std::fs::write(&path, b"\x93NUMPY\x01\x00").expect("write");
        let e = read(&path).expect_err("short").to_string();
        assert!(e.contains("C-2.npy") && e.contains("truncated header"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
