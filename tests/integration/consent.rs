//! `liaison auth` with the test playing the browser, against the fake Google:
//! the loopback redirect counts only with this authorization's `state`
//! (another local process cannot slip in a code), the code is redeemed with
//! its PKCE verifier, and a refused consent ends `liaison auth` at once.

use std::io::Read as _;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use data_encoding::BASE64URL_NOPAD;
use sha2::{Digest as _, Sha256};

use crate::google::{Org, base_command, http_get, lines_of};

/// The longest wait for any one thing (a line, an answer, an exit); a
/// bound, never a pause.
const WAIT: Duration = Duration::from_secs(60);

/// A running `liaison auth --no-browser` and the consent URL it printed.
struct AuthRun {
    child: Child,
    url: String,
    lines: mpsc::Receiver<String>,
    stderr: std::thread::JoinHandle<String>,
}

impl AuthRun {
    fn start(org: &Org) -> AuthRun {
        let mut child = base_command(org.dir())
            .args(["--config", org.config.to_str().unwrap(), "auth", "--no-browser"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("liaison auth starts");
        let lines = lines_of(child.stdout.take().unwrap());
        let mut stderr = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let url = loop {
            let line = lines.recv_timeout(WAIT).expect("liaison auth prints the consent URL");
            if line.starts_with("http") {
                break line.trim().to_string();
            }
        };
        AuthRun {
            child,
            url,
            lines,
            stderr,
        }
    }

    fn still_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Waits for the exit on a thread: answers the instant it came.
    fn exit_watch(
        mut self,
    ) -> (
        mpsc::Receiver<(i32, Instant)>,
        mpsc::Receiver<String>,
        std::thread::JoinHandle<String>,
    ) {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let status = self.child.wait().unwrap();
            let _ = tx.send((status.code().unwrap_or(-1), Instant::now()));
        });
        (rx, self.lines, self.stderr)
    }
}

/// The raw (still encoded) value of `name` in a URL's query.
fn raw_param<'a>(url: &'a str, name: &str) -> Option<&'a str> {
    let (_, query) = url.split_once('?')?;
    query.split('&').find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
}

/// The consent page's redirect for the URL `liaison auth` printed.
fn google_redirect(url: &str) -> String {
    let (status, headers, body) = http_get(url);
    assert_eq!(status, 302, "consent page: {body}");
    headers.get("location").expect("a redirect").clone()
}

#[test]
fn a_redirect_with_a_wrong_state_is_refused_and_the_right_one_still_authorizes() {
    let org = Org::new(2);
    let mut auth = AuthRun::start(&org);
    assert_eq!(
        raw_param(&auth.url, "code_challenge_method"),
        Some("S256"),
        "{}",
        auth.url
    );
    let challenge = raw_param(&auth.url, "code_challenge")
        .expect("a PKCE challenge")
        .to_string();
    let location = google_redirect(&auth.url);
    let (base, _) = location.split_once('?').unwrap();
    let state = raw_param(&location, "state").expect("the state comes back");
    let code = raw_param(&location, "code").expect("a code");

    // Another process on this machine sends to the port: the very code with a
    // forged state, with none, with a near miss, twice the state, and a
    // forged refusal. Each gets the plain error page, and nothing happens.
    let forged = [
        format!("{base}?state=forged&code={code}"),
        format!("{base}?code={code}"),
        format!("{base}?state={}&code={code}", &state[..state.len() - 1]),
        format!("{base}?state={state}&state=forged&code={code}"),
        format!("{base}?error=access_denied&state=forged"),
    ];
    for url in &forged {
        let (status, headers, body) = http_get(url);
        assert_eq!(status, 400, "{url}: {body}");
        assert!(headers["content-type"].starts_with("text/plain"), "{headers:?}");
        assert!(body.contains("its state does not match"), "{body}");
    }
    assert!(auth.still_running(), "a wrong state ends nothing");
    assert!(
        !org.fake.requests().iter().any(|r| r.path == "/token"),
        "no code was redeemed"
    );
    let token = org.dir().join("state").join("token.json");
    assert!(!token.exists());

    // The browser's own redirect still authorizes.
    let (status, _, body) = http_get(&location);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("You can close this window"), "{body}");
    let (exit, lines, stderr) = auth.exit_watch();
    let (code_exit, _) = exit.recv_timeout(WAIT).expect("liaison auth ends");
    let stdout: Vec<String> = lines.try_iter().collect();
    let stderr = stderr.join().unwrap();
    assert_eq!(code_exit, 0, "{stdout:?}\n{stderr}");
    assert!(token.exists());
    assert_eq!(
        stderr.matches("wrong or missing state").count(),
        forged.len(),
        "each forged request is logged: {stderr}"
    );
    assert!(!stderr.contains(code), "the code is never logged: {stderr}");

    // The code was redeemed once, with the verifier of the printed challenge.
    let redeemed: Vec<_> = org
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.path == "/token" && r.body.contains("grant_type=authorization_code"))
        .collect();
    assert_eq!(redeemed.len(), 1);
    assert_eq!(redeemed[0].status, 200);
    let verifier = raw_param(&format!("?{}", redeemed[0].body), "code_verifier")
        .expect("the code_verifier is sent")
        .to_string();
    assert_eq!(BASE64URL_NOPAD.encode(&Sha256::digest(verifier.as_bytes())), challenge);
}

#[test]
fn a_refused_consent_ends_auth_at_once_with_exit_3() {
    let org = Org::new(2);
    org.fake.deny_consent(true);
    let mut auth = AuthRun::start(&org);
    let location = google_redirect(&auth.url);
    assert_eq!(raw_param(&location, "error"), Some("access_denied"), "{location}");
    let (base, _) = location.split_once('?').unwrap();
    // A refusal without this authorization's state is not Google's.
    let (status, _, _) = http_get(&format!("{base}?error=access_denied&state=forged"));
    assert_eq!(status, 400);
    assert!(auth.still_running());

    let (exit, _, stderr) = auth.exit_watch();
    let sent = Instant::now();
    let (status, _, body) = http_get(&location);
    let (code, exited) = exit.recv_timeout(WAIT).expect("liaison auth ends");
    let took = exited.saturating_duration_since(sent);
    let stderr = stderr.join().unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Access was not granted"), "{body}");
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("access was not granted on Google's consent page (access_denied)"),
        "{stderr}"
    );
    assert!(
        took < Duration::from_secs(1),
        "liaison auth took {took:?} to end after the refusal"
    );
    eprintln!("access_denied: liaison auth exited {took:?} after the redirect was sent");
    assert!(!org.fake.requests().iter().any(|r| r.path == "/token"));
    assert!(!org.dir().join("state").join("token.json").exists());
}

/// `liaison auth` stores the grant in the state directory: one that is not
/// liaison's own (here writable by everyone) ends it at once with exit 4, as at
/// the daemon's start, before anyone is asked to sign in.
#[cfg(unix)]
#[test]
fn auth_refuses_a_state_directory_that_is_not_liaisons_own_with_exit_4() {
    use std::os::unix::fs::PermissionsExt as _;
    let org = Org::new(2);
    let state = org.dir().join("state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o777)).unwrap();
    let run = org.liaison(&["auth", "--no-browser"]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(run.stderr.contains("state directory"), "{}", run.stderr);
    assert!(
        !run.stdout.contains("http"),
        "no consent URL was offered: {}",
        run.stdout
    );
    let mode = std::fs::metadata(&state).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o777, "the directory was changed");
}
