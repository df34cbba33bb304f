//! Test certificates: a CA and a server certificate for 127.0.0.1 and `localhost` it signed, made with openssl.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::server::{find, step};

/// PEM files in one folder.
#[derive(Debug, Clone)]
pub struct Certificates {
    /// The CA's certificate (what clients trust).
    pub ca: PathBuf,
    /// The server's certificate.
    pub cert: PathBuf,
    /// The server's private key.
    pub key: PathBuf,
}

/// Makes a CA and a server certificate (valid two days) in `dir`.
pub fn certificates(dir: &Path) -> Result<Certificates> {
    let openssl = find("openssl", &[], "openssl")?;
    let d = |name: &str| dir.join(name).display().to_string();
    let subject_alt =
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n";
    std::fs::write(dir.join("ext.cnf"), subject_alt).map_err(Error::io("ext.cnf"))?;
    for args in [
        vec!["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", &d("ca.key"), "-out", &d("ca.pem")],
        vec!["req", "-newkey", "rsa:2048", "-nodes", "-keyout", &d("server.key"), "-out", &d("server.csr")],
    ] {
        let subject = if args.contains(&"-x509") { "/CN=telltale test CA" } else { "/CN=127.0.0.1" };
        let mut all = args.clone();
        all.extend(["-days", "2", "-subj", subject]);
        step(&openssl, &all, dir)?;
    }
    let (csr, ca, ca_key, server, ext) = (d("server.csr"), d("ca.pem"), d("ca.key"), d("server.pem"), d("ext.cnf"));
    let sign = [
        "x509",
        "-req",
        "-in",
        &csr,
        "-CA",
        &ca,
        "-CAkey",
        &ca_key,
        "-CAcreateserial",
        "-out",
        &server,
        "-days",
        "2",
        "-extfile",
        &ext,
    ];
    step(&openssl, &sign, dir)?;
    Ok(Certificates { ca: dir.join("ca.pem"), cert: dir.join("server.pem"), key: dir.join("server.key") })
}
