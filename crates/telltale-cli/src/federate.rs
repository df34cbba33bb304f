//! `telltale federate` (the coordinator) and `telltale train --federated` (a site).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::json;
use telltale_bench::federated::Options;
use telltale_federated::bus::{Bus, Mqtt};
use telltale_federated::coordinator::coordinate;
use telltale_federated::site::{fetch_spec, run_site};
use telltale_federated::state::RoundRecord;
use telltale_federated::{Codec, ValidFederated};
use telltale_stream::BrokerUrl;
use telltale_stream::broker::{Embedded, Passwords};

use crate::cli::{BenchFederatedArgs, FederateArgs, TrainArgs};
use crate::device::device;
use crate::output::print_json;

/// One line per round, as the coordinator prints it.
pub(crate) fn round_line(r: &RoundRecord) -> String {
    let pct = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{:.2}", 100.0 * v));
    format!(
        "round {:>3}  sites {}/{}  val_loss {:.4}  test_acc {}  roc_auc {}  up {} B  down {} B  {:.1} s{}",
        r.round,
        r.used,
        r.asked,
        r.val_loss,
        pct(r.test_accuracy),
        r.test_roc_auc.map_or("-".to_owned(), |v| format!("{v:.4}")),
        r.bytes_up,
        r.bytes_down,
        r.seconds,
        if r.refused.total() > 0 { format!("  refused {}", r.refused.total()) } else { String::new() },
    )
}

/// The broker the coordinator uses: the one named, or the embedded one it starts.
fn coordinator_broker(args: &FederateArgs) -> Result<BrokerUrl> {
    if let Some(url) = &args.broker {
        return Ok(BrokerUrl { ca_file: args.tls_ca.clone(), ..BrokerUrl::parse(url)? });
    }
    let listen: SocketAddr = args.listen.parse().with_context(|| format!("--listen {}", args.listen))?;
    let passwords = match &args.broker_passwords {
        Some(p) => Some(Arc::new(Passwords::read(p)?)),
        None if !listen.ip().is_loopback() => {
            bail!("--listen {listen}: an embedded broker off loopback needs --broker-passwords FILE")
        }
        None => None,
    };
    let tls = args.broker_tls_cert.clone().zip(args.broker_tls_key.clone());
    let embedded = Embedded { passwords, tls, max_payload: 16 << 20, ..Embedded::open(listen) };
    let url = embedded.start()?;
    eprintln!("embedded MQTT broker on {listen}");
    Ok(url)
}

/// `telltale federate`.
pub(crate) fn run(args: &FederateArgs) -> Result<()> {
    let fed = ValidFederated::load(&args.config)?;
    let dev = device(args.device)?;
    let broker = coordinator_broker(args)?;
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("runs").join("federated").join(&fed.run));
    let mut bus = Mqtt::connect(&broker, &format!("telltale-fl-{}-coordinator", fed.run))?;
    eprintln!(
        "run '{}': {} rounds, {} site(s) expected, codec {}, state in {}",
        fed.run,
        fed.federated.rounds,
        fed.federated.clients,
        fed.federated.codec,
        out.display()
    );
    let finished = coordinate(&fed, &mut bus, &out, &dev, &mut |r| eprintln!("{}", round_line(r)))?;
    let history = &finished.state.history;
    let up: u64 = history.iter().map(|r| r.bytes_up).sum();
    let down: u64 = history.iter().map(|r| r.bytes_down).sum();
    let test = finished.last.test.as_ref();
    if args.json {
        print_json(&json!({
            "run": fed.run,
            "codec": fed.federated.codec.to_string(),
            "rounds": history,
            "bytes_up": up,
            "bytes_down": down,
            "final": {
                "val_loss": finished.last.val_loss,
                "accuracy": test.map(|t| t.accuracy),
                "roc_auc": test.and_then(|t| t.roc_auc),
                "f1": test.map(|t| t.f1),
            },
            "model": out.join("model"),
            "best": out.join("best"),
        }))?;
    } else {
        println!(
            "run '{}' done: {} rounds, {} B up, {} B down; final test accuracy {}; model in {}",
            fed.run,
            history.len(),
            up,
            down,
            test.map_or("-".to_owned(), |t| format!("{:.2} %", 100.0 * t.accuracy)),
            out.join("model").display()
        );
    }
    Ok(())
}

