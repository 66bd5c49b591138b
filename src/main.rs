//! The `liaison` command: parses arguments, runs one command, maps its outcome to
//! an exit code (0 ok, 1 failure, 2 usage/config/input, 3 authorization, 4 state).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, anyhow};
use clap::{Parser, Subcommand, ValueEnum};
use jiff::Timestamp;
use jiff::civil::Date;

use liaison::app;
use liaison::config;
use liaison::daemon;
use liaison::demo;
use liaison::failure::Failure;
use liaison::store::Store;
use liaison::{booking, logging, provider, render};

/// mimalloc instead of glibc's malloc (see Cargo.toml).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Pairs leaders across the units of an organization and books a weekly
/// connection for each pair, term after term.
///
/// Start with `liaison demo`: it writes a sample organization with local
/// calendars, plans the first term and books it. Then point `--config` at the
/// generated config.toml and run `liaison plan`.
#[derive(Parser, Debug)]
#[command(name = "liaison", version, about, long_about)]
struct Cli {
    /// Configuration file [default: $LIAISON_CONFIG, then $XDG_CONFIG_HOME/liaison/config.toml, then /etc/liaison/config.toml]
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,

    /// Log format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,

    /// More log output (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    verbose: u8,

    /// Less log output: errors only.
    #[arg(short, long, global = true)]
    quiet: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Generate a sample organization on local calendars, plan and book its first term, print it.
    Demo {
        /// Directory to write into (must be new or empty) [default: a new directory under the system's temp dir]
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Number of people.
        #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u32).range(2..=100_000))]
        people: u32,
        /// Number of units (at most the number of people) [default: 6]
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        units: Option<u32>,
        /// Number of zones, the first of New York, London, Berlin, Kolkata, Los Angeles, São Paulo, Tokyo, Sydney [default: 4, 8 with --busy]
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=8))]
        zones: Option<u8>,
        /// Busier calendars, as the scaling benchmarks use them: six recurring
        /// meetings and about fourteen one-off meetings a week per person, in
        /// eight zones [default: three recurring, three to six one-off].
        #[arg(long)]
        busy: bool,
        /// Write the organization's files and stop: no plan, no booking, no state.
        #[arg(long)]
        files_only: bool,
        /// Seed of the generator: the same seed gives the same organization.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Validate the configuration (and the calendar provider's credential files) and explain every error found.
    Check,
    /// The daemon: book the current term (and the next within `schedule.book_ahead`) every `cycle_every`.
    ///
    /// SIGTERM or SIGINT finish the request in flight and exit 0; SIGHUP reloads
    /// the configuration (a bad one is reported and the old one kept). Under
    /// systemd (`Type=notify`) it reports readiness, status and watchdog pings.
    Run {
        /// Run one cycle and exit (for a timer).
        #[arg(long)]
        once: bool,
        /// With --once: print the cycle's actions (book, end early, cancel,
        /// move, record) with their reasons and what the safety check would
        /// refuse, and write nothing anywhere. The way to try a configuration.
        #[arg(long, requires = "once")]
        dry_run: bool,
        /// With --once: print the actions as JSON (with --dry-run).
        #[arg(long, requires = "dry_run")]
        json: bool,
        /// With --once: confirm, for this one cycle, ending or cancelling more
        /// series than `safety.max_cancel_per_cycle` (the guard refuses that
        /// otherwise, and `liaison status` says so).
        #[arg(long, requires = "once")]
        allow_mass_cancel: bool,
    },
    /// One-time authorization with the account whose calendar organizes the events.
    ///
    /// Google: prints the consent page's URL (and opens a browser), waits for
    /// Google to send the browser back, and stores the token in the state
    /// directory (mode 0600). Microsoft 365: prints a URL and a code to enter
    /// there, waits for the sign-in, and stores the grant (mode 0600). With a
    /// service account or client credentials it only proves that a token can
    /// be had.
    Auth {
        /// Do not try to open a browser; only print the URL.
        #[arg(long)]
        no_browser: bool,
    },
    /// Dry run: read calendars and show the pairs and times; writes nothing.
    Plan {
        /// Plan the term containing this date [default: the current term, or the first if none started]
        #[arg(long, value_name = "YYYY-MM-DD")]
        term: Option<Date>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Last cycle, this term's connections in each person's local time, and what needs attention.
    ///
    /// Reads only `status.json`, which every cycle writes in the state
    /// directory: it works while the daemon runs and never touches the
    /// database or a calendar.
    Status {
        /// Print the status file's JSON (validated) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Write the HTML report: the unit × unit heatmap, terms, people, this term's meetings.
    ///
    /// One self-contained page (no script, nothing fetched; light and dark,
    /// readable on a phone) from the same data as `history --json` and
    /// `status --json`. Each cycle of `liaison run` rewrites
    /// `state_dir/report.html` too. Reads a copy of the state database;
    /// never touches a calendar.
    Report {
        /// Where to write it, `-` for stdout [default: state_dir/report.html].
        /// Written atomically (a new file renamed over the old one), so a
        /// symbolic link is refused rather than replaced: name its target.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Print the shell completion script for SHELL on stdout.
    ///
    /// bash: `source <(liaison completions bash)` (in ~/.bashrc), or save it
    /// as ~/.local/share/bash-completion/completions/liaison. See the README
    /// for zsh, fish, elvish and PowerShell.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) on stdout: `liaison man | man -l -`.
    ///
    /// One page, liaison(1), with every subcommand and its options.
    Man,
    /// Who met whom, term by term, and the unit × unit coverage matrix.
    ///
    /// Reads a copy of the state database; never touches a calendar. Booked
    /// series count as connections, including those cancelled later.
    History {
        /// Print JSON (terms, connections and the matrix).
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// Print CSV, one row per connection.
        #[arg(long)]
        csv: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli);
    match fixed_now().and_then(|fixed| run(cli, fixed)) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of our output is gone (`liaison history | head`): what
        // was asked for is done or moot, and nobody reads an error on stdout's
        // account; end quietly and successfully, as `rg` does.
        Err(failure) if is_broken_pipe(&failure) => ExitCode::SUCCESS,
        Err(failure) => {
            use std::io::Write as _;
            // Not `eprintln!`: it panics when stderr is gone too.
            let _ = writeln!(std::io::stderr(), "liaison: {:#}", failure.error());
            ExitCode::from(failure.exit_code())
        }
    }
}

/// The fixed clock of the integration tests (`$LIAISON_NOW`, see
/// `liaison::test_hooks`). Release builds have none: the feature is off.
#[cfg(feature = "test-hooks")]
fn fixed_now() -> Result<Option<Timestamp>, Failure> {
    liaison::test_hooks::fixed_now()
}

#[cfg(not(feature = "test-hooks"))]
fn fixed_now() -> Result<Option<Timestamp>, Failure> {
    Ok(None)
}

/// Writes `text` to stdout and flushes it. `print!` panics when the reader has
/// gone; this returns [`StdoutClosed`] then, which [`main`] ends quietly on.
fn write_stdout(text: std::fmt::Arguments<'_>) -> Result<(), Failure> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    stdout.write_fmt(text).and_then(|()| stdout.flush()).map_err(|e| {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Failure::Other(StdoutClosed.into())
        } else {
            Failure::Other(anyhow::Error::new(e).context("writing to stdout"))
        }
    })
}

