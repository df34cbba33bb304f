//! PostgreSQL servers (trust authentication, user `telltale`, database `postgres`).

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::net::free_port;
use crate::server::{Launch, Server, find, is_root, scratch, step};

/// A PostgreSQL server at `postgres://telltale@127.0.0.1:PORT/postgres`.
pub fn postgres() -> Server {
    Server::expect(launch())
}

/// What starts [`postgres()`] (its data folder initialised).
pub fn launch() -> Result<Launch> {
    let versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    let initdb = find("initdb", &versions, "postgresql")?;
    let postgres = initdb.with_file_name("postgres");
    let port = free_port();
    let dir = scratch("postgres", port)?;
    let data = dir.join("data").display().to_string();
    // PostgreSQL refuses to run as root: as root, run it as the `postgres` user the package creates.
    let root = is_root();
    let as_user = |program: &Path| -> Vec<String> {
        let mut c = Vec::new();
        if root {
            c.extend(["runuser", "-u", "postgres", "--"].map(String::from));
        }
        c.push(program.display().to_string());
        c
    };
    if root {
        step(Path::new("chown"), &["postgres", &dir.display().to_string()], &dir)?;
    }
    let mut init = as_user(&initdb);
    init.extend(["-D", &data, "-A", "trust", "-U", "telltale", "-E", "UTF8", "--no-sync"].map(String::from));
    let init_args: Vec<&str> = init[1..].iter().map(String::as_str).collect();
    step(Path::new(&init[0]), &init_args, &dir)?;
    let mut command = as_user(&postgres);
    let (port_s, sockets) = (port.to_string(), dir.display().to_string());
    command.extend(
        ["-D", &data, "-p", &port_s, "-k", &sockets, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]
            .map(String::from),
    );
    Ok(Launch { command, port, dir, url: format!("postgres://telltale@127.0.0.1:{port}/postgres") })
}
