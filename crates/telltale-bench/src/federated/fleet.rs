//! The processes of a federated bench run: the broker (embedded in this process unless one is named), the
//! coordinator and one process per site, and the faults of `--chaos`, timed by the coordinator's round lines.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use telltale_federated::ValidFederated;
use telltale_federated::state::RoundRecord;
use telltale_stream::broker::Embedded;

use super::{Chaos, Options};
use crate::error::{Error, Result};

/// The fleet to fly.
pub struct Fleet<'a> {
    /// The bench's options.
    pub opts: &'a Options,
    /// The run's file as the coordinator reads it.
    pub run_file: &'a Path,
    /// The run.
    pub fed: &'a ValidFederated,
    /// Each site's data file.
    pub shards: &'a [(PathBuf, usize)],
}

/// What the flight gave.
pub struct Flown {
    /// The coordinator's rounds.
    pub rounds: Vec<RoundRecord>,
    /// The faults made.
    pub chaos: Chaos,
    /// Seconds from the first process to the coordinator's end.
    pub seconds: f64,
}

struct Coordinator {
    child: Child,
    stdout: mpsc::Receiver<String>,
}

impl Fleet<'_> {
    fn coordinator(&self, url: &str, tx: &mpsc::Sender<String>) -> Result<Coordinator> {
        let mut child = Command::new(&self.opts.exe)
            .args(["federate", "--json", "--config"])
            .arg(self.run_file)
            .args(["--broker", url, "--out"])
            .arg(self.opts.work.join("coordinator"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let (Some(mut out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(Error::Failed("the coordinator's output could not be read".into()));
        };
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(std::result::Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let (otx, stdout) = mpsc::channel();
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = out.read_to_string(&mut s);
            let _ = otx.send(s);
        });
        Ok(Coordinator { child, stdout })
    }

    fn site(&self, url: &str, i: usize) -> Result<Child> {
        let name = format!("site-{}", i + 1);
        let log =
            std::fs::OpenOptions::new().create(true).append(true).open(self.opts.work.join(format!("{name}.log")))?;
        Ok(Command::new(&self.opts.exe)
            .args(["train", "--json", "--federated", &format!("{url}/{}", self.fed.run), "--client", &name, "--data"])
            .arg(&self.shards[i].0)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?)
    }

    /// Runs the coordinator and the sites to the end.
    pub fn fly(&self, say: &mut dyn FnMut(&str)) -> Result<Flown> {
        let url = match &self.opts.broker {
            Some(u) => u.clone(),
            None => {
                let port = telltale_testing::free_port();
                let listen: SocketAddr = ([127, 0, 0, 1], port).into();
                Embedded { max_payload: 16 << 20, ..Embedded::open(listen) }.start()?;
                format!("mqtt://127.0.0.1:{port}")
            }
        };
        let started = Instant::now();
        let (tx, lines) = mpsc::channel();
        let mut coordinator = self.coordinator(&url, &tx)?;
        let mut sites: Vec<Child> = (0..self.shards.len()).map(|i| self.site(&url, i)).collect::<Result<_>>()?;
        let rounds = self.fed.federated.rounds;
        let victim = 1.min(sites.len() - 1);
        let mut chaos = Chaos::default();
        let mut killed_at = None;
        let coordinator_kill = rounds.div_ceil(2).max(1);
        let limit = Duration::from_secs_f64(
            600.0 + rounds as f64 * (self.fed.federated.deadline_s + 120.0) + self.fed.federated.join_deadline_s,
        );
        let status = loop {
            if started.elapsed() > limit {
                let _ = coordinator.child.kill();
                sites.iter_mut().for_each(|s| drop(s.kill()));
                return Err(Error::Failed(format!("the federated run did not end in {limit:?}")));
            }
            if let Some(status) = coordinator.child.try_wait()? {
                break status;
            }
            let Ok(line) = lines.recv_timeout(Duration::from_millis(200)) else { continue };
            say(&line);
            let Some(round) =
                line.strip_prefix("round").and_then(|r| r.split_whitespace().next()?.parse::<usize>().ok())
            else {
                continue;
            };
            if !self.opts.chaos || round >= rounds {
                continue;
            }
            // Right after round 1 closes, the victim is training round 2: kill it there. The first round that
            // closes without it (at its deadline: round 2, or 3 when the victim had answered 2 before it died)
            // starts it again; it rejoins from the next.
            if round == 1 && chaos.sites_killed == 0 {
                sites[victim].kill()?;
                sites[victim].wait()?;
                chaos.sites_killed += 1;
                killed_at = Some(round);
                say(&format!("chaos: site-{} killed mid-round {}", victim + 1, round + 1));
            }
            if killed_at.is_some_and(|k| round > k && (short_of_sites(&line) || round > k + 1)) {
                sites[victim] = self.site(&url, victim)?;
                killed_at = None;
                say(&format!("chaos: site-{} started again", victim + 1));
            }
            if round == coordinator_kill && chaos.coordinator_restarts == 0 {
                coordinator.child.kill()?;
                coordinator.child.wait()?;
                chaos.coordinator_restarts += 1;
                say("chaos: coordinator killed; restarting it");
                coordinator = self.coordinator(&url, &tx)?;
            }
        };
        while let Ok(line) = lines.try_recv() {
            say(&line);
        }
        let out = coordinator.stdout.recv_timeout(Duration::from_secs(10)).unwrap_or_default();
        if !status.success() {
            sites.iter_mut().for_each(|s| drop(s.kill()));
            return Err(Error::Failed(format!("the coordinator ended with {status}: see its lines above")));
        }
        let seconds = started.elapsed().as_secs_f64();
        let deadline = Instant::now() + Duration::from_secs(30);
        for (i, s) in sites.iter_mut().enumerate() {
            while s.try_wait()?.is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
            if s.try_wait()?.is_none() {
                say(&format!("site-{} did not stop after the last round: killed", i + 1));
                let _ = s.kill();
            }
        }
        let json: serde_json::Value = serde_json::from_str(&out).map_err(|e| {
            Error::Failed(format!("the coordinator's JSON: {e}: {}", out.chars().take(200).collect::<String>()))
        })?;
        let rounds: Vec<RoundRecord> = serde_json::from_value(json["rounds"].clone())
            .map_err(|e| Error::Failed(format!("the coordinator's rounds: {e}")))?;
        Ok(Flown { rounds, chaos, seconds })
    }
}

/// True when a coordinator's round line (`round 2  sites 3/4 …`) used fewer updates than it asked for.
fn short_of_sites(line: &str) -> bool {
    let mut words = line.split_whitespace();
    let sites = words.by_ref().skip_while(|w| *w != "sites").nth(1);
    sites.and_then(|s| s.split_once('/')).is_some_and(|(used, asked)| used != asked)
}

#[cfg(test)]
mod tests {
    use super::short_of_sites;

    #[test]
    fn a_round_line_tells_whether_a_site_was_missing() {
        assert!(short_of_sites("round 2  sites 3/4  val_loss 0.6  test_acc 70.00"));
        assert!(!short_of_sites("round 3  sites 4/4  val_loss 0.6"));
        assert!(!short_of_sites("round 3 closed"));
    }
}