/// The reader of stdout has gone. Its own type, so that a broken pipe of
/// anything else (a connection, a file) stays an error.
#[derive(Debug, thiserror::Error)]
#[error("the reader of stdout has gone")]
struct StdoutClosed;

/// `print!` that returns stdout's error (see [`write_stdout`]).
macro_rules! out {
    ($($arg:tt)*) => {
        write_stdout(format_args!($($arg)*))
    };
}

/// `println!` that returns stdout's error (see [`write_stdout`]).
macro_rules! outln {
    ($($arg:tt)*) => {
        write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Whether `failure` is [`StdoutClosed`].
fn is_broken_pipe(failure: &Failure) -> bool {
    failure.error().is::<StdoutClosed>()
}

fn init_logging(cli: &Cli) {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::filter::LevelFilter;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    // The demo and a dry run print their own summary; the per-action log
    // lines would only bury it (and a dry run's would read as if done), so
    // they show with -v.
    let quiet_by_default = matches!(cli.command, Command::Demo { .. } | Command::Run { dry_run: true, .. });
    let default = match (cli.quiet, cli.verbose) {
        (true, _) => LevelFilter::ERROR,
        (false, 0) if quiet_by_default => LevelFilter::WARN,
        (false, 0) => LevelFilter::INFO,
        (false, 1) if quiet_by_default => LevelFilter::INFO,
        (false, 1) => LevelFilter::DEBUG,
        (false, _) => LevelFilter::TRACE,
    };
    let spec = std::env::var(logging::LOG_ENV).ok();
    // Dependencies are capped whatever is chosen (they log tokens below the cap).
    let (filter, warning) = logging::filter(spec.as_deref(), default);
    if let Some(warning) = warning {
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), "liaison: {warning}");
    }
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    // Progress bars only for a person at a terminal reading text logs.
    if liaison::progress::wanted(terminal, matches!(cli.log_format, LogFormat::Text), cli.quiet) {
        liaison::progress::enable();
    }
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(liaison::progress::LogWriter)
        .with_ansi(terminal);
    let registry = tracing_subscriber::registry();
    // A second initialization cannot happen; ignoring its error is harmless.
    let _ = match cli.log_format {
        LogFormat::Text => registry.with(layer.with_filter(filter)).try_init(),
        LogFormat::Json => registry.with(layer.json().with_filter(filter)).try_init(),
    };
}

