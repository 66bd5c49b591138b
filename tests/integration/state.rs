//! The state at the daemon's start: a database of another liaison version
//! and a state directory that is not liaison's own stop it with exit 4,
//! which the systemd units do not restart after, and change nothing.

use std::path::Path;

use crate::util::liaison;

/// A local organization of four people in `dir` whose `state_dir` is `state`.
fn organization(dir: &Path, state: &str) -> std::path::PathBuf {
    let org = liaison::demo::generate(&liaison::demo::Shape::demo(4), 1, jiff::civil::date(2027, 3, 8));
    for (name, text) in &org.calendars {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let config = dir.join("config.toml");
    let text = org
        .config_toml
        .replace("state_dir = \"state\"", &format!("state_dir = {state:?}"));
    assert!(text.contains(&format!("state_dir = {state:?}")));
    std::fs::write(&config, text).unwrap();
    config
}

/// Copies the files (not the directories) of `from` into `to`.
fn copy_files(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn a_database_of_another_liaison_version_stops_the_daemon_with_exit_4() {
    let tmp = tempfile::tempdir().unwrap();
    let config = organization(tmp.path(), "state");
    let config = config.to_str().unwrap();
    let first = liaison(tmp.path(), &["--config", config, "run", "--once"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    // A later version's database: its schema number is higher.
    let db_path = tmp.path().join("state").join("db");
    // The test never opens the database itself, only copies of it: sled lets
    // go of its lock some time after the handle is dropped, so a second open
    // (here or by liaison) could fail at random.
    let read = || {
        let copy = tempfile::tempdir().unwrap();
        copy_files(&db_path, copy.path());
        let db = sled::open(copy.path()).unwrap();
        let schema = db.open_tree("meta").unwrap().get("schema_version").unwrap().unwrap();
        (schema.to_vec(), db.open_tree("series").unwrap().len())
    };
    {
        let copy = tempfile::tempdir().unwrap();
        copy_files(&db_path, copy.path());
        {
            let db = sled::open(copy.path()).unwrap();
            let meta = db.open_tree("meta").unwrap();
            meta.insert("schema_version", &99u32.to_be_bytes()[..]).unwrap();
            db.flush().unwrap();
        }
        copy_files(copy.path(), &db_path);
    }
    let before = read();
    assert_eq!(before.1, 2, "two series booked");
    let run = liaison(tmp.path(), &["--config", config, "run"]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("written by another version of liaison (schema 99, this one reads 1)"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(&db_path.display().to_string()), "{}", run.stderr);
    // Kept as it is: neither moved aside nor started afresh.
    assert_eq!(read(), before);
    let entries: Vec<String> = std::fs::read_dir(tmp.path().join("state"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!entries.iter().any(|e| e.starts_with("db.damaged")), "{entries:?}");
}

/// `liaison run` with `state_dir` at `dir`: exit 4 naming the directory and
/// why, and the directory's mode and contents unchanged. Returns the log.
#[cfg(unix)]
fn refused_at_start(dir: &Path) -> String {
    let tmp = tempfile::tempdir().unwrap();
    let config = organization(tmp.path(), dir.to_str().unwrap());
    let (mode_before, entries_before) = (mode(dir), std::fs::read_dir(dir).unwrap().count());
    let run = liaison(tmp.path(), &["--config", config.to_str().unwrap(), "run"]);
    assert_eq!(run.code, 4, "{}: {}", dir.display(), run.stderr);
    assert!(
        run.stderr.contains(&format!("state directory {}: ", dir.display())),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("Set state_dir to a directory of liaison's own"),
        "{}",
        run.stderr
    );
    assert_eq!(mode(dir), mode_before, "{} was changed", dir.display());
    assert_eq!(
        std::fs::read_dir(dir).unwrap().count(),
        entries_before,
        "something was created in {}",
        dir.display()
    );
    run.stderr
}

#[cfg(unix)]
#[test]
fn a_state_directory_everyone_may_write_is_refused_at_start() {
    use std::os::unix::fs::PermissionsExt as _;
    let shared = tempfile::tempdir().unwrap();
    std::fs::set_permissions(shared.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let log = refused_at_start(shared.path());
    assert!(log.contains("writable by every user (mode 777)"), "{log}");
}

#[cfg(unix)]
#[test]
fn a_state_directory_of_another_user_is_refused_at_start() {
    let theirs = tempfile::tempdir().unwrap();
    // As root, a directory given to `nobody`; as anyone else, one of root's.
    let dir = if rustix::process::geteuid().is_root() {
        std::os::unix::fs::chown(theirs.path(), Some(65534), Some(65534)).unwrap();
        theirs.path().to_path_buf()
    } else {
        std::path::PathBuf::from("/usr")
    };
    let log = refused_at_start(&dir);
    assert!(log.contains("owned by another user (uid "), "{log}");
}

#[cfg(unix)]
#[test]
fn a_system_directory_as_state_directory_is_refused_at_start() {
    for dir in ["/var/lib", "/etc", "/"] {
        let log = refused_at_start(Path::new(dir));
        // Root owns them: then it is the system-directory rule that refuses.
        if rustix::process::geteuid().is_root() {
            assert!(
                log.contains("a system directory; liaison would make it private"),
                "{log}"
            );
        }
    }
}
