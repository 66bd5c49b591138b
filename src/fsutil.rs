//! File writes that a crash can never leave half done: a temporary file in the
//! same directory, fsync, rename over the target, then fsync of the directory.
//! Used for the token, `status.json` and the local provider's `bookings.ics`.
//! Also the private directory (0700) that holds the state and the token, and
//! the directories it will not take over.

use std::io::Write as _;
use std::path::{Path, PathBuf};

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

/// Why an existing directory is not taken as liaison's private directory.
/// Carried inside the `io::Error` that [`create_private_dir`] returns, so
/// that callers can tell it from a failed system call (see [`refusal`]).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refusal(String);

/// The refusal inside an error of [`create_private_dir`], if it is one.
pub fn refusal(e: &std::io::Error) -> Option<&Refusal> {
    e.get_ref().and_then(|inner| inner.downcast_ref::<Refusal>())
}

/// Creates `dir` (and parents) private to the user (0700). An existing
/// directory is made private too, unless it is not liaison's to change:
/// owned by another user, writable by everyone, or a system directory
/// (`/`, `/etc`, `/var/lib`, the home directory …): that is refused, with
/// an error of kind `PermissionDenied` carrying a [`Refusal`].
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if !dir.exists() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir)?;
    }
    // Checked after creating too: another user may have made the directory
    // between the test above and the creation (which then succeeds).
    if let Some(why) = not_ours(dir, &system_dirs())? {
        return Err(std::io::Error::new(std::io::ErrorKind::PermissionDenied, Refusal(why)));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Why the existing directory `dir` may not be made private, if it may not
/// (`system`: the system directories, resolved).
#[cfg(unix)]
fn not_ours(dir: &Path, system: &[PathBuf]) -> std::io::Result<Option<String>> {
    use std::os::unix::fs::MetadataExt as _;
    let meta = std::fs::metadata(dir)?;
    let own = "Set state_dir to a directory of liaison's own (it is created if missing)";
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Ok(Some(format!(
            "owned by another user (uid {}, and liaison runs as uid {me}); liaison makes its state \
             directory private and will not take over another user's. {own}.",
            meta.uid()
        )));
    }
    if meta.mode() & 0o002 != 0 {
        return Ok(Some(format!(
            "writable by every user (mode {:o}); anyone could replace liaison's state there. {own}.",
            meta.mode() & 0o7777
        )));
    }
    let real = std::fs::canonicalize(dir)?;
    if system.contains(&real) {
        return Ok(Some(format!(
            "a system directory; liaison would make it private to itself (mode 0700). {own}, such as {}.",
            dir.join("liaison").display()
        )));
    }
    Ok(None)
}

#[cfg(not(unix))]
fn not_ours(_dir: &Path, _system: &[PathBuf]) -> std::io::Result<Option<String>> {
    Ok(None)
}

/// Directories that hold other programs' files, which liaison must never
/// make private to itself: the top of the file system hierarchy (hier(7)),
/// the places of state, caches and logs, and the user's home with its XDG
/// base directories. Compared after resolving links (`/lib` is often
/// `/usr/lib`).
fn system_dirs() -> Vec<PathBuf> {
    const FIXED: [&str; 35] = [
        "/",
        "/bin",
        "/boot",
        "/dev",
        "/etc",
        "/home",
        "/lib",
        "/lib32",
        "/lib64",
        "/libx32",
        "/media",
        "/mnt",
        "/opt",
        "/proc",
        "/root",
        "/run",
        "/run/user",
        "/sbin",
        "/srv",
        "/sys",
        "/tmp",
        "/usr",
        "/usr/bin",
        "/usr/lib",
        "/usr/local",
        "/usr/local/bin",
        "/usr/local/lib",
        "/usr/share",
        "/var",
        "/var/cache",
        "/var/lib",
        "/var/lib/private",
        "/var/log",
        "/var/spool",
        "/var/tmp",
    ];
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let mut dirs: Vec<PathBuf> = FIXED.iter().map(PathBuf::from).collect();
    if let Some(home) = &home {
        dirs.extend([".config", ".local", ".local/share", ".local/state", ".cache"].map(|d| home.join(d)));
        dirs.push(home.clone());
    }
    for var in [
        "XDG_CONFIG_HOME",
        "XDG_DATA_HOME",
        "XDG_STATE_HOME",
        "XDG_CACHE_HOME",
        "XDG_RUNTIME_DIR",
    ] {
        dirs.extend(std::env::var_os(var).map(PathBuf::from));
    }
    dirs.into_iter()
        .filter_map(|d| std::fs::canonicalize(&d).ok())
        .collect()
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

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[cfg(unix)]
    fn set_mode(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    /// The refusal of `dir`, checking that it left the directory's mode alone.
    #[cfg(unix)]
    fn refused(dir: &Path) -> String {
        let before = mode(dir);
        let e = create_private_dir(dir).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied);
        assert_eq!(mode(dir), before, "{} was changed", dir.display());
        refusal(&e).unwrap_or_else(|| panic!("not a refusal: {e}")).to_string()
    }

    #[cfg(unix)]
    #[test]
    fn an_existing_directory_of_ours_is_made_private() {
        let dir = tempfile::tempdir().unwrap();
        set_mode(dir.path(), 0o755);
        create_private_dir(dir.path()).unwrap();
        assert_eq!(mode(dir.path()), 0o700);
    }

    #[cfg(unix)]
    #[test]
    fn a_directory_of_another_user_is_refused() {
        let temp = tempfile::tempdir().unwrap();
        // As root, a directory given to `nobody`; as anyone else, root's `/`.
        let dir = if rustix::process::geteuid().is_root() {
            std::os::unix::fs::chown(temp.path(), Some(65534), Some(65534)).unwrap();
            temp.path()
        } else {
            Path::new("/")
        };
        let why = refused(dir);
        assert!(why.starts_with("owned by another user (uid "), "{why}");
        assert!(why.contains("Set state_dir to a directory of liaison's own"), "{why}");
    }

    #[cfg(unix)]
    #[test]
    fn a_directory_everyone_may_write_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        set_mode(dir.path(), 0o777);
        let why = refused(dir.path());
        assert!(why.starts_with("writable by every user (mode 777)"), "{why}");
    }

    #[cfg(unix)]
    #[test]
    fn system_directories_are_refused_and_left_alone() {
        // Whoever runs the test, each is refused (another user's, writable by
        // everyone, or a system directory). Asked of the check alone: a test
        // run as root must not chmod `/` should the rule ever break.
        let system = system_dirs();
        for dir in ["/", "/etc", "/tmp", "/var/lib", "/usr", "/var/tmp"] {
            let dir = Path::new(dir);
            if dir.exists() {
                assert!(not_ours(dir, &system).unwrap().is_some(), "{} taken", dir.display());
            }
        }
        // The system-directory rule itself, on a directory of ours.
        let home = tempfile::tempdir().unwrap();
        let listed = [std::fs::canonicalize(home.path()).unwrap()];
        let why = not_ours(home.path(), &listed).unwrap().unwrap();
        assert!(
            why.starts_with("a system directory; liaison would make it private"),
            "{why}"
        );
        assert!(
            why.contains(&format!("such as {}", home.path().join("liaison").display())),
            "{why}"
        );
        assert_eq!(not_ours(home.path(), &[]).unwrap(), None);
        // The list itself names the usual ones, resolved.
        let system = system_dirs();
        for dir in ["/", "/etc", "/var/lib", "/tmp"] {
            assert!(system.contains(&std::fs::canonicalize(dir).unwrap()), "{dir}");
        }
    }
}
