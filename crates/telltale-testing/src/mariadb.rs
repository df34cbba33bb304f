//! MariaDB servers (no grant tables: user `root` without a password).

use std::path::PathBuf;

use crate::error::Result;
use crate::net::free_port;
use crate::server::{Launch, Server, find, scratch, step};

/// A MariaDB server; its URL names database `telltale`, which the test creates (`CREATE DATABASE`) through the
/// server's root URL (the URL without `/telltale`).
pub fn mariadb() -> Server {
    Server::expect(launch())
}

/// What starts [`mariadb()`] (its data folder installed).
pub fn launch() -> Result<Launch> {
    let sbin = [PathBuf::from("/usr/sbin")];
    let install = find("mariadb-install-db", &sbin, "mariadb-server")?;
    let daemon = find("mariadbd", &sbin, "mariadb-server")?;
    let port = free_port();
    let dir = scratch("mariadb", port)?;
    let data = dir.join("data").display().to_string();
    step(
        &install,
        &["--no-defaults", &format!("--datadir={data}"), "--user=root", "--auth-root-authentication-method=normal"],
        &dir,
    )?;
    let command = vec![
        daemon.display().to_string(),
        "--no-defaults".into(),
        format!("--datadir={data}"),
        format!("--port={port}"),
        "--bind-address=127.0.0.1".into(),
        format!("--socket={}", dir.join("sock").display()),
        format!("--pid-file={}", dir.join("pid").display()),
        "--user=root".into(),
        "--skip-grant-tables".into(),
        "--skip-name-resolve".into(),
        "--innodb-flush-log-at-trx-commit=2".into(),
    ];
    Ok(Launch { command, port, dir, url: format!("mysql://root@127.0.0.1:{port}/telltale") })
}

/// Creates database `name` on `server` (a [`mariadb()`]) with the `mariadb` client.
pub fn create_database(server: &Server, name: &str) -> Result<()> {
    let client = find("mariadb", &[], "mariadb-client")?;
    let port = server.port.to_string();
    let sql = format!("CREATE DATABASE IF NOT EXISTS {name}");
    step(&client, &["--protocol=tcp", "-h", "127.0.0.1", "-P", &port, "-u", "root", "-e", &sql], &server.dir)
}
