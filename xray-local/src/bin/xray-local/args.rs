//! Command-line arguments.
//!
//! A small hand parser rather than clap: six options do not justify clap's derive machinery in
//! every workspace build, and this keeps `--help` text and errors under our control.

use std::time::Duration;

pub(crate) const USAGE: &str = "\
xray-local: a local X-Ray daemon stand-in that prints traces and the service graph

USAGE:
    xray-local [OPTIONS]

Point your services at it with AWS_XRAY_DAEMON_ADDRESS=<address> (the default address is the
daemon's, so instrumented services need no change). Each finished trace is printed as a
timeline; the service graph is printed every --graph-every seconds when something changed,
and on Ctrl-C, which also ends the program.

OPTIONS:
    -l, --listen <ADDR>          UDP address to listen on [default: 127.0.0.1:2000]
        --json                   Print JSON lines instead of text
        --graph-every <SECS>     Print the service graph this often, 0 for only at exit
                                 [default: 30]
        --quiet-ms <MS>          A complete trace is finished after this long without new
                                 documents [default: 500]
        --incomplete-ms <MS>     An incomplete trace is finished after this long without new
                                 documents [default: 5000]
        --color <WHEN>           auto, always or never [default: auto; NO_COLOR is honoured]
        --ui <ADDR>              Serve the console (service map, traces, filter expressions)
                                 on this HTTP address [default: 127.0.0.1:2080]
        --no-ui                  Do not serve the console
        --group <NAME=EXPR>      A console group: a filter expression with its own service
                                 map and trace list (repeatable)
        --max-traces <N>         Keep at most this many traces, oldest dropped first
                                 [default: 10000]
        --max-age <SECS>         Drop finished traces after this long without new documents
                                 [default: 0, no limit]
    -h, --help                   Print this help
    -V, --version                Print the version

Diagnostics: RUST_LOG=xray=debug shows what the receiver does.

`xray-local daemon --help`: run as the AWS X-Ray daemon (upload to X-Ray, sampling proxy),
optionally also showing traces here (--local).
";

/// When to color text output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Options {
    pub(crate) listen: String,
    pub(crate) json: bool,
    /// `None`: only at exit.
    pub(crate) graph_every: Option<Duration>,
    pub(crate) quiet: Duration,
    pub(crate) incomplete: Duration,
    pub(crate) color: Color,
    /// Where the console listens; `None` with `--no-ui`.
    pub(crate) ui: Option<String>,
    /// `--group NAME=EXPR`, the expressions already checked.
    pub(crate) groups: Vec<(String, String)>,
    pub(crate) max_traces: usize,
    pub(crate) max_age: Option<Duration>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:2000".to_owned(),
            json: false,
            graph_every: Some(Duration::from_secs(30)),
            quiet: Duration::from_millis(500),
            incomplete: Duration::from_secs(5),
            color: Color::Auto,
            ui: Some(xray_local::DEFAULT_CONSOLE_ADDR.to_owned()),
            groups: Vec::new(),
            max_traces: 10_000,
            max_age: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    Run(Options),
    Help,
    Version,
}

