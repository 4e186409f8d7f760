//! `xray-local daemon`: the X-Ray daemon replacement (see `xray_local::daemon`), with the
//! official daemon's option names.

use std::process::ExitCode;
use std::time::Duration;

use xray_local::daemon::{DEFAULT_ADDRESS, Daemon, MIN_BUFFER_BYTES};
use xray_local::{Event, LocalReceiver, Style};

pub(crate) const DAEMON_USAGE: &str = "\
xray-local daemon: a drop-in replacement for the AWS X-Ray daemon

USAGE:
    xray-local daemon [OPTIONS]

Receives segment documents on UDP, checks them as the official daemon does, buffers them and
uploads them to AWS X-Ray with PutTraceSegments (up to 50 per call, at least every second,
retrying throttling and 5xx answers with backoff). On TCP it proxies the X-Ray API calls SDKs
make through the daemon (GetSamplingRules, SamplingTargets, ...), signed with SigV4, and serves
GET /metrics (Prometheus text). Credentials and region come from the standard AWS chain
(environment, profile, container or instance role). SIGTERM or Ctrl-C uploads what is held and
exits (within --shutdown-timeout).

OPTIONS (official daemon names):
    -b, --bind <ADDR>              UDP address [default: 127.0.0.1:2000]
    -t, --bind-tcp <ADDR>          TCP address (sampling proxy, /metrics) [default: 127.0.0.1:2000]
    -n, --region <REGION>          AWS region [default: the AWS chain, e.g. AWS_REGION]
    -m, --buffer-memory <MB>       Buffer budget in MiB, at least 3 [default: 1% of host memory]
    -l, --log-level <LEVEL>        dev, debug, info, warn, error or prod (= info) [default: prod]
    -o, --local-mode               Accepted for compatibility; no effect (xray-local never reads
                                   instance metadata itself)
    -v, --version                  Print the version
    -h, --help                     Print this help

