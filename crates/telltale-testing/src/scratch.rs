//! Scratch folders: one per test, emptied when made, removed when dropped.

use std::path::{Path, PathBuf};

/// A temporary folder `telltale-NAME-PID` removed (with everything in it) when dropped.
#[derive(Debug)]
pub struct Scratch(PathBuf);

impl Scratch {
    /// A fresh folder for `name` (a previous run's leftovers removed).
    pub fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("telltale-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        Scratch(dir)
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.0
    }

    /// `rel` inside the folder, as a string for a command line.
    pub fn path(&self, rel: &str) -> String {
        let path = self.0.join(rel);
        path.to_str().unwrap_or_else(|| panic!("{} is not UTF-8", path.display())).to_owned()
    }

    /// Writes `content` to `rel` inside the folder (making the folders on the way); its path.
    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) -> String {
        let path = self.0.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
        }
        std::fs::write(&path, content).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        self.path(rel)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_land_inside_and_go_with_the_folder() {
        let s = Scratch::new("scratch-test");
        let path = s.write("a/b/c.txt", "hello");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "hello");
        assert!(path.starts_with(s.dir().to_str().expect("utf-8")));
        assert_eq!(s.path("a/b/c.txt"), path);
        let dir = s.dir().to_owned();
        drop(s);
        assert!(!dir.exists());
        // A new one for the same name starts empty.
        let again = Scratch::new("scratch-test");
        again.write("x", b"1");
        let again2 = std::fs::read_dir(again.dir()).expect("list").count();
        assert_eq!(again2, 1);
    }
}