/// Parses the arguments after the program name. `--opt value` and `--opt=value` both work.
pub(crate) fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut options = Options::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            "-l" | "--listen" => options.listen = value("--listen")?,
            "--json" if inline.is_none() => options.json = true,
            "--graph-every" => {
                let secs = number(&value("--graph-every")?, "--graph-every")?;
                options.graph_every = (secs > 0).then(|| Duration::from_secs(secs));
            }
            "--quiet-ms" => {
                options.quiet = Duration::from_millis(number(&value("--quiet-ms")?, "--quiet-ms")?);
            }
            "--incomplete-ms" => {
                options.incomplete =
                    Duration::from_millis(number(&value("--incomplete-ms")?, "--incomplete-ms")?);
            }
            "--color" => {
                options.color = match value("--color")?.as_str() {
                    "auto" => Color::Auto,
                    "always" => Color::Always,
                    "never" => Color::Never,
                    other => {
                        return Err(format!(
                            "--color takes auto, always or never, not {other:?}"
                        ));
                    }
                }
            }
            "--ui" => options.ui = Some(value("--ui")?),
            "--no-ui" if inline.is_none() => options.ui = None,
            "--group" => {
                let spec = value("--group")?;
                let Some((name, expr)) = spec.split_once('=').filter(|(n, _)| !n.trim().is_empty())
                else {
                    return Err(format!("--group takes NAME=EXPRESSION, not {spec:?}"));
                };
                if let Err(e) = xray_local::Filter::parse(expr) {
                    return Err(format!("--group {name}: {e}"));
                }
                options
                    .groups
                    .push((name.trim().to_owned(), expr.to_owned()));
            }
            "--max-traces" => {
                let n = number(&value("--max-traces")?, "--max-traces")?;
                options.max_traces = usize::try_from(n).unwrap_or(usize::MAX).max(1);
            }
            "--max-age" => {
                let secs = number(&value("--max-age")?, "--max-age")?;
                options.max_age = (secs > 0).then(|| Duration::from_secs(secs));
            }
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    Ok(Command::Run(options))
}

fn number(text: &str, name: &str) -> Result<u64, String> {
    text.parse()
        .map_err(|_| format!("{name} takes a whole number, not {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Options, String> {
        match parse(args.iter().map(|s| s.to_string()))? {
            Command::Run(o) => Ok(o),
            other => Err(format!("{other:?}")),
        }
    }

    #[test]
    fn defaults() {
        assert_eq!(run(&[]).unwrap(), Options::default());
    }

    #[test]
    fn every_option_in_both_forms() {
        let o = run(&[
            "--listen",
            "0.0.0.0:3000",
            "--json",
            "--graph-every=5",
            "--quiet-ms",
            "100",
            "--incomplete-ms=2000",
            "--color",
            "never",
        ])
        .unwrap();
        assert_eq!(o.listen, "0.0.0.0:3000");
        assert!(o.json);
        assert_eq!(o.graph_every, Some(Duration::from_secs(5)));
        assert_eq!(o.quiet, Duration::from_millis(100));
        assert_eq!(o.incomplete, Duration::from_secs(2));
        assert_eq!(o.color, Color::Never);
        assert_eq!(run(&["-l", "[::1]:2000"]).unwrap().listen, "[::1]:2000");
        assert_eq!(run(&["--graph-every", "0"]).unwrap().graph_every, None);
    }

    #[test]
    fn console_options() {
        let o = run(&[
            "--ui=0.0.0.0:8080",
            "--group",
            "slow=responsetime > 1",
            "--group=bad=fault OR error",
            "--max-traces",
            "50",
            "--max-age=600",
        ])
        .unwrap();
        assert_eq!(o.ui.as_deref(), Some("0.0.0.0:8080"));
        assert_eq!(
            o.groups,
            [
                ("slow".to_owned(), "responsetime > 1".to_owned()),
                ("bad".to_owned(), "fault OR error".to_owned())
            ]
        );
        assert_eq!(o.max_traces, 50);
        assert_eq!(o.max_age, Some(Duration::from_secs(600)));
        assert_eq!(run(&["--no-ui"]).unwrap().ui, None);
        let e = run(&["--group", "x=fault AND"]).unwrap_err();
        assert!(e.contains("position 10"), "{e}");
        assert!(run(&["--group", "=ok"]).is_err());
        assert!(run(&["--max-traces", "many"]).is_err());
    }

    #[test]
    fn help_version_and_errors() {
        let cmd = |a: &[&str]| parse(a.iter().map(|s| s.to_string()));
        assert_eq!(cmd(&["--json", "-h"]), Ok(Command::Help));
        assert_eq!(cmd(&["-V"]), Ok(Command::Version));
        for bad in [
            &["--listen"][..],
            &["--graph-every", "soon"],
            &["--color", "pink"],
            &["--frobnicate"],
            &["--json=yes"],
            &["extra"],
        ] {
            assert!(cmd(bad).is_err(), "{bad:?}");
        }
    }
}
