//! A small filesystem of its own (tmpfs), to fill: what a full disk does to a database. Mounting needs root.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};
use crate::server::is_root;

/// A mounted tmpfs, unmounted when dropped.
#[derive(Debug)]
pub struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mounts a tmpfs of `kb` KiB on a fresh folder named after `name`.
    pub fn mount(name: &str, kb: u64) -> Result<Tmpfs> {
        if !is_root() {
            return Err(Error::Step {
                program: "mount".into(),
                dir: PathBuf::from("/"),
                output: "a small filesystem needs root (mount -t tmpfs); run the tests as root".into(),
            });
        }
        let dir = std::env::temp_dir().join(format!("telltale-tmpfs-{name}-{}", std::process::id()));
        let _ = Command::new("umount").arg(&dir).output();
        std::fs::create_dir_all(&dir).map_err(Error::io(format!("cannot create {}", dir.display())))?;
        let fs = Tmpfs(dir);
        fs.run(&["-t", "tmpfs", "-o", &format!("size={kb}k"), "tmpfs"])?;
        Ok(fs)
    }

    /// Its folder.
    pub fn dir(&self) -> &Path {
        &self.0
    }

    /// Grows (or shrinks) it to `kb` KiB, keeping what it holds.
    pub fn resize(&self, kb: u64) -> Result<()> {
        self.run(&["-o", &format!("remount,size={kb}k")])
    }

    fn run(&self, args: &[&str]) -> Result<()> {
        let out = Command::new("mount").args(args).arg(&self.0).output().map_err(Error::io("mount"))?;
        if out.status.success() {
            return Ok(());
        }
        Err(Error::Step {
            program: "mount".into(),
            dir: self.0.clone(),
            output: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).output();
        let _ = std::fs::remove_dir(&self.0);
    }
}