/// Runs the command; `fixed_now` replaces the clock (tests only, see [`fixed_now`]).
fn run(cli: Cli, fixed_now: Option<Timestamp>) -> Result<(), Failure> {
    let now = fixed_now.unwrap_or_else(Timestamp::now);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Other(anyhow!(e).context("starting the async runtime")))?;
    match cli.command {
        Command::Demo {
            dir,
            people,
            units,
            zones,
            busy,
            files_only,
            seed,
        } => {
            let people = people as usize;
            let shape = if busy {
                demo::Shape::busy(people, demo::UNITS.len())
            } else {
                demo::Shape::demo(people)
            };
            let shape = demo::Shape {
                units: units.map_or(shape.units, |u| u as usize),
                zones: zones.map_or(shape.zones, usize::from),
                ..shape
            };
            runtime.block_on(demo_command(dir, &shape, files_only, seed, now))
        }
        Command::Check => runtime.block_on(check_command(cli.config.as_deref(), now)),
        Command::Auth { no_browser } => runtime.block_on(auth_command(cli.config.as_deref(), !no_browser)),
        Command::Plan { term, json } => runtime.block_on(plan_command(cli.config.as_deref(), term, json, now)),
        Command::Run {
            once,
            dry_run,
            json,
            allow_mass_cancel,
        } => {
            let options = liaison::cycle::Options {
                dry_run,
                allow_mass_cancel,
                ..Default::default()
            };
            runtime.block_on(run_command(cli.config.as_deref(), once, options, json, fixed_now))
        }
        Command::Status { json } => status_command(cli.config.as_deref(), json, now),
        Command::History { json, csv } => history_command(cli.config.as_deref(), json, csv),
        Command::Report { out } => report_command(cli.config.as_deref(), out, now),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(
                shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "liaison",
                &mut script,
            );
            out!("{}", String::from_utf8_lossy(&script))
        }
        Command::Man => {
            let page = liaison::manual::render(<Cli as clap::CommandFactory>::command())
                .map_err(|e| Failure::Other(anyhow!(e).context("rendering the manual page")))?;
            out!("{page}")
        }
    }
}

fn load_config(explicit: Option<&Path>) -> Result<config::Config, Failure> {
    let path = config::find_config_path(explicit).map_err(|e| Failure::Usage(e.into()))?;
    config::load(&path).map_err(|e| Failure::Usage(e.into()))
}

async fn check_command(explicit: Option<&Path>, now: Timestamp) -> Result<(), Failure> {
    let cfg = load_config(explicit)?;
    out!("{}", config::summary(&cfg, app::today(&cfg, now)))?;
    for line in provider::describe_credentials(&cfg, now).await? {
        outln!("{line}")?;
    }
    outln!("{}: OK", cfg.path.display())?;
    Ok(())
}

async fn auth_command(explicit: Option<&Path>, open_browser: bool) -> Result<(), Failure> {
    let cfg = load_config(explicit)?;
    provider::authorize(&cfg, open_browser, |text| out!("{text}")).await
}

async fn plan_command(explicit: Option<&Path>, term: Option<Date>, json: bool, now: Timestamp) -> Result<(), Failure> {
    let cfg = load_config(explicit)?;
    let (plan, state) = app::dry_plan(&cfg, term, now).await?;
    if json {
        let text = serde_json::to_string_pretty(&render::plan_json(&cfg, &plan, &state.kept))
            .map_err(|e| Failure::Other(e.into()))?;
        outln!("{text}")?;
    } else {
        out!("{}", render::render_plan(&cfg, &plan, &state.kept))?;
    }
    Ok(())
}

