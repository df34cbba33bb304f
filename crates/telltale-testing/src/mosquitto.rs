//! Mosquitto brokers: plain with persistence, or TLS-only with a password file.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::net::free_port;
use crate::server::{Launch, Server, find, is_root, scratch, step};
use crate::tls::certificates;

/// A Mosquitto broker with persistence (a restart keeps persistent sessions and their queued messages), at
/// `mqtt://127.0.0.1:PORT`.
pub fn mosquitto() -> Server {
    Server::expect(launch())
}

/// A Mosquitto broker on TLS only (a CA and a server certificate for 127.0.0.1 made with openssl) that lets in
/// user `ann` with password `s3cret` and nobody else, at `mqtts://ann:s3cret@127.0.0.1:PORT`. Returns the broker
/// and the CA certificate's path.
pub fn mosquitto_tls() -> (Server, PathBuf) {
    match launch_tls() {
        Ok((launch, ca)) => (Server::expect(Ok(launch)), ca),
        Err(e) => panic!("{e}"),
    }
}

fn program() -> Result<PathBuf> {
    find("mosquitto", &[PathBuf::from("/usr/sbin")], "mosquitto")
}

/// Writes `conf` (plus `user root` when running as root: Mosquitto drops to its own user otherwise).
fn configure(dir: &std::path::Path, mut text: String) -> Result<PathBuf> {
    if is_root() {
        text.push_str("user root\n");
    }
    let conf = dir.join("mosquitto.conf");
    std::fs::write(&conf, text).map_err(Error::io("mosquitto.conf"))?;
    Ok(conf)
}

/// What starts [`mosquitto()`].
pub fn launch() -> Result<Launch> {
    let program = program()?;
    let port = free_port();
    let dir = scratch("mosquitto", port)?;
    let text = format!(
        "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {}/\n\
         max_queued_messages 1000000\nmax_inflight_messages 1000\nautosave_interval 1\n",
        dir.display()
    );
    let conf = configure(&dir, text)?;
    let command = vec![program.display().to_string(), "-c".into(), conf.display().to_string()];
    Ok(Launch { command, port, dir, url: format!("mqtt://127.0.0.1:{port}") })
}

/// What starts [`mosquitto_tls()`], and the CA certificate's path.
pub fn launch_tls() -> Result<(Launch, PathBuf)> {
    let program = program()?;
    let passwd = find("mosquitto_passwd", &[], "mosquitto")?;
    let port = free_port();
    let dir = scratch("mosquitto-tls", port)?;
    let d = |name: &str| dir.join(name).display().to_string();
    let certs = certificates(&dir)?;
    let (ca, server) = (certs.ca.display().to_string(), certs.cert.display().to_string());
    step(&passwd, &["-b", "-c", &d("passwd"), "ann", "s3cret"], &dir)?;
    let text = format!(
        "listener {port} 127.0.0.1\ncafile {ca}\ncertfile {server}\nkeyfile {}\nallow_anonymous false\n\
         password_file {}\n",
        d("server.key"),
        d("passwd")
    );
    let conf = configure(&dir, text)?;
    let command = vec![program.display().to_string(), "-c".into(), conf.display().to_string()];
    let ca_path = dir.join("ca.pem");
    Ok((Launch { command, port, dir, url: format!("mqtts://ann:s3cret@127.0.0.1:{port}") }, ca_path))
}

/// The per-device ACL recipe of the README: user `telltale` (password `svc-pw`) reads every device's topics and
/// writes alerts; devices `pump-7` and `pump-9` (passwords `p7`, `p9`) may publish only under
/// `sensors/<their name>/`. Anonymous clients are refused. At `mqtt://127.0.0.1:PORT` (no credentials in it).
pub fn mosquitto_acl() -> Server {
    Server::expect(launch_acl())
}

/// What starts [`mosquitto_acl()`].
pub fn launch_acl() -> Result<Launch> {
    let program = program()?;
    let passwd = find("mosquitto_passwd", &[], "mosquitto")?;
    let port = free_port();
    let dir = scratch("mosquitto-acl", port)?;
    let d = |name: &str| dir.join(name).display().to_string();
    step(&passwd, &["-b", "-c", &d("passwd"), "telltale", "svc-pw"], &dir)?;
    for (user, pw) in [("pump-7", "p7"), ("pump-9", "p9")] {
        step(&passwd, &["-b", &d("passwd"), user, pw], &dir)?;
    }
    let acl = "user telltale\ntopic read sensors/#\ntopic write alerts/#\n\n\
               # every other user: its own topics only\npattern write sensors/%u/#\n";
    std::fs::write(dir.join("acl"), acl).map_err(Error::io("acl"))?;
    let text = format!(
        "listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {}\nacl_file {}\n",
        d("passwd"),
        d("acl")
    );
    let conf = configure(&dir, text)?;
    let command = vec![program.display().to_string(), "-c".into(), conf.display().to_string()];
    Ok(Launch { command, port, dir, url: format!("mqtt://127.0.0.1:{port}") })
}
