//! The log cap with the real binary and the real yup-oauth2 and HTTP clients:
//! whatever `$LIAISON_LOG` asks of yup-oauth2, hyper, hyper_util, h2 or
//! rustls, nothing of theirs below info is written and no token appears,
//! while liaison's own debug lines still are.

use serde_json::Value;

use crate::fake_google::DEFAULT_USER;
use crate::google::base_command;
use crate::strict::service_account_org;
use crate::util::Run;

/// Asks for everything, the dependencies by name and down to one module.
const EVERYTHING: &str = "trace,liaison=debug,yup_oauth2=trace,yup_oauth2::service_account=trace,\
                          hyper=trace,hyper_util=trace,h2=trace,rustls=trace";

#[test]
fn liaison_log_cannot_lift_the_cap_on_dependencies_but_selects_liaisons_own_lines() {
    let org = service_account_org(DEFAULT_USER);
    // One failed call makes liaison log its retry at debug level.
    org.fake.fail_next(1, 503, "backendError");
    let mut output = String::new();
    // `auth` fetches the service account's token, `run` fetches its own.
    for args in [&["auth"][..], &["run", "--once"]] {
        let run = Run::from(
            base_command(org.dir())
                .args(["--log-format", "json", "--config", org.config.to_str().unwrap()])
                .args(args)
                .env("LIAISON_LOG", EVERYTHING)
                .output()
                .expect("liaison runs"),
        );
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        output.push_str(&run.stdout);
        output.push_str(&run.stderr);
    }

    let mut own_debug = 0;
    for line in output.lines().filter(|l| l.starts_with('{')) {
        let event: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let (level, target) = (event["level"].as_str().unwrap(), event["target"].as_str().unwrap());
        let own = target == "liaison" || target.starts_with("liaison::");
        if matches!(level, "DEBUG" | "TRACE") {
            assert!(own, "{target} logged at {level}: {line}");
            own_debug += 1;
        }
    }
    assert!(
        own_debug > 0,
        "$LIAISON_LOG did not turn liaison's debug lines on:\n{output}"
    );

    let secrets = org.fake.secrets();
    assert!(!secrets.is_empty(), "the fake handed out no token");
    for secret in secrets {
        assert!(
            !output.contains(&secret),
            "a secret appeared in the output: {}…",
            &secret[..secret.len().min(8)]
        );
    }
}