OPTIONS (xray-local):
        --endpoint-url <URL>       X-Ray endpoint for uploads and the proxy [default:
                                   AWS_ENDPOINT_URL, else https://xray.<region>.amazonaws.com]
        --local                    Also show traces and the service graph here, as plain
                                   `xray-local` does (both at once)
        --no-upload                Do not upload (with --local: local only, plus the TCP side)
        --concurrency <N>          Uploads in flight at once [default: 8]
        --metrics-every <SECS>     Log the metrics this often when they changed, 0 for never
                                   [default: 60]
        --shutdown-timeout <SECS>  Longest flush at exit [default: 10]

Not supported (the official daemon's): -c/--config, -r/--role-arn, -a/--resource-arn,
-p/--proxy-address, -f/--log-file (use an AWS profile with role_arn for -r, HTTPS_PROXY is not
read; logs go to stderr).
";

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DaemonOptions {
    bind: String,
    bind_tcp: String,
    region: Option<String>,
    buffer_mb: Option<usize>,
    log_level: String,
    endpoint_url: Option<String>,
    local: bool,
    upload: bool,
    concurrency: usize,
    metrics_every: Option<Duration>,
    shutdown_timeout: Duration,
}

impl Default for DaemonOptions {
    fn default() -> Self {
        Self {
            bind: DEFAULT_ADDRESS.to_owned(),
            bind_tcp: DEFAULT_ADDRESS.to_owned(),
            region: None,
            buffer_mb: None,
            log_level: "prod".to_owned(),
            endpoint_url: None,
            local: false,
            upload: true,
            concurrency: 8,
            metrics_every: Some(Duration::from_secs(60)),
            shutdown_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DaemonCommand {
    Run(DaemonOptions),
    Help,
    Version,
}

/// Parses the arguments after `daemon`. As Go's `flag` package: `-x`, `--x`, `-x=v`, `--x=v`.
pub(crate) fn parse(args: impl IntoIterator<Item = String>) -> Result<DaemonCommand, String> {
    let mut o = DaemonOptions::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with('-') => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let flag = flag.trim_start_matches('-');
        let mut value = || -> Result<String, String> {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("--{flag} needs a value"))
        };
        let number = |text: String| -> Result<u64, String> {
            text.parse()
                .map_err(|_| format!("--{flag} takes a whole number, not {text:?}"))
        };
        match flag {
            "h" | "help" => return Ok(DaemonCommand::Help),
            "v" | "version" => return Ok(DaemonCommand::Version),
            "b" | "bind" => o.bind = value()?,
            "t" | "bind-tcp" => o.bind_tcp = value()?,
            "n" | "region" => o.region = Some(value()?),
            "m" | "buffer-memory" => {
                let mb = number(value()?)? as usize;
                if mb * 1024 * 1024 < MIN_BUFFER_BYTES {
                    return Err("--buffer-memory must be at least 3 (MiB)".to_owned());
                }
                o.buffer_mb = Some(mb);
            }
            "l" | "log-level" => {
                let level = value()?;
                if !["dev", "debug", "info", "warn", "error", "prod"].contains(&level.as_str()) {
                    return Err(format!(
                        "--log-level takes dev, debug, info, warn, error or prod, not {level:?}"
                    ));
                }
                o.log_level = level;
            }
            "o" | "local-mode" => {}
            "endpoint-url" => o.endpoint_url = Some(value()?),
            "local" if inline.is_none() => o.local = true,
            "no-upload" if inline.is_none() => o.upload = false,
            "concurrency" => o.concurrency = number(value()?)?.max(1) as usize,
            "metrics-every" => {
                let secs = number(value()?)?;
                o.metrics_every = (secs > 0).then(|| Duration::from_secs(secs));
            }
            "shutdown-timeout" => o.shutdown_timeout = Duration::from_secs(number(value()?)?),
            "c" | "config" | "r" | "role-arn" | "a" | "resource-arn" | "p" | "proxy-address"
            | "f" | "log-file" => {
                return Err(format!(
                    "{arg:?} (an official daemon option) is not supported by xray-local daemon"
                ));
            }
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    if !o.upload && !o.local {
        return Err("--no-upload without --local would do nothing".to_owned());
    }
    Ok(DaemonCommand::Run(o))
}

/// `xray-local daemon ...`: `args` are the arguments after `daemon`.
pub(crate) fn main(args: impl IntoIterator<Item = String>) -> ExitCode {
    let options = match parse(args) {
        Ok(DaemonCommand::Run(options)) => options,
        Ok(DaemonCommand::Help) => {
            print!("{DAEMON_USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(DaemonCommand::Version) => {
            println!(
                "xray-local {} (X-Ray daemon mode)",
                env!("CARGO_PKG_VERSION")
            );
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("xray-local daemon: {message}\n\nTry `xray-local daemon --help`.");
            return ExitCode::from(2);
        }
    };
    let level = match options.log_level.as_str() {
        "dev" => "trace",
        "prod" => "info",
        other => other,
    };
    // RUST_LOG, when set, wins (e.g. to see the AWS SDK's own logs).
    crate::block_on(
        "xray-local daemon",
        &format!("error,xray={level}"),
        run(options),
    )
}

async fn run(options: DaemonOptions) -> ExitCode {
    let shutdown = crate::shutdown_signal();
    let local = if options.local {
        match LocalReceiver::bind("127.0.0.1:0").await {
            Ok(receiver) => Some(receiver),
            Err(e) => {
                eprintln!("xray-local daemon: cannot start the local receiver: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    let mut builder = Daemon::builder()
        .udp(options.bind.clone())
        .tcp(Some(options.bind_tcp.clone()))
        .concurrency(options.concurrency)
        .upload(options.upload);
    if let Some(region) = &options.region {
        builder = builder.region(region.clone());
    }
    if let Some(url) = &options.endpoint_url {
        builder = builder.endpoint_url(url.clone());
    }
    if let Some(mb) = options.buffer_mb {
        builder = builder.buffer_bytes(mb * 1024 * 1024);
    }
    if let Some(every) = options.metrics_every {
        builder = builder.log_every(every);
    }
    if let Some(receiver) = &local {
        builder = builder.forward_to(receiver.local_addr());
    }
    let daemon = match builder.start().await {
        Ok(daemon) => daemon,
        Err(e) => {
            eprintln!("xray-local daemon: {e}");
            return ExitCode::FAILURE;
        }
    };
    let tcp = daemon.tcp_addr().map_or_else(String::new, |a| {
        format!(", tcp://{a} (sampling proxy, /metrics)")
    });
    eprintln!(
        "xray-local daemon listening on udp://{}{tcp}{}",
        daemon.udp_addr(),
        if options.upload {
            ""
        } else {
            "; not uploading"
        }
    );
    tokio::pin!(shutdown);
    match &local {
        Some(receiver) => {
            let style = Style::detect();
            let mut events = receiver.subscribe();
            loop {
                tokio::select! {
                    event = events.recv() => match event {
                        Some(Event::TraceFinished(trace)) => println!("{}", trace.render(style)),
                        Some(_) => {}
                        None => break,
                    },
                    () = &mut shutdown => break,
                }
            }
        }
        None => shutdown.await,
    }
    let metrics = daemon.shutdown(options.shutdown_timeout).await;
    if let Some(receiver) = &local {
        let style = Style::detect();
        for trace in receiver.finish_pending() {
            println!("{}", trace.render(style));
        }
        println!("{}", receiver.service_graph().render(style));
    }
    eprintln!("xray-local daemon stopped: {metrics}");
    if metrics.failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<DaemonOptions, String> {
        match parse(args.iter().map(|s| s.to_string()))? {
            DaemonCommand::Run(o) => Ok(o),
            other => Err(format!("{other:?}")),
        }
    }

    #[test]
    fn official_names_in_go_flag_forms() {
        let o = run(&[
            "-b",
            "0.0.0.0:2000",
            "--bind-tcp=0.0.0.0:3000",
            "-n=eu-west-1",
            "-m",
            "16",
            "--log-level",
            "debug",
            "-o",
            "--endpoint-url",
            "http://127.0.0.1:5000",
            "--local",
            "--concurrency",
            "2",
            "--metrics-every",
            "0",
            "--shutdown-timeout=3",
        ])
        .unwrap();
        assert_eq!(o.bind, "0.0.0.0:2000");
        assert_eq!(o.bind_tcp, "0.0.0.0:3000");
        assert_eq!(o.region.as_deref(), Some("eu-west-1"));
        assert_eq!(o.buffer_mb, Some(16));
        assert_eq!(o.log_level, "debug");
        assert_eq!(o.endpoint_url.as_deref(), Some("http://127.0.0.1:5000"));
        assert!(o.local && o.upload);
        assert_eq!(o.concurrency, 2);
        assert_eq!(o.metrics_every, None);
        assert_eq!(o.shutdown_timeout, Duration::from_secs(3));
        assert_eq!(run(&[]).unwrap(), DaemonOptions::default());
    }

    #[test]
    fn errors_and_unsupported_options() {
        let cmd = |a: &[&str]| parse(a.iter().map(|s| s.to_string()));
        assert_eq!(cmd(&["-h"]), Ok(DaemonCommand::Help));
        assert_eq!(cmd(&["-v"]), Ok(DaemonCommand::Version));
        for bad in [
            &["-m", "2"][..],
            &["-l", "loud"],
            &["--role-arn", "arn:aws:iam::1:role/x"],
            &["-c", "cfg.yaml"],
            &["--no-upload"],
            &["--bind"],
            &["--whatever"],
        ] {
            assert!(cmd(bad).is_err(), "{bad:?}");
        }
        assert!(!run(&["--no-upload", "--local"]).unwrap().upload);
    }
}