async fn run_command(
    explicit: Option<&Path>,
    once: bool,
    options: liaison::cycle::Options,
    json: bool,
    fixed_now: Option<Timestamp>,
) -> Result<(), Failure> {
    let clock = fixed_now.map_or(daemon::Clock::System, daemon::Clock::Fixed);
    if !once {
        let path = config::find_config_path(explicit).map_err(|e| Failure::Usage(e.into()))?;
        daemon::run(path, clock, daemon::unix_signals()?).await?;
        // A stop may leave a cycle's thread inside this runtime (after the
        // grace period): end here, with the store flushed, rather than drop
        // the runtime under it (which panics that thread mid-write). The
        // write-ahead log makes the cut safe.
        std::process::exit(0);
    }
    let cfg = load_config(explicit)?;
    let provider = provider::provider(&cfg).await?;
    if options.dry_run {
        // A private copy of the state (or none) and a provider that reads
        // but writes nothing: the same cycle, with nothing written anywhere.
        let snapshot = app::store_snapshot(&cfg)?;
        let empty;
        let store = match &snapshot {
            Some(s) => &**s,
            None => {
                empty = liaison::store::Snapshot::empty().map_err(|e| Failure::Other(e.into()))?;
                &*empty
            }
        };
        app::check_state(&cfg, store, clock.now())?;
        let dry = liaison::dry_run::DryRun::new(&provider);
        let summary = liaison::runner::run_with(&cfg, &dry, store, clock.now(), &options).await?;
        if json {
            let text = serde_json::to_string_pretty(&liaison::dry_run::json(&summary))
                .map_err(|e| Failure::Other(e.into()))?;
            outln!("{text}")?;
        } else {
            out!("{}", liaison::dry_run::render(&summary))?;
        }
        return Ok(());
    }
    let store = app::open_store(&cfg)?;
    app::check_state(&cfg, &store, clock.now())?;
    liaison::runner::run_with(&cfg, &provider, &store, clock.now(), &options).await?;
    Ok(())
}

/// Reads `status.json` only: the config just says where the state directory is.
fn status_command(explicit: Option<&Path>, json: bool, now: Timestamp) -> Result<(), Failure> {
    let cfg = load_config(explicit)?;
    let (status, text) = liaison::status::read(&cfg.state_dir).map_err(|e| Failure::Other(e.into()))?;
    if json {
        outln!("{}", text.trim_end())?;
    } else {
        out!("{}", liaison::status::render(&status, now))?;
    }
    Ok(())
}

fn history_command(explicit: Option<&Path>, json: bool, csv: bool) -> Result<(), Failure> {
    let cfg = load_config(explicit)?;
    let records = match app::store_snapshot(&cfg)? {
        Some(store) => store.series()?,
        None => Vec::new(),
    };
    let units: Vec<String> = cfg.people.iter().map(|p| p.unit.clone()).collect();
    let report = liaison::history::build(&records, &units);
    if json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| Failure::Other(e.into()))?;
        outln!("{text}")?;
    } else if csv {
        out!("{}", liaison::history::render_csv(&report))?;
    } else {
        out!("{}", liaison::history::render_text(&report))?;
    }
    Ok(())
}

/// Writes the report from a copy of the store and `status.json` (if a cycle
/// has run), as `history` and `status` read them.
fn report_command(explicit: Option<&Path>, out: Option<PathBuf>, now: Timestamp) -> Result<(), Failure> {
    let cfg = load_config(explicit)?;
    let records = match app::store_snapshot(&cfg)? {
        Some(store) => store.series()?,
        None => Vec::new(),
    };
    let status = match liaison::status::read(&cfg.state_dir) {
        Ok((status, _)) => Some(status),
        Err(liaison::status::ReadError::Missing { .. }) => None,
        Err(e) => return Err(Failure::Other(e.into())),
    };
    // `--out -`: the page on stdout (to pipe into a mailer or a copy).
    if out.as_deref() == Some(Path::new("-")) {
        let report = liaison::report::model(&cfg, &records, status.as_ref(), now);
        return out!("{}", liaison::report::render(&report));
    }
    let path = match out {
        Some(path) => {
            liaison::report::check_out(&path).map_err(|e| Failure::Usage(anyhow!("--out {}: {e}", path.display())))?;
            path
        }
        None if cfg.state_dir.is_dir() => liaison::report::default_path(&cfg),
        None => {
            return Err(Failure::Other(anyhow!(
                "no state yet in {}: run `liaison run --once` first, or write the report elsewhere with --out FILE",
                cfg.state_dir.display()
            )));
        }
    };
    let report = liaison::report::model(&cfg, &records, status.as_ref(), now);
    liaison::report::write(&path, &liaison::report::render(&report))
        .with_context(|| format!("writing {}", path.display()))
        .map_err(Failure::Other)?;
    let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    outln!(
        "Wrote {} ({} in {}).",
        path.display(),
        plural(report.summary.connections, "connection", "connections"),
        plural(report.summary.terms, "term", "terms")
    )
}

