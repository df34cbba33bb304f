//! Real servers for the tests, started on loopback in a scratch folder and
//! stopped when dropped: PostgreSQL, MariaDB and Mosquitto from Debian's
//! packages (`scripts/test.sh` installs them when missing).

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free port on loopback.
pub(crate) fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// Waits until something accepts connections on `port` (at most `within`).
pub(crate) fn wait_port(port: u16, within: Duration) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let start = Instant::now();
    while start.elapsed() < within {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// A server process and its scratch folder.
#[derive(Debug)]
pub(crate) struct Server {
    child: Option<Child>,
    /// Its scratch folder (data, logs, configuration).
    pub(crate) dir: PathBuf,
    /// Its port on 127.0.0.1.
    pub(crate) port: u16,
    /// The URL to reach it.
    pub(crate) url: String,
    /// How to start it again (Mosquitto restarts).
    command: Vec<String>,
}

impl Server {
    fn spawn(&mut self) {
        let log = std::fs::File::create(self.dir.join("server.log")).expect("log file");
        let child = Command::new(&self.command[0])
            .args(&self.command[1..])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.command[0]));
        self.child = Some(child);
        assert!(wait_port(self.port, Duration::from_secs(60)), "{} did not listen: {}", self.command[0], self.log());
    }

    /// The server's log so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// Stops the server the way a service manager does (SIGTERM, then waits).
    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(20) {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and data.
    pub(crate) fn restart(&mut self) {
        self.stop();
        self.spawn();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn scratch(kind: &str, port: u16) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("telltale-{kind}-{}-{port}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false)
}

/// `program`, found on PATH or in `also` (a glob-free list of folders).
fn find(program: &str, also: &[PathBuf], package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(also.iter().cloned())
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{program} not found: install Debian's {package} (scripts/test.sh does)"))
}

fn run(program: &Path, args: &[&str], dir: &Path) {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    assert!(
        out.status.success(),
        "{} failed in {}: {}{}",
        program.display(),
        dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A PostgreSQL server (trust authentication, user `telltale`, database `postgres`).
pub(crate) fn postgres() -> Server {
    let versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    let initdb = find("initdb", &versions, "postgresql");
    let postgres = initdb.with_file_name("postgres");
    let port = free_port();
    let dir = scratch("postgres", port);
    let data = dir.join("data");
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
        run(Path::new("chown"), &["postgres", &dir.display().to_string()], &dir);
    }
    let mut init = as_user(&initdb);
    init.extend(
        ["-D", &data.display().to_string(), "-A", "trust", "-U", "telltale", "-E", "UTF8", "--no-sync"]
            .map(String::from),
    );
    run(Path::new(&init[0]), &init[1..].iter().map(String::as_str).collect::<Vec<_>>(), &dir);
    let mut command = as_user(&postgres);
    let port_s = port.to_string();
    let sockets = dir.display().to_string();
    command.extend(
        [
            "-D",
            &data.display().to_string(),
            "-p",
            &port_s,
            "-k",
            &sockets,
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
        ]
        .map(String::from),
    );
    let url = format!("postgres://telltale@127.0.0.1:{port}/postgres");
    let mut server = Server { child: None, dir, port, url, command };
    server.spawn();
    server
}

/// A MariaDB server (no grant tables: user `root` without a password; database `telltale` to be created).
pub(crate) fn mariadb() -> Server {
    let sbin = [PathBuf::from("/usr/sbin")];
    let install = find("mariadb-install-db", &sbin, "mariadb-server");
    let daemon = find("mariadbd", &sbin, "mariadb-server");
    let port = free_port();
    let dir = scratch("mariadb", port);
    let data = dir.join("data").display().to_string();
    run(
        &install,
        &["--no-defaults", &format!("--datadir={data}"), "--user=root", "--auth-root-authentication-method=normal"],
        &dir,
    );
    let command = [
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
    ]
    .to_vec();
    let url = format!("mysql://root@127.0.0.1:{port}/telltale");
    let mut server = Server { child: None, dir, port, url, command };
    server.spawn();
    server
}

/// A Mosquitto broker on TLS only (a CA and a server certificate for 127.0.0.1 made with openssl) that lets in
/// user `ann` with password `s3cret` and nobody else. Returns the broker and the CA certificate's path.
pub(crate) fn mosquitto_tls() -> (Server, PathBuf) {
    let program = find("mosquitto", &[PathBuf::from("/usr/sbin")], "mosquitto");
    let passwd = find("mosquitto_passwd", &[], "mosquitto");
    let openssl = find("openssl", &[], "openssl");
    let port = free_port();
    let dir = scratch("mosquitto-tls", port);
    let d = |name: &str| dir.join(name).display().to_string();
    let subject_alt =
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n";
    std::fs::write(dir.join("ext.cnf"), subject_alt).expect("ext.cnf");
    for args in [
        vec!["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", &d("ca.key"), "-out", &d("ca.pem")],
        vec!["req", "-newkey", "rsa:2048", "-nodes", "-keyout", &d("server.key"), "-out", &d("server.csr")],
    ] {
        let subject = if args.contains(&"-x509") { "/CN=telltale test CA" } else { "/CN=127.0.0.1" };
        let mut all = args.clone();
        all.extend(["-days", "2", "-subj", subject]);
        run(&openssl, &all, &dir);
    }
    let (csr, ca, ca_key, server, ext) = (d("server.csr"), d("ca.pem"), d("ca.key"), d("server.pem"), d("ext.cnf"));
    run(
        &openssl,
        &[
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
        ],
        &dir,
    );
    run(&passwd, &["-b", "-c", &d("passwd"), "ann", "s3cret"], &dir);
    let mut text = format!(
        "listener {port} 127.0.0.1\ncafile {ca}\ncertfile {server}\nkeyfile {}\nallow_anonymous false\n\
         password_file {}\n",
        d("server.key"),
        d("passwd")
    );
    if is_root() {
        text.push_str("user root\n");
    }
    std::fs::write(dir.join("mosquitto.conf"), text).expect("mosquitto.conf");
    let command = vec![program.display().to_string(), "-c".into(), d("mosquitto.conf")];
    let url = format!("mqtts://ann:s3cret@127.0.0.1:{port}");
    let ca_path = dir.join("ca.pem");
    let mut server = Server { child: None, dir, port, url, command };
    server.spawn();
    (server, ca_path)
}

/// A Mosquitto broker with persistence (so a restart keeps persistent sessions and their queued messages).
pub(crate) fn mosquitto() -> Server {
    let program = find("mosquitto", &[PathBuf::from("/usr/sbin")], "mosquitto");
    let port = free_port();
    let dir = scratch("mosquitto", port);
    let conf = dir.join("mosquitto.conf");
    let mut text = format!(
        "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {}/\n\
         max_queued_messages 1000000\nmax_inflight_messages 1000\nautosave_interval 1\n",
        dir.display()
    );
    if is_root() {
        text.push_str("user root\n");
    }
    std::fs::write(&conf, text).expect("mosquitto.conf");
    let command = vec![program.display().to_string(), "-c".into(), conf.display().to_string()];
    let url = format!("mqtt://127.0.0.1:{port}");
    let mut server = Server { child: None, dir, port, url, command };
    server.spawn();
    server
}
