//! What `liaison check` says about the Microsoft credentials: the client
//! secret file (readable, private), whether a delegated grant is stored,
//! for which app and tenant, who signed in (and whether that is the
//! configured organizer), and whether others can read it. Never a secret.

use std::path::Path;

use super::token_file::{StoredGrant, token_path};
use super::{TokenError, group_or_other_access, microsoft_of, read_secret};
use crate::calendar::CalendarError;
use crate::config::{Config, MicrosoftAuth};

pub async fn describe_credentials(cfg: &Config) -> Result<Vec<String>, CalendarError> {
    let m = microsoft_of(cfg)?;
    let mut lines = Vec::new();
    match m.auth {
        MicrosoftAuth::ClientCredentials => {
            let path = m.client_secret_file.as_deref().unwrap_or(Path::new(""));
            read_secret(path)?;
            lines.push(format!(
                "client secret: {} (mode 0600), app {} in tenant {}",
                path.display(),
                m.client_id,
                m.tenant
            ));
        }
        MicrosoftAuth::DeviceCode => {
            let path = token_path(&cfg.state_dir);
            match StoredGrant::load(&path).map_err(CalendarError::from)? {
                None => lines.push(format!("token: none stored in {}; run `liaison auth`", path.display())),
                Some(grant) => {
                    lines.push(format!(
                        "token: stored in {} (authorized {}, permissions: {})",
                        path.display(),
                        grant.authorized_at.strftime("%Y-%m-%d %H:%M UTC"),
                        grant.scopes.join(" ")
                    ));
                    if !grant.client_id.eq_ignore_ascii_case(&m.client_id)
                        || !grant.tenant.eq_ignore_ascii_case(&m.tenant)
                    {
                        let e = TokenError::Unauthorized(format!(
                            "it was given to app {} in tenant {}, not to app {} in tenant {}",
                            grant.client_id, grant.tenant, m.client_id, m.tenant
                        ));
                        lines.push(format!("token problem: {e}; run `liaison auth`"));
                    }
                    match &grant.account {
                        Some(account) => {
                            lines.push(format!("signed in as: {}", account.address()));
                            if let Err(e) = super::account::check_organizer(cfg, account) {
                                lines.push(format!("token problem: {e}"));
                            }
                        }
                        None => lines.push(format!(
                            "token problem: {} does not say who signed in (written by an earlier version); run `liaison auth`",
                            path.display()
                        )),
                    }
                    if let Some(mode) = group_or_other_access(&path) {
                        lines.push(format!(
                            "token problem: {} is readable by others (mode {mode:o}); run `chmod 600` on it",
                            path.display()
                        ));
                    }
                }
            }
        }
    }
    Ok(lines)
}
