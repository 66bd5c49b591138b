//! Progress on a terminal for long work (reading free/busy of many people,
//! booking many series): a bar on stderr once the work has lasted
//! [`SHOW_AFTER`], through indicatif.
//!
//! Off unless `main` calls [`enable`], which it does only when stderr is a
//! terminal and log lines are text: under systemd, in a pipe or with
//! `--log-format json` nothing extra is written. Process-wide on purpose: the
//! terminal is the process's, and the work that reports progress (a cycle,
//! `plan`, `demo`) runs deep in the library. Log lines go through
//! [`LogWriter`], which lifts the bars while a line is written so that the
//! two never mix.

use std::future::Future;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Work shorter than this shows nothing.
pub const SHOW_AFTER: Duration = Duration::from_secs(2);
/// How often [`watch`] reads its counter.
const POLL: Duration = Duration::from_millis(200);

/// The look of a [`Task::counted`] and of a [`Task::open`].
const COUNTED: &str = "{msg} [{bar:30}] {pos}/{len} ({elapsed}, about {eta} left)";
const OPEN: &str = "{spinner} {msg} ({pos} steps, {elapsed})";

static BARS: OnceLock<MultiProgress> = OnceLock::new();

/// Turns progress bars on, drawn on stderr. Call it only when stderr is a
/// terminal and log lines are text.
pub fn enable() {
    let _ = BARS.set(MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
}

/// Whether bars are wanted: only for a person at a terminal (stderr is
/// one) reading text log lines, and not with `-q`. JSON logs and the journal
/// get nothing extra.
pub fn wanted(stderr_is_terminal: bool, text_logs: bool, quiet: bool) -> bool {
    stderr_is_terminal && text_logs && !quiet
}

/// Whether [`enable`] was called.
pub fn enabled() -> bool {
    BARS.get().is_some()
}

/// One piece of long work. Does nothing when bars are off; otherwise drawn
/// from its first update after [`SHOW_AFTER`], and cleared when dropped.
pub struct Task {
    bar: Option<ProgressBar>,
    started: Instant,
    shown: bool,
}

impl Task {
    /// Work of `total` known steps ("booking 500 series").
    pub fn counted(what: &str, total: u64) -> Task {
        Task::new(what, Some(total))
    }

    /// Work of an unknown number of steps; `pos` counts what is done
    /// (requests sent, files read).
    pub fn open(what: &str) -> Task {
        Task::new(what, None)
    }

    fn new(what: &str, total: Option<u64>) -> Task {
        let bar = BARS.get().map(|_| {
            // Fixed templates of this file: they parse, and a failure would
            // only mean the default style.
            let (bar, template) = match total {
                Some(total) => (
                    ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden()),
                    COUNTED,
                ),
                None => (ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden()), OPEN),
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message(what.to_string());
            bar
        });
        Task {
            bar,
            started: Instant::now(),
            shown: false,
        }
    }

    /// `n` steps done in all.
    pub fn set(&mut self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(n);
        }
        self.reveal();
    }

    /// `n` more steps done.
    pub fn inc(&mut self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
        self.reveal();
    }

    /// Shows the bar once the work has lasted [`SHOW_AFTER`].
    fn reveal(&mut self) {
        if self.shown || self.started.elapsed() < SHOW_AFTER {
            return;
        }
        if let (Some(bar), Some(bars)) = (&self.bar, BARS.get()) {
            let bar = bars.add(bar.clone());
            bar.enable_steady_tick(Duration::from_millis(120));
            self.shown = true;
        }
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        if let (true, Some(bar), Some(bars)) = (self.shown, &self.bar, BARS.get()) {
            bar.finish_and_clear();
            bars.remove(bar);
        }
    }
}

/// Runs `work` and shows `task` meanwhile, its position read from `done`
/// every [`POLL`] (for work that reports nothing itself, like one busy-time
/// query of many requests). With bars off it is just `work`.
pub async fn watch<F: Future>(mut task: Task, done: impl Fn() -> u64, work: F) -> F::Output {
    if task.bar.is_none() {
        return work.await;
    }
    tokio::pin!(work);
    let mut tick = tokio::time::interval(POLL);
    loop {
        tokio::select! {
            out = &mut work => return out,
            _ = tick.tick() => task.set(done()),
        }
    }
}

/// The log's writer: stderr, with the bars lifted while a line is written.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match BARS.get() {
            Some(bars) => bars.suspend(|| std::io::stderr().write(buf)),
            None => std::io::stderr().write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogWriter;

    fn make_writer(&'a self) -> LogWriter {
        LogWriter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_only_at_a_terminal_with_text_logs_and_not_quiet() {
        for terminal in [false, true] {
            for text in [false, true] {
                for quiet in [false, true] {
                    let expected = terminal && text && !quiet;
                    assert_eq!(
                        wanted(terminal, text, quiet),
                        expected,
                        "terminal {terminal}, text logs {text}, quiet {quiet}"
                    );
                }
            }
        }
        // The one combination that shows them, spelled out.
        assert!(wanted(true, true, false));
        assert!(!wanted(false, true, false) && !wanted(true, false, false) && !wanted(true, true, true));
    }

    #[test]
    fn the_templates_parse() {
        for template in [COUNTED, OPEN] {
            assert!(ProgressStyle::with_template(template).is_ok(), "{template}");
        }
    }

    /// Bars are off in tests (nothing calls `enable`): a task costs nothing
    /// and `watch` is the work itself.
    #[tokio::test]
    async fn without_enable_a_task_is_inert_and_watch_returns_the_work() {
        assert!(!enabled());
        let mut task = Task::counted("booking", 3);
        task.inc(1);
        task.set(3);
        assert!(task.bar.is_none() && !task.shown);
        let out = watch(Task::open("reading"), || 0, async { 42 }).await;
        assert_eq!(out, 42);
    }
}
