//! Where liaison's files are: the configuration file ([`find_config_path`]:
//! `--config`, `$LIAISON_CONFIG`, the XDG and system places) and the default
//! state directory, both from the environment ([`Env`]). The environment is
//! read in this module only, and only by [`Env::from_process`] and
//! [`find_config_path`]; everything else takes its values as arguments.

use std::path::{Path, PathBuf};

use super::error::ConfigErrors;

/// The environment variables that choose the default `state_dir`. A struct
/// rather than direct `std::env` reads so that tests can state them.
#[derive(Clone, Debug, Default)]
pub struct Env {
    /// `$STATE_DIRECTORY`, set by systemd's `StateDirectory=`; may hold several
    /// paths separated by colons, of which the first is used.
    pub state_directory: Option<PathBuf>,
    /// `$XDG_STATE_HOME`.
    pub xdg_state_home: Option<PathBuf>,
    /// `$HOME`; also used to expand a leading `~/` in paths.
    pub home: Option<PathBuf>,
}

impl Env {
    /// Reads the variables of the running process. Empty values count as
    /// unset, as the XDG base directory specification asks.
    pub fn from_process() -> Env {
        Env {
            state_directory: env_path("STATE_DIRECTORY"),
            xdg_state_home: env_path("XDG_STATE_HOME"),
            home: env_path("HOME"),
        }
    }
}

/// Finds the configuration file: `explicit` (from `--config`), then
/// `$LIAISON_CONFIG`, then `$XDG_CONFIG_HOME/liaison/config.toml` (or
/// `$HOME/.config/liaison/config.toml`), then `/etc/liaison/config.toml`.
/// An explicit path is returned as is, so that `load` reports it if missing.
pub fn find_config_path(explicit: Option<&Path>) -> Result<PathBuf, ConfigErrors> {
    find_config_path_in(
        explicit,
        env_path("LIAISON_CONFIG"),
        env_path("XDG_CONFIG_HOME"),
        env_path("HOME"),
        |p| p.is_file(),
    )
}

pub(super) fn default_state_dir(env: &Env) -> Option<PathBuf> {
    if let Some(dirs) = &env.state_directory {
        // systemd joins several StateDirectory= entries with colons.
        let text = dirs.to_string_lossy();
        if let Some(first) = text.split(':').find(|s| !s.is_empty()) {
            return Some(PathBuf::from(first));
        }
    }
    // The XDG specification says to ignore relative values.
    if let Some(xdg) = env.xdg_state_home.as_ref().filter(|p| p.is_absolute()) {
        return Some(xdg.join("liaison"));
    }
    env.home.as_ref().map(|home| home.join(".local/state/liaison"))
}

fn find_config_path_in(
    explicit: Option<&Path>,
    liaison_config: Option<PathBuf>,
    xdg_config_home: Option<PathBuf>,
    home: Option<PathBuf>,
    exists: impl Fn(&Path) -> bool,
) -> Result<PathBuf, ConfigErrors> {
    if let Some(path) = explicit {
        return Ok(path.to_path_buf());
    }
    if let Some(path) = liaison_config {
        return Ok(path);
    }
    let user = match (xdg_config_home.filter(|p| p.is_absolute()), home) {
        (Some(xdg), _) => Some(xdg.join("liaison/config.toml")),
        (None, Some(home)) => Some(home.join(".config/liaison/config.toml")),
        (None, None) => None,
    };
    let system = PathBuf::from("/etc/liaison/config.toml");
    let tried: Vec<PathBuf> = user.into_iter().chain([system.clone()]).collect();
    if let Some(found) = tried.iter().find(|p| exists(p)) {
        return Ok(found.clone());
    }
    let list: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
    // The first place tried is the one to suggest: the user's own when there
    // is a home directory, otherwise the system-wide one.
    let suggested = tried.first().cloned().unwrap_or(system);
    Err(ConfigErrors::single(
        &suggested,
        format!(
            "no configuration file found (looked for --config, $LIAISON_CONFIG, {}); copy config.example.toml to {} and list your leaders, or run `liaison demo` to try it without an account",
            list.join(", "),
            suggested.display()
        ),
    ))
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;
    use crate::config::test_support::{PATH, doc};

    #[test]
    fn the_config_file_is_looked_up_in_the_documented_order() {
        let exists = |found: &'static [&'static str]| move |p: &Path| found.iter().any(|f| Path::new(f) == p);
        let home = || Some(PathBuf::from("/home/u"));
        let xdg = || Some(PathBuf::from("/cfg"));
        let find = |explicit: Option<&Path>, env: Option<PathBuf>, found: &'static [&'static str]| {
            find_config_path_in(explicit, env, xdg(), home(), exists(found))
        };
        let all: &[&str] = &["/cfg/liaison/config.toml", "/etc/liaison/config.toml"];
        assert_eq!(
            find(Some(Path::new("my.toml")), Some("/env.toml".into()), all),
            Ok(PathBuf::from("my.toml"))
        );
        assert_eq!(
            find(None, Some("/env.toml".into()), all),
            Ok(PathBuf::from("/env.toml"))
        );
        assert_eq!(find(None, None, all), Ok(PathBuf::from("/cfg/liaison/config.toml")));
        assert_eq!(
            find(None, None, &["/etc/liaison/config.toml"]),
            Ok(PathBuf::from("/etc/liaison/config.toml"))
        );
        let via_home = find_config_path_in(
            None,
            None,
            None,
            home(),
            exists(&["/home/u/.config/liaison/config.toml"]),
        );
        assert_eq!(via_home, Ok(PathBuf::from("/home/u/.config/liaison/config.toml")));
        let none = find(None, None, &[]).unwrap_err().to_string();
        assert!(
            none.contains("/cfg/liaison/config.toml") && none.contains("/etc/liaison/config.toml"),
            "{none}"
        );
        assert!(
            none.contains("config.example.toml") && none.contains("liaison demo"),
            "{none}"
        );
    }

    #[test]
    fn state_dir_defaults_follow_systemd_then_xdg_then_home() {
        let state = |env: Env| parse(&doc(""), Path::new(PATH), &env).map(|c| c.state_dir);
        let systemd = Env {
            state_directory: Some("/var/lib/liaison:/var/lib/other".into()),
            xdg_state_home: Some("/x".into()),
            home: Some("/home/u".into()),
        };
        assert_eq!(state(systemd), Ok(PathBuf::from("/var/lib/liaison")));
        let xdg = Env {
            state_directory: None,
            xdg_state_home: Some("/x".into()),
            home: Some("/home/u".into()),
        };
        assert_eq!(state(xdg), Ok(PathBuf::from("/x/liaison")));
        let relative_xdg = Env {
            state_directory: None,
            xdg_state_home: Some("x".into()),
            home: Some("/home/u".into()),
        };
        assert_eq!(state(relative_xdg), Ok(PathBuf::from("/home/u/.local/state/liaison")));
        // An explicit state_dir wins over the environment.
        let explicit = parse(&doc(r#"state_dir = "/data""#), Path::new(PATH), &Env::default()).map(|c| c.state_dir);
        assert_eq!(explicit, Ok(PathBuf::from("/data")));
    }

    #[test]
    fn state_dir_without_any_environment_is_an_error() {
        let bare = Env::default();
        let err = parse(&doc(""), Path::new(PATH), &bare).map(|_| ()).unwrap_err();
        assert_eq!(err.0.len(), 1, "{err}");
        assert!(err.0[0].message.contains("$STATE_DIRECTORY"), "{err}");
    }
}
