//! `xray-local`: run the local X-Ray receiver in a terminal.
//!
//! Listens where the X-Ray daemon would, prints each finished trace as a timeline, and prints
//! the service graph periodically and on Ctrl-C (or SIGTERM), then exits. See `--help`.

mod args;
mod console;
#[cfg(feature = "daemon")]
mod daemon;

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::json;
use xray_local::{Event, LocalReceiver, ReceiverStats, Rejection, ServiceGraph, Style, Trace};

use crate::args::{Color, Command, Options, USAGE};

/// At most one printed line per kind of rejected datagram in this interval.
const REJECTION_EVERY: Duration = Duration::from_secs(5);

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("daemon") {
        #[cfg(feature = "daemon")]
        return daemon::main(std::env::args().skip(2));
        #[cfg(not(feature = "daemon"))]
        {
            eprintln!("xray-local: built without the `daemon` feature");
            return ExitCode::from(2);
        }
    }
    let options = match args::parse(std::env::args().skip(1)) {
        Ok(Command::Run(options)) => options,
        Ok(Command::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Version) => {
            println!("xray-local {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("xray-local: {message}\n\nTry `xray-local --help`.");
            return ExitCode::from(2);
        }
    };
    block_on("xray-local", "error", run(options))
}

/// Logs to stderr (`RUST_LOG`, when set, wins over `default_filter`) and runs `main` on a
/// two-thread runtime; what both subcommands share.
fn block_on(
    program: &str,
    default_filter: &str,
    main: impl std::future::Future<Output = ExitCode>,
) -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(main),
        Err(e) => {
            eprintln!("{program}: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(options: Options) -> ExitCode {
    let mut builder = LocalReceiver::builder()
        .quiet_period(options.quiet)
        .incomplete_timeout(options.incomplete)
        .max_traces(options.max_traces);
    if let Some(age) = options.max_age {
        builder = builder.max_trace_age(age);
    }
    let receiver = match builder.bind(options.listen.as_str()).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("xray-local: cannot listen on udp://{}: {e}", options.listen);
            if e.kind() == std::io::ErrorKind::AddrInUse {
                eprintln!(
                    "  Is an X-Ray daemon already running there? Use another port, e.g. \
                     --listen 127.0.0.1:2001, and set AWS_XRAY_DAEMON_ADDRESS=127.0.0.1:2001."
                );
            }
            return ExitCode::FAILURE;
        }
    };
    let receiver = std::sync::Arc::new(receiver);
    // Kept alive until the program ends; the console stops when it is dropped.
    let _console = console::start(&options, &receiver).await;
    let shutdown = shutdown_signal();
    let addr = receiver.local_addr();
    eprintln!(
        "xray-local listening on udp://{addr}; set AWS_XRAY_DAEMON_ADDRESS={addr} in your \
         services. Ctrl-C prints the service graph and exits."
    );
    let style = match options.color {
        Color::Always => Style::Color,
        Color::Never => Style::Plain,
        Color::Auto => Style::detect(),
    };
    let mut out = Output {
        json: options.json,
        style,
        closed: false,
        rejections: HashMap::new(),
    };
    let mut events = receiver.subscribe();
    let mut graph_timer = options.graph_every.map(|every| {
        let mut t = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        t
    });
    let mut graphed_at = 0;
    tokio::pin!(shutdown);
    while !out.closed {
        tokio::select! {
            event = events.recv() => match event {
                Some(event) => out.event(event),
                None => break,
            },
            () = tick(&mut graph_timer) => {
                let stats = receiver.stats();
                if stats.traces_finished != graphed_at {
                    graphed_at = stats.traces_finished;
                    out.graph(&receiver.service_graph(), &stats, false);
                }
            },
            () = &mut shutdown => break,
        }
    }
    // Print what already finished, then whatever is still waiting for documents.
    while let Some(event) = events.try_recv() {
        out.event(event);
    }
    drop(events);
    for trace in receiver.finish_pending() {
        out.trace(&trace);
    }
    out.graph(&receiver.service_graph(), &receiver.stats(), true);
    ExitCode::SUCCESS
}

async fn tick(timer: &mut Option<tokio::time::Interval>) {
    match timer {
        Some(t) => {
            t.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Registers for Ctrl-C (SIGINT) and SIGTERM right away, so a signal sent as soon as the
/// banner is out is already handled, and returns the future that waits for one.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            match (interrupt, terminate) {
                (Ok(mut interrupt), Ok(mut terminate)) => tokio::select! {
                    _ = interrupt.recv() => {},
                    _ = terminate.recv() => {},
                },
                (Ok(mut interrupt), Err(_)) => {
                    interrupt.recv().await;
                }
                (Err(e), _) => {
                    eprintln!("xray-local: cannot watch for Ctrl-C ({e}); stop it with SIGKILL");
                    std::future::pending::<()>().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            eprintln!("xray-local: cannot watch for Ctrl-C ({e})");
            std::future::pending::<()>().await;
        }
    }
}

/// Writes to stdout (traces, graphs; JSON lines with `--json`) and stderr (rejections in text
/// mode). A closed stdout (`| head`) ends the program instead of panicking.
struct Output {
    json: bool,
    style: Style,
    closed: bool,
    /// Per rejection kind: when a line was last printed, and how many were not printed since.
    rejections: HashMap<&'static str, (Instant, u64)>,
}

impl Output {
    fn write(&mut self, text: &str) {
        if self.closed {
            return;
        }
        let mut stdout = std::io::stdout().lock();
        if writeln!(stdout, "{text}")
            .and_then(|()| stdout.flush())
            .is_err()
        {
            self.closed = true;
        }
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::TraceFinished(trace) => self.trace(&trace),
            Event::Rejected(rejection) => self.rejected(&rejection),
            _ => {}
        }
    }

    fn trace(&mut self, trace: &Trace) {
        if self.json {
            self.write(&json!({"type": "trace", "trace": trace}).to_string());
        } else {
            let text = trace.render(self.style);
            self.write(&text);
        }
    }

    fn graph(&mut self, graph: &ServiceGraph, stats: &ReceiverStats, last: bool) {
        if self.json {
            let line = json!({"type": "graph", "final": last, "graph": graph, "stats": stats});
            self.write(&line.to_string());
        } else {
            let text = format!("{}  receiver: {stats}\n", graph.render(self.style));
            self.write(&text);
        }
    }

    fn rejected(&mut self, rejection: &Rejection) {
        let now = Instant::now();
        let key = rejection.kind().as_str();
        let skipped = match self.rejections.get_mut(key) {
            Some((last, skipped)) if now.duration_since(*last) < REJECTION_EVERY => {
                *skipped += 1;
                return;
            }
            Some((last, skipped)) => {
                *last = now;
                std::mem::take(skipped)
            }
            None => {
                self.rejections.insert(key, (now, 0));
                0
            }
        };
        if self.json {
            let line =
                json!({"type": "rejected", "rejection": rejection, "not_shown_before": skipped});
            self.write(&line.to_string());
        } else {
            let more = if skipped > 0 {
                format!(" ({skipped} more of this kind not shown)")
            } else {
                String::new()
            };
            eprintln!("xray-local: rejected datagram: {rejection}{more}");
        }
    }
}
