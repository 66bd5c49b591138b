//! The HTTP Basic credentials (RFC 7617) of the CalDAV account: the user
//! name from the configuration and the password from its own file, which
//! must be private to the service user (mode 0600: group and others have no
//! access) and is never shown — not in messages, logs or `Debug` output.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret as _, SecretString};

use crate::calendar::CalendarError;

/// A password file larger than this is not a password file.
const MAX_PASSWORD_FILE: u64 = 4096;

/// The account liaison signs in with.
pub struct Credentials {
    pub username: String,
    password: SecretString,
    /// Where the password came from (for messages).
    pub password_file: PathBuf,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password_file", &self.password_file)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// Reads the password from `password_file` (see [`read_password`]).
    pub fn load(username: &str, password_file: &Path) -> Result<Credentials, CalendarError> {
        Ok(Credentials {
            username: username.to_string(),
            password: read_password(password_file)?,
            password_file: password_file.to_path_buf(),
        })
    }

    /// The value of the `Authorization` header.
    pub fn authorization(&self) -> String {
        let pair = format!("{}:{}", self.username, self.password.expose_secret());
        format!("Basic {}", data_encoding::BASE64.encode(pair.as_bytes()))
    }
}

fn invalid(path: &Path, message: String) -> CalendarError {
    CalendarError::Invalid {
        path: path.display().to_string(),
        line: None,
        message: format!("{message} (calendar.caldav.password_file)"),
    }
}

/// The password in `path`: the file must exist, be private (no access for
/// group or others), hold one line of printable text; one trailing newline
/// (LF or CRLF) is not part of it.
pub fn read_password(path: &Path) -> Result<SecretString, CalendarError> {
    let file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => invalid(path, "no such file; write the account's password into it".into()),
        _ => invalid(path, format!("cannot be read: {e}")),
    })?;
    let meta = file
        .metadata()
        .map_err(|e| invalid(path, format!("cannot be read: {e}")))?;
    if !meta.is_file() {
        return Err(invalid(path, "is not a file".into()));
    }
    if let Some(mode) = group_or_other_access(&meta) {
        return Err(invalid(
            path,
            format!("holds a password but others may read it (mode {mode:o}); run `chmod 600` on it"),
        ));
    }
    let mut text = String::new();
    file.take(MAX_PASSWORD_FILE + 1)
        .read_to_string(&mut text)
        .map_err(|e| invalid(path, format!("cannot be read as text: {e}")))?;
    if text.len() as u64 > MAX_PASSWORD_FILE {
        return Err(invalid(
            path,
            format!("is larger than {MAX_PASSWORD_FILE} bytes; expected one line with the password"),
        ));
    }
    let password = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text);
    if password.is_empty() {
        return Err(invalid(path, "is empty; write the account's password into it".into()));
    }
    if password.chars().any(char::is_control) {
        return Err(invalid(
            path,
            "holds more than one line or a control character; expected the password alone".into(),
        ));
    }
    Ok(SecretString::from(password.to_string()))
}

#[cfg(unix)]
fn group_or_other_access(meta: &std::fs::Metadata) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = meta.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then_some(mode)
}

#[cfg(not(unix))]
fn group_or_other_access(_: &std::fs::Metadata) -> Option<u32> {
    None
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn file(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn a_private_one_line_file_gives_the_password_without_its_newline() {
        let dir = tempfile::tempdir().unwrap();
        for (text, expected) in [("s3cret\n", "s3cret"), ("s3cret\r\n", "s3cret"), ("s3 cret", "s3 cret")] {
            let path = file(dir.path(), "pw", text, 0o600);
            let creds = Credentials::load("liaison", &path).unwrap();
            let basic = data_encoding::BASE64.encode(format!("liaison:{expected}").as_bytes());
            assert_eq!(creds.authorization(), format!("Basic {basic}"));
        }
        let path = file(dir.path(), "ro", "s3cret\n", 0o400);
        assert!(
            Credentials::load("liaison", &path).is_ok(),
            "read-only for the owner is private too"
        );
    }

    #[test]
    fn a_readable_empty_or_odd_file_is_refused_without_showing_the_password() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (
                "open",
                "hunter2\n",
                0o644,
                "others may read it (mode 644); run `chmod 600` on it",
            ),
            ("group", "hunter2\n", 0o640, "(mode 640)"),
            ("empty", "\n", 0o600, "is empty"),
            ("lines", "hunter2\nsecond\n", 0o600, "more than one line"),
        ];
        for (name, text, mode, expected) in cases {
            let path = file(dir.path(), name, text, mode);
            let err = Credentials::load("liaison", &path).unwrap_err();
            let shown = err.to_string();
            assert!(shown.contains(expected), "{name}: {shown}");
            assert!(shown.contains("calendar.caldav.password_file"), "{name}: {shown}");
            assert!(shown.contains(&path.display().to_string()), "{name}: {shown}");
            assert!(!shown.contains("hunter2"), "{name}: {shown}");
            assert!(err.is_bad_input(), "{name}: exit 2");
        }
        let err = Credentials::load("liaison", &dir.path().join("absent")).unwrap_err();
        assert!(err.to_string().contains("no such file"), "{err}");
        let big = file(dir.path(), "big", &"x".repeat(5000), 0o600);
        assert!(
            Credentials::load("liaison", &big)
                .unwrap_err()
                .to_string()
                .contains("larger than")
        );
    }

    #[test]
    fn debug_output_never_holds_the_password() {
        let dir = tempfile::tempdir().unwrap();
        let path = file(dir.path(), "pw", "hunter2\n", 0o600);
        let creds = Credentials::load("liaison", &path).unwrap();
        let shown = format!("{creds:?}");
        assert!(!shown.contains("hunter2") && shown.contains("liaison"), "{shown}");
    }
}