/// `telltale train --federated URL --client NAME --data FILE`.
pub(crate) fn site(args: &TrainArgs, url: &str) -> Result<()> {
    let (Some(name), Some(data)) = (&args.client, &args.data) else {
        bail!("--federated needs --client NAME and --data FILE");
    };
    // mqtt://host:port/RUN: the path names the run.
    let (base, run) = match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('/') {
            Some((host, run)) if !run.is_empty() => (format!("{scheme}://{host}"), Some(run.to_owned())),
            Some((host, _)) => (format!("{scheme}://{host}"), None),
            None => (url.to_owned(), None),
        },
        None => (url.to_owned(), None),
    };
    let broker = BrokerUrl { ca_file: args.tls_ca.clone(), ..BrokerUrl::parse(&base)? };
    let dev = device(args.device)?;
    let mut bus = Mqtt::connect(&broker, &format!("telltale-fl-site-{name}"))?;
    // A coordinator that starts a new run of the name while this site waits: the site joins that one.
    let (fed, summary) = loop {
        let fed = fetch_spec(&mut bus, run.as_deref(), Duration::from_secs(600))?;
        eprintln!("site {name}: run '{}', {} rounds, codec {}", fed.run, fed.federated.rounds, fed.federated.codec);
        let give_up = Duration::from_secs_f64((3.0 * fed.federated.deadline_s).max(600.0));
        let summary = run_site(&fed, name, data, &mut bus as &mut dyn Bus, &dev, give_up)?;
        if !summary.new_run {
            break (fed, summary);
        }
    };
    if args.json {
        print_json(&json!({
            "site": name,
            "run": fed.run,
            "rounds": summary.rounds,
            "bytes_up": summary.bytes_up,
            "bytes_down": summary.bytes_down,
        }))?;
    } else {
        println!(
            "site {name}: {} rounds trained, {} B sent, {} B received",
            summary.rounds, summary.bytes_up, summary.bytes_down
        );
    }
    Ok(())
}

/// `telltale bench federated`.
pub(crate) fn bench(args: &BenchFederatedArgs) -> Result<()> {
    let codec = args.codec.as_deref().map(str::parse::<Codec>).transpose()?;
    let work = match &args.work {
        Some(w) => w.clone(),
        None => std::env::temp_dir().join(format!("telltale-bench-federated-{}", std::process::id())),
    };
    let opts = Options {
        config: args.config.clone(),
        exe: std::env::current_exe().context("the telltale binary's path")?,
        clients: args.clients,
        codec,
        rounds: args.rounds,
        chaos: args.chaos,
        broker: args.broker.clone(),
        work: work.clone(),
    };
    let outcome = telltale_bench::federated::run(&opts, &mut |line| eprintln!("{line}"))?;
    if args.json {
        return print_json(&outcome);
    }
    let pct = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{:.2} %", 100.0 * v));
    let auc = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.4}"));
    println!("federated, {} sites, codec {} (work folder {})", outcome.clients, outcome.codec, work.display());
    println!("round  val_loss  test_acc  roc_auc   bytes_up  bytes_down  seconds");
    for r in &outcome.rounds {
        println!(
            "{:>5}  {:>8.4}  {:>8}  {:>7}  {:>9}  {:>10}  {:>7.1}",
            r.round,
            r.val_loss,
            pct(r.test_accuracy),
            auc(r.test_roc_auc),
            r.bytes_up,
            r.bytes_down,
            r.seconds
        );
    }
    println!(
        "final (round {}): accuracy {}, ROC-AUC {}; best by validation (round {}): accuracy {}, ROC-AUC {}",
        outcome.last.at,
        pct(outcome.last.accuracy),
        auc(outcome.last.roc_auc),
        outcome.best.at,
        pct(outcome.best.accuracy),
        auc(outcome.best.roc_auc)
    );
    println!(
        "centralised (same run, best epoch {}): accuracy {}, ROC-AUC {}",
        outcome.centralised.at,
        pct(outcome.centralised.accuracy),
        auc(outcome.centralised.roc_auc)
    );
    println!(
        "bytes: {} up, {} down; up to 99 % of the centralised accuracy: {}",
        outcome.bytes_up,
        outcome.bytes_down,
        outcome.bytes_up_to_99.map_or("not reached".to_owned(), |b| format!("{b} B"))
    );
    if let Some(c) = &outcome.chaos {
        println!("chaos: {} site(s) killed, {} coordinator restart(s)", c.sites_killed, c.coordinator_restarts);
    }
    Ok(())
}
