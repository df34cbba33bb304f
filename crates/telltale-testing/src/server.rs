//! A real server process on 127.0.0.1: started from a [`Launch`] (what one kind of server needs), logged to
//! `server.log` in its scratch folder, stopped and cleaned up when dropped, restartable on the same port and data.
//!
//! A kind of server is a file (`mosquitto.rs`, `postgres.rs`, `mariadb.rs`) that prepares its scratch folder
//! with [`scratch`], finds its programs with [`find`], runs set-up steps with [`step`] and returns a [`Launch`].

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::net::wait_port;

/// How long a server may take to accept connections.
const LISTEN_WITHIN: Duration = Duration::from_secs(60);

/// What starts one server: its command line, the port it listens on, its scratch folder and the URL to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    /// The program and its arguments.
    pub command: Vec<String>,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its scratch folder (data, logs, configuration), removed when the server is dropped.
    pub dir: PathBuf,
    /// The URL to reach it.
    pub url: String,
}

/// A server process and its scratch folder.
#[derive(Debug)]
pub struct Server {
    child: Option<Child>,
    /// Its scratch folder (data, logs, configuration).
    pub dir: PathBuf,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The URL to reach it.
    pub url: String,
    /// How to start it again (restarts).
    command: Vec<String>,
}

impl Server {
    /// Starts `launch` and waits until it accepts connections.
    pub fn start(launch: Launch) -> Result<Server> {
        Server::start_within(launch, LISTEN_WITHIN)
    }

    fn start_within(launch: Launch, within: Duration) -> Result<Server> {
        let Launch { command, port, dir, url } = launch;
        let mut server = Server { child: None, dir, port, url, command };
        server.spawn(within)?;
        Ok(server)
    }

    /// Starts the server `launch` prepared, or panics saying why (what a test wants).
    pub fn expect(launch: Result<Launch>) -> Server {
        match launch.and_then(Server::start) {
            Ok(server) => server,
            Err(e) => panic!("{e}"),
        }
    }

    fn program(&self) -> String {
        self.command.first().cloned().unwrap_or_default()
    }

    fn spawn(&mut self, within: Duration) -> Result<()> {
        let program = self.program();
        let log = std::fs::File::create(self.dir.join("server.log")).map_err(Error::io("the server's log file"))?;
        let err = log.try_clone().map_err(Error::io("the server's log file"))?;
        let child = Command::new(&program)
            .args(self.command.iter().skip(1))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .map_err(Error::io(format!("cannot start {program}")))?;
        self.child = Some(child);
        if !wait_port(self.port, within) {
            return Err(Error::NotListening { program, port: self.port, log: self.log() });
        }
        Ok(())
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// Stops the server the way a service manager does (SIGTERM, then waits; SIGKILL after 20 s).
    pub fn stop(&mut self) {
        self.stop_with("TERM");
    }

    /// Stops the server with `signal` (`INT`: PostgreSQL's fast shutdown, which ends open sessions; its SIGTERM
    /// waits for them), then waits; SIGKILL after 20 s.
    pub fn stop_with(&mut self, signal: &str) {
        if let Some(mut child) = self.child.take() {
            signal_all(child.id(), signal);
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(20) {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            signal_all(child.id(), "KILL");
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and data; panics if it does not come back.
    pub fn restart(&mut self) {
        if let Err(e) = self.start_again() {
            panic!("{e}");
        }
    }

    /// Stops it if it runs, then starts it again on the same port and data, waiting until it listens; an error
    /// (with its log) if it does not come back.
    pub fn start_again(&mut self) -> Result<()> {
        self.stop();
        self.spawn(LISTEN_WITHIN)
    }
}

/// Sends `signal` to process `pid` and to its children: a server run as its own user through `runuser` is the
/// child of the process started (runuser does not pass every signal on, and a SIGKILL would orphan it).
fn signal_all(pid: u32, signal: &str) {
    let _ = Command::new("pkill").args([format!("-{signal}"), "-P".into(), pid.to_string()]).status();
    let _ = Command::new("kill").args([format!("-{signal}"), pid.to_string()]).status();
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal_all(child.id(), "KILL");
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A fresh scratch folder for a server of `kind` on `port` (emptied if a previous run left one).
pub fn scratch(kind: &str, port: u16) -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("telltale-{kind}-{}-{port}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(Error::io(format!("cannot create {}", dir.display())))?;
    Ok(dir)
}

/// Whether the tests run as root (servers that refuse root are then run as their own user).
pub fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false)
}

/// `program`, found on PATH or in one of the folders `also`; `package` is the Debian package that has it.
pub fn find(program: &str, also: &[PathBuf], package: &str) -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(also.iter().cloned())
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .ok_or_else(|| Error::NotInstalled { program: program.into(), package: package.into() })
}

/// Runs a set-up step (`initdb`, `openssl`, …) to completion; `dir` is named if it fails.
pub fn step(program: &Path, args: &[&str], dir: &Path) -> Result<()> {
    let out = Command::new(program).args(args).output().map_err(Error::io(program.display().to_string()))?;
    if out.status.success() {
        return Ok(());
    }
    Err(Error::Step {
        program: program.display().to_string(),
        dir: dir.to_owned(),
        output: format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings<const N: usize>(items: [&str; N]) -> Vec<String> {
        items.map(String::from).to_vec()
    }

    #[test]
    fn a_missing_program_names_its_package() {
        let e = find("telltale-no-such-program", &[], "telltale-nothing").expect_err("not installed");
        assert_eq!(
            e.to_string(),
            "telltale-no-such-program not found: install Debian's telltale-nothing (scripts/test.sh does)"
        );
    }

    #[test]
    fn a_failing_step_shows_its_output() {
        let dir = std::env::temp_dir();
        let sh = find("sh", &[], "dash").expect("sh");
        let e = step(&sh, &["-c", "echo broken >&2; exit 3"], &dir).expect_err("fails");
        assert!(e.to_string().contains("broken"), "{e}");
        step(&sh, &["-c", "true"], &dir).expect("succeeds");
    }

    #[test]
    fn a_server_that_never_listens_is_reported_with_its_log() {
        let port = crate::net::free_port();
        let dir = scratch("silent", port).expect("scratch");
        let command = strings(["sh", "-c", "echo not listening today; sleep 30"]);
        let launch = Launch { command, port, dir: dir.clone(), url: String::new() };
        let e = Server::start_within(launch, Duration::from_millis(500)).expect_err("never listens");
        let Error::NotListening { program, port: p, log } = &e else { panic!("{e}") };
        assert_eq!((program.as_str(), *p), ("sh", port));
        assert!(log.contains("not listening today"), "{e}");
        // The half-started server was dropped: its process ended and its folder went with it.
        assert!(!dir.exists(), "{}", dir.display());
    }

    #[test]
    fn a_server_listens_restarts_and_cleans_up() {
        let port = crate::net::free_port();
        let dir = scratch("python", port).expect("scratch");
        let python = find("python3", &[], "python3").expect("python3");
        let script = format!(
            "import socket,time\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n\
             s.bind(('127.0.0.1',{port}))\ns.listen()\nprint('up',flush=True)\ntime.sleep(60)"
        );
        let command = vec![python.display().to_string(), "-c".into(), script];
        let mut server =
            Server::start(Launch { command, port, dir: dir.clone(), url: format!("tcp://127.0.0.1:{port}") })
                .expect("starts");
        assert!(server.log().contains("up"), "{}", server.log());
        server.restart();
        assert!(wait_port(port, Duration::from_secs(5)), "listens again after a restart");
        drop(server);
        assert!(!dir.exists(), "the scratch folder goes with the server");
    }
}
