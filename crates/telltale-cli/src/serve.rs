//! `telltale serve` and `telltale config print`: live detection over MQTT.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use telltale_stream::{Decision, ServeConfig, Service};

use crate::cli::ServeArgs;
use crate::output::emit;

/// Defaults, the file, the environment, then the flags.
pub(crate) fn effective_config(args: &ServeArgs) -> Result<ServeConfig> {
    let mut c = ServeConfig::load(args.config.as_deref(), std::env::vars())?;
    let set = |slot: &mut String, flag: &Option<String>| {
        if let Some(v) = flag {
            slot.clone_from(v);
        }
    };
    set(&mut c.model, &args.model);
    set(&mut c.broker, &args.broker);
    set(&mut c.tls_ca, &args.tls_ca);
    set(&mut c.listen, &args.listen);
    set(&mut c.broker_passwords, &args.broker_passwords);
    set(&mut c.broker_tls_cert, &args.broker_tls_cert);
    set(&mut c.broker_tls_key, &args.broker_tls_key);
    set(&mut c.topic, &args.topic);
    set(&mut c.db, &args.db);
    set(&mut c.http, &args.http);
    set(&mut c.token, &args.token);
    if args.no_store_readings {
        c.store_readings = false;
    }
    Ok(c)
}

/// `telltale config print`: checked as `serve` would check it (a refusal names the key).
/// The token is shown as set or not, never spelled out.
pub(crate) fn print_config(args: &ServeArgs) -> Result<()> {
    let mut config = effective_config(args)?;
    config.check()?;
    if !config.token.is_empty() {
        config.token = "***".into();
    }
    emit(&config.to_toml())
}

/// A runtime model from a trained model directory (exported on the fly) or an exported model file.
pub(crate) fn load_model(path: &str) -> Result<telltale_runtime::Model> {
    let p = Path::new(path);
    let bytes = if p.is_dir() {
        let model = telltale_models::artifact::Model::load(p, &burn::tensor::Device::flex())?;
        model.export_bytes(false)?
    } else {
        std::fs::read(p).with_context(|| format!("cannot read the model {}", p.display()))?
    };
    telltale_runtime::Model::from_bytes(&bytes).with_context(|| format!("model {}", p.display()))
}

/// How the dashboard is reached, in words.
fn access(token: &str) -> &'static str {
    if token.is_empty() { "no token: loopback only" } else { "token required: open /?token=TOKEN once" }
}

/// One line for an anomalous window.
pub(crate) fn anomaly_line(d: &Decision) -> String {
    let top: Vec<String> = d.top.iter().map(|(s, p)| format!("{s} {p:.3}")).collect();
    let top = if top.is_empty() { String::new() } else { format!("  top: {}", top.join(", ")) };
    format!(
        "ANOMALY {}  {} .. {}  score {:.4} (threshold {:.4}){top}\n",
        d.device,
        telltale_core::timestamp::format_millis(d.start_ms),
        telltale_core::timestamp::format_millis(d.end_ms),
        d.score,
        d.threshold
    )
}

/// Waits for Ctrl-C, SIGTERM or `duration`.
pub(crate) async fn until_stopped(duration: Option<f64>) -> Result<()> {
    let timer = async {
        match duration {
            Some(s) => tokio::time::sleep(Duration::from_secs_f64(s.max(0.0))).await,
            None => std::future::pending().await,
        }
    };
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("cannot watch for SIGTERM")?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
            _ = timer => {}
        }
    }
    #[cfg(not(unix))]
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = timer => {}
    }
    Ok(())
}

/// Runs the command.
pub(crate) fn run(args: &ServeArgs) -> Result<()> {
    let config = effective_config(args)?;
    if config.model.is_empty() {
        bail!("no model: pass --model DIR|FILE or set `model` in the configuration");
    }
    let checked = config.check()?;
    let model = load_model(&config.model)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start tokio")?;
    runtime.block_on(async {
        let service = Service::start(&checked, model).await?;
        let b = &service.broker;
        let broker = if config.broker.is_empty() { "embedded broker" } else { "broker" };
        emit(&format!(
            "telltale serve: {broker} mqtt://{}:{}, topics {}, database {}{}\n",
            b.host,
            b.port,
            config.topic,
            service.store.name(),
            service.http.map(|a| format!(", dashboard http://{a}/ ({})", access(&config.token))).unwrap_or_default()
        ))?;
        let mut decisions = service.decisions.subscribe();
        let quiet = args.quiet;
        let printer = tokio::spawn(async move {
            while let Ok(d) = decisions.recv().await {
                if d.anomalous && !quiet {
                    let _ = emit(&anomaly_line(&d));
                }
            }
        });
        until_stopped(args.duration).await?;
        emit("stopping: storing and acknowledging what was taken...\n")?;
        let s = service.stop().await?;
        printer.abort();
        emit(&format!(
            "done: {} messages, {} readings from {} devices, {} windows scored, {} anomalies, {} refused, {} alerts sent\n",
            s.messages, s.readings, s.devices, s.windows, s.anomalies, s.refused, s.alerts_sent
        ))
    })
}

/// `telltale passwd NAME`: the password is the first line on stdin (without its line ending); the line for the
/// password file goes to stdout.
pub(crate) fn passwd(args: &crate::cli::PasswdArgs) -> Result<()> {
    use std::io::{BufRead, IsTerminal};
    if std::io::stdin().is_terminal() {
        eprintln!("password for {} (shown as typed; pipe it in to keep it off the screen):", args.name);
    }
    let mut password = String::new();
    std::io::stdin().lock().read_line(&mut password).context("cannot read the password from stdin")?;
    let password = password.strip_suffix('\n').unwrap_or(&password);
    let password = password.strip_suffix('\r').unwrap_or(password);
    println!("{}", telltale_stream::broker::passwords::line(&args.name, password)?);
    Ok(())
}
