//! `[calendar]`: the provider and its settings (`[calendar.google]`,
//! `[calendar.microsoft]` in `microsoft`, `[calendar.local]`, `[calendar.caldav]` in `caldav`), what each provider requires, and the name of this
//! installation (`instance`, derived by [`derived_instance`] when not set).

use std::path::Path;

use serde_spanned::Spanned;

use super::caldav::validate_caldav;
use super::fields::{Ctx, enum_field, int_field, or_default, path_field, span_of};
use super::microsoft::validate_microsoft;
use crate::config::defaults;
use crate::config::locate::Env;
use crate::config::parsers::{check_email, check_instance, check_url};
use crate::config::raw::{RawCalendar, RawPerson};
use crate::config::types::{Calendar, Google, GoogleAuth, Local, ProviderKind};

pub(super) fn validate_calendar(
    ctx: &mut Ctx,
    raw: &RawCalendar,
    people: &[Spanned<RawPerson>],
    base: &Path,
    env: &Env,
) -> Option<Calendar> {
    let provider = enum_field(
        ctx,
        "calendar.provider",
        &raw.provider,
        defaults::PROVIDER,
        &[
            ("google", ProviderKind::Google),
            ("microsoft", ProviderKind::Microsoft),
            ("local", ProviderKind::Local),
            ("caldav", ProviderKind::Caldav),
        ],
    );
    let g = &raw.google;
    let auth = enum_field(
        ctx,
        "calendar.google.auth",
        &g.auth,
        defaults::AUTH,
        &[
            ("installed", GoogleAuth::Installed),
            ("service_account", GoogleAuth::ServiceAccount),
        ],
    );
    let client_secret = path_field(ctx, "calendar.google.client_secret", &g.client_secret, base, env);
    let service_account_key = path_field(
        ctx,
        "calendar.google.service_account_key",
        &g.service_account_key,
        base,
        env,
    );
    let impersonate = match &g.impersonate {
        None => None,
        Some(v) => match check_email(v.get_ref()) {
            Ok(email) => Some(email),
            Err(message) => {
                ctx.error(Some(v.span()), "calendar.google.impersonate", message);
                None
            }
        },
    };
    let (organizer, organizer_span) = or_default(&g.organizer, defaults::ORGANIZER);
    let organizer = organizer.trim().to_string();
    if organizer.is_empty() {
        ctx.error(
            organizer_span,
            "calendar.google.organizer",
            "is empty (write \"primary\" or a calendar id)",
        );
    }
    let api_base_url = match &g.api_base_url {
        None => None,
        Some(v) => match check_url(v.get_ref()) {
            Ok(url) => Some(url),
            Err(message) => {
                ctx.error(Some(v.span()), "calendar.google.api_base_url", message);
                None
            }
        },
    };
    let requests_per_second = int_field(
        ctx,
        "calendar.google.requests_per_second",
        &g.requests_per_second,
        defaults::REQUESTS_PER_SECOND,
        1..=1000,
        "(Google allows 600 requests a minute per user, i.e. 10 a second)",
    );

    let local_dir = match &raw.local {
        Some(local) => path_field(ctx, "calendar.local.dir", &local.dir, base, env),
        None => None,
    };
    let local_dir_given = raw.local.as_ref().is_some_and(|l| l.dir.is_some());

    match provider {
        Some(ProviderKind::Local) if !local_dir_given => ctx.error(
            span_of(&raw.provider),
            "calendar.local.dir",
            "missing: provider \"local\" needs a directory (write [calendar.local] dir = \"calendars\")",
        ),
        Some(ProviderKind::Google) => match auth {
            Some(GoogleAuth::Installed) if g.client_secret.is_none() => ctx.error(
                span_of(&g.auth).or(span_of(&raw.provider)),
                "calendar.google.client_secret",
                "missing: auth \"installed\" needs the OAuth client JSON downloaded from Google Cloud (write client_secret = \"client_secret.json\")",
            ),
            Some(GoogleAuth::ServiceAccount) => {
                if g.service_account_key.is_none() {
                    ctx.error(
                        span_of(&g.auth),
                        "calendar.google.service_account_key",
                        "missing: auth \"service_account\" needs the key file (write service_account_key = \"key.json\")",
                    );
                }
                if g.impersonate.is_none() {
                    ctx.error(
                        span_of(&g.auth),
                        "calendar.google.impersonate",
                        "missing: auth \"service_account\" needs the user whose calendar organizes the events (write impersonate = \"organizer@example.com\")",
                    );
                }
            }
            _ => {}
        },
        _ => {}
    }

    let microsoft = validate_microsoft(
        ctx,
        raw.microsoft.as_ref(),
        span_of(&raw.provider),
        provider == Some(ProviderKind::Microsoft),
        base,
        env,
    );
    let caldav = validate_caldav(
        ctx,
        raw.caldav.as_ref(),
        people,
        span_of(&raw.provider),
        provider == Some(ProviderKind::Caldav),
        base,
        env,
    );

    let google = Google {
        auth: auth?,
        client_secret,
        service_account_key,
        impersonate,
        organizer,
        api_base_url,
        requests_per_second: requests_per_second?,
    };
    let instance = match &raw.instance {
        Some(v) => {
            let name = v.get_ref().trim();
            if let Err(message) = check_instance(name) {
                ctx.error(Some(v.span()), "calendar.instance", message);
            }
            Some((name.to_string(), true))
        }
        None => None,
    };
    let mut calendar = Calendar {
        provider: provider?,
        instance: String::new(),
        instance_explicit: false,
        google,
        microsoft: microsoft?,
        local: local_dir.map(|dir| Local { dir }),
        caldav: caldav?,
    };
    (calendar.instance, calendar.instance_explicit) = match instance {
        Some(set) => set,
        None => (derived_instance(calendar.organizer(), ctx.path), false),
    };
    Some(calendar)
}

/// The default `calendar.instance`: a short hash of the organizer calendar and
/// the configuration file's absolute path, so that the same file at the same
/// place names the same installation (a lost state recovers its events) and a
/// trial configuration elsewhere does not.
pub fn derived_instance(organizer: &str, config_path: &Path) -> String {
    use sha2::{Digest, Sha256};
    // The real path (links and `..` resolved), so that every way of naming
    // the same file gives the same installation.
    let absolute = std::fs::canonicalize(config_path)
        .or_else(|_| std::path::absolute(config_path))
        .unwrap_or_else(|_| config_path.to_path_buf());
    let mut hasher = Sha256::new();
    hasher.update(organizer.as_bytes());
    hasher.update([0u8]);
    hasher.update(absolute.as_os_str().as_encoded_bytes());
    let mut name = data_encoding::BASE32HEX_NOPAD.encode(&hasher.finalize());
    name.truncate(12);
    name.make_ascii_lowercase();
    format!("i-{name}")
}