async fn demo_command(
    dir: Option<PathBuf>,
    shape: &demo::Shape,
    files_only: bool,
    seed: u64,
    now: Timestamp,
) -> Result<(), Failure> {
    let dir = demo_dir(dir)?;
    let first_term = demo::next_term_start(now.to_zoned_datetime(jiff::tz::TimeZone::UTC).date());
    let org = demo::generate(shape, seed, first_term);
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text)
            .with_context(|| format!("writing {}", path.display()))
            .map_err(Failure::Other)
    };
    write("config.toml", &org.config_toml)?;
    for (name, text) in &org.calendars {
        write(name, text)?;
    }
    let summary = format!(
        "Sample organization: {} people in {} units, {} zones (seed {seed}).",
        org.people.len(),
        org.units,
        org.zones
    );
    let config = dir.join("config.toml");
    if files_only {
        outln!("{summary}\nFiles in {}.", dir.display())?;
        outln!("\nNext: liaison --config {} plan", config.display())?;
        return Ok(());
    }

    let cfg = config::load(&dir.join("config.toml"))
        .map_err(|e| Failure::Other(anyhow!(e).context("the generated config")))?;
    let term = app::term_for(&cfg, cfg.schedule.first_term)?;
    let provider = provider::local_provider(&cfg, &dir);
    let store = Store::open(&cfg.state_dir)?;
    let state = app::TermState::from_records(&store.series()?, &term, app::notice_cutoff(&cfg, now), now);
    let busy = app::read_busy(&cfg, &provider, &term).await?;
    let plan = app::make_plan(&cfg, &busy, &state, term, now);
    let report = booking::book(&cfg, &provider, &store, &plan, now).await?;

    outln!("{summary}\n")?;
    out!("{}", render::render_plan(&cfg, &plan, &[]))?;
    outln!(
        "\nBooked {} series ({} were already there).",
        report.created,
        report.already_there
    )?;
    outln!("\nFiles in {}:", dir.display())?;
    outln!("  config.toml      the configuration (edit people, hours, units)")?;
    outln!("  <email>.ics      each person's calendar (busy times in)")?;
    outln!("  bookings.ics     the booked connections (series out)")?;
    outln!("  state/           liaison's database (who met whom)")?;
    outln!("\nNext: liaison --config {} plan", config.display())?;
    outln!(
        "  (from the source tree: cargo run --release -- --config {} plan)",
        config.display()
    )?;
    Ok(())
}

/// The demo's directory: the one given (new or empty), or a new one it names.
fn demo_dir(dir: Option<PathBuf>) -> Result<PathBuf, Failure> {
    match dir {
        Some(dir) => {
            if dir.exists() && !dir.is_dir() {
                return Err(Failure::Usage(anyhow!(
                    "{} exists and is not a directory; choose a new or empty directory for the demo",
                    dir.display()
                )));
            }
            let non_empty = std::fs::read_dir(&dir).map(|mut d| d.next().is_some()).unwrap_or(false);
            if non_empty {
                return Err(Failure::Usage(anyhow!(
                    "{} is not empty; choose a new or empty directory for the demo (it writes config.toml and calendars there)",
                    dir.display()
                )));
            }
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("creating {}", dir.display()))
                .map_err(Failure::Other)?;
            Ok(dir)
        }
        None => tempfile::Builder::new()
            .prefix("liaison-demo-")
            .tempdir()
            .map(|d| d.keep())
            .context("creating a directory for the demo")
            .map_err(Failure::Other),
    }
}
