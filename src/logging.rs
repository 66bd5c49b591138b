//! Which log events are written: `$LIAISON_LOG` (or the verbosity flags) for
//! liaison's own targets, under a cap that no setting lifts for every other
//! crate's targets.
//!
//! The cap exists because dependencies log secrets below it: yup-oauth2 logs
//! token responses and authorization codes at debug level (through the `log`
//! bridge), and HTTP and TLS crates (hyper, hyper_util, h2, rustls) trace
//! requests. An `EnvFilter` alone cannot hold a cap, since its most specific
//! directive wins (`yup_oauth2::service_account=debug` beats `yup_oauth2=info`),
//! so the cap is a second filter that every event must also pass.

use tracing::Subscriber;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::combinator::And;
use tracing_subscriber::filter::{FilterExt as _, LevelFilter, Targets};
use tracing_subscriber::registry::LookupSpan;

/// The variable that selects log output, in `EnvFilter` syntax.
pub const LOG_ENV: &str = "LIAISON_LOG";

/// The most any target outside liaison may log: info, where no dependency
/// writes a token, a code or a request.
pub const DEPENDENCY_CAP: LevelFilter = LevelFilter::INFO;

/// The filter for `spec` (the value of `$LIAISON_LOG`; unset or blank means
/// `default`), capped for dependencies. An invalid `spec` gives `default` and
/// a warning that names the variable.
pub fn filter<S>(spec: Option<&str>, default: LevelFilter) -> (And<EnvFilter, Targets, S>, Option<String>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let fallback = || EnvFilter::default().add_directive(default.into());
    let (chosen, warning) = match spec.map(str::trim).filter(|s| !s.is_empty()) {
        None => (fallback(), None),
        Some(spec) => match EnvFilter::try_new(spec) {
            Ok(chosen) => (chosen, None),
            Err(e) => (
                fallback(),
                Some(format!(
                    "${LOG_ENV}={spec:?} is not a log filter ({e}); logging at {default}"
                )),
            ),
        },
    };
    (chosen.and(cap()), warning)
}

/// Everything of liaison's own, at most [`DEPENDENCY_CAP`] of anything else.
/// A target is liaison's when it starts with `liaison::` or is `liaison`
/// (the library's modules; the binary's events are under `liaison` too).
fn cap() -> Targets {
    Targets::new()
        .with_target("liaison", LevelFilter::TRACE)
        .with_default(DEPENDENCY_CAP)
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::{Layer as _, Registry};

    use super::*;

    /// A writer into a shared buffer, so that a test reads what was logged.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }

    /// What one event per (target, level) below writes under `spec`.
    fn logged(spec: Option<&str>, default: LevelFilter) -> String {
        let out = Captured::default();
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(out.clone())
            .with_ansi(false)
            .with_filter(filter::<Registry>(spec, default).0);
        let subscriber = Registry::default().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!(target: "yup_oauth2::service_account", "yup-debug");
            tracing::info!(target: "yup_oauth2::service_account", "yup-sa-info");
            tracing::trace!(target: "yup_oauth2", "yup-trace");
            tracing::info!(target: "yup_oauth2::authenticator", "yup-info");
            tracing::debug!(target: "hyper::proto::h1::io", "hyper-debug");
            tracing::debug!(target: "hyper_util::client::legacy::pool", "hyper-util-debug");
            tracing::trace!(target: "rustls::client::hs", "rustls-trace");
            tracing::debug!(target: "h2::codec", "h2-debug");
            tracing::warn!(target: "rustls::conn", "rustls-warn");
            tracing::debug!(target: "liaison::cycle", "own-debug");
            tracing::trace!(target: "liaison::calendar::http", "own-trace");
            tracing::info!(target: "liaison", "own-info");
        });
        let bytes = out.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    const DEPENDENCY_SECRETS: [&str; 6] = [
        "yup-debug",
        "yup-trace",
        "hyper-debug",
        "hyper-util-debug",
        "rustls-trace",
        "h2-debug",
    ];

    #[test]
    fn no_setting_lets_a_dependency_log_below_info() {
        for spec in [
            "yup_oauth2::service_account=debug",
            "yup_oauth2=trace,hyper=trace,hyper_util=trace,rustls=trace,h2=trace",
            "trace",
            "debug,liaison=trace",
        ] {
            let text = logged(Some(spec), LevelFilter::INFO);
            for message in DEPENDENCY_SECRETS {
                assert!(!text.contains(message), "{spec}: {message} was logged:\n{text}");
            }
            // Each setting is in force: it lets the cap's level through.
            assert!(text.contains("yup-sa-info"), "{spec}:\n{text}");
        }
        let text = logged(Some("trace"), LevelFilter::INFO);
        assert!(text.contains("yup-info") && text.contains("rustls-warn"), "{text}");
    }

    #[test]
    fn liaison_log_still_selects_liaisons_own_targets() {
        let text = logged(Some("liaison=trace"), LevelFilter::INFO);
        for message in ["own-debug", "own-trace", "own-info"] {
            assert!(text.contains(message), "{message} missing:\n{text}");
        }
        let text = logged(Some("liaison::cycle=debug,warn"), LevelFilter::INFO);
        assert!(text.contains("own-debug"), "{text}");
        assert!(!text.contains("own-trace") && !text.contains("own-info"), "{text}");
        assert!(!text.contains("yup-info") && text.contains("rustls-warn"), "{text}");
    }

    #[test]
    fn unset_blank_or_invalid_means_the_default_and_an_invalid_value_is_named() {
        for spec in [None, Some(""), Some("  "), Some("liaison=loud")] {
            let text = logged(spec, LevelFilter::DEBUG);
            assert!(
                text.contains("own-debug") && !text.contains("own-trace"),
                "{spec:?}:\n{text}"
            );
            assert!(!text.contains("yup-debug"), "{spec:?}:\n{text}");
        }
        assert_eq!(filter::<Registry>(Some(" "), LevelFilter::INFO).1, None);
        let warning = filter::<Registry>(Some("liaison=loud"), LevelFilter::INFO).1.unwrap();
        assert!(
            warning.contains("$LIAISON_LOG") && warning.contains("liaison=loud"),
            "{warning}"
        );
    }
}
