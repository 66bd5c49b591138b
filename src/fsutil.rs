//! File writes that a crash can never leave half done: a temporary file in the
//! same directory, fsync, rename over the target, then fsync of the directory.
//! Used for the token, `status.json` and the local provider's `bookings.ics`.
//! Also the private directory (0700) that holds the state and the token.

use std::io::Write as _;
use std::path::Path;

/// Who may read the file written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// 0600: secrets and state (token, status).
    Private,
    /// The process's default (umask applies): shared files such as calendars.
    Default,
}

/// Replaces `path` with `bytes`, so that a reader (or a crash) sees the old file
/// or the new one, never a mix. The temporary file is removed if anything fails.
pub fn write_atomically(path: &Path, bytes: &[u8], mode: Mode) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    // tempfile creates files 0600 on Unix; said explicitly for secrets so it never
    // depends on that default, and widened to the usual mode for shared files.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        builder.permissions(std::fs::Permissions::from_mode(match mode {
            Mode::Private => 0o600,
            Mode::Default => 0o644,
        }));
    }
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    // Makes the rename durable. Best effort: some filesystems refuse to sync a
    // directory, and the new file is in place already.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Creates `dir` (and parents) and makes it private to the user (0700).
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_private_file_is_replaced_whole_with_mode_0600_and_no_temporary_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token.json");
        std::fs::write(&path, "old").unwrap();
        write_atomically(&path, b"new", Mode::Private).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_private_dir_is_created_with_its_parents_and_mode_0700() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("a").join("state");
        create_private_dir(&state).unwrap();
        assert!(state.is_dir());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&state).unwrap().permissions().mode() & 0o777, 0o700);
        }
        create_private_dir(&state).unwrap();
    }
}
