//! `[calendar.microsoft]`: the Entra ID app registration (tenant, client id),
//! how liaison signs in (`device_code` or `client_credentials`, with the
//! secret's file), the organizer mailbox, endpoint overrides and pacing.
//! Required keys are required only when `provider = "microsoft"`, so the
//! table may stay in a file that uses another provider.

use std::path::Path;

use super::fields::{Ctx, enum_field, int_field, or_default, path_field, span_of};
use crate::config::defaults;
use crate::config::locate::Env;
use crate::config::parsers::{check_email, check_url};
use crate::config::raw::RawMicrosoft;
use crate::config::types::{Microsoft, MicrosoftAuth};

/// The validated table; `Some(None)` when the provider is another one (the
/// table is still checked when present), `None` after an error.
pub(super) fn validate_microsoft(
    ctx: &mut Ctx,
    raw: Option<&RawMicrosoft>,
    provider_span: Option<std::ops::Range<usize>>,
    in_use: bool,
    base: &Path,
    env: &Env,
) -> Option<Option<Microsoft>> {
    let empty = RawMicrosoft::default();
    if raw.is_none() && !in_use {
        return Some(None);
    }
    let m = raw.unwrap_or(&empty);
    let mut ok = true;
    let tenant = guid_or_domain(ctx, "calendar.microsoft.tenant", &m.tenant, true, &mut ok);
    let client_id = guid_or_domain(ctx, "calendar.microsoft.client_id", &m.client_id, false, &mut ok);
    if in_use && m.tenant.is_none() {
        ok = false;
        ctx.error(
            provider_span.clone(),
            "calendar.microsoft.tenant",
            "missing: provider \"microsoft\" needs the directory (tenant) id or its domain \
             (write [calendar.microsoft] tenant = \"contoso.onmicrosoft.com\")",
        );
    }
    if in_use && m.client_id.is_none() {
        ok = false;
        ctx.error(
            provider_span,
            "calendar.microsoft.client_id",
            "missing: provider \"microsoft\" needs the app registration's application (client) id \
             (write client_id = \"00000000-0000-0000-0000-000000000000\", from Entra ID > App registrations)",
        );
    }
    let auth = enum_field(
        ctx,
        "calendar.microsoft.auth",
        &m.auth,
        defaults::MICROSOFT_AUTH,
        &[
            ("device_code", MicrosoftAuth::DeviceCode),
            ("client_credentials", MicrosoftAuth::ClientCredentials),
        ],
    );
    let client_secret_file = path_field(
        ctx,
        "calendar.microsoft.client_secret_file",
        &m.client_secret_file,
        base,
        env,
    );
    let (organizer_text, organizer_span) = or_default(&m.organizer, defaults::MICROSOFT_ORGANIZER);
    let organizer = if organizer_text.trim().eq_ignore_ascii_case("me") {
        Some("me".to_string())
    } else {
        match check_email(organizer_text) {
            Ok(email) => Some(email),
            Err(message) => {
                ctx.error(
                    organizer_span.clone(),
                    "calendar.microsoft.organizer",
                    format!("{message}, or \"me\" for the signed-in user"),
                );
                None
            }
        }
    };
    if auth == Some(MicrosoftAuth::ClientCredentials) {
        if in_use && m.client_secret_file.is_none() {
            ok = false;
            ctx.error(
                span_of(&m.auth),
                "calendar.microsoft.client_secret_file",
                "missing: auth \"client_credentials\" needs the file that holds the client secret \
                 (write client_secret_file = \"client-secret.txt\", mode 0600)",
            );
        }
        if in_use && organizer.as_deref() == Some("me") {
            ok = false;
            ctx.error(
                organizer_span.or(span_of(&m.auth)),
                "calendar.microsoft.organizer",
                "auth \"client_credentials\" has no signed-in user, so \"me\" names nobody: write the mailbox \
                 whose calendar organizes the events (organizer = \"liaison@contoso.com\")",
            );
        }
    }
    let url = |ctx: &mut Ctx, key: &str, value: &Option<serde_spanned::Spanned<String>>| match value {
        None => Ok(None),
        Some(v) => match check_url(v.get_ref()) {
            Ok(url) => Ok(Some(url)),
            Err(message) => {
                ctx.error(Some(v.span()), key, message);
                Err(())
            }
        },
    };
    let api_base_url = url(ctx, "calendar.microsoft.api_base_url", &m.api_base_url);
    let login_base_url = url(ctx, "calendar.microsoft.login_base_url", &m.login_base_url);
    let requests_per_second = int_field(
        ctx,
        "calendar.microsoft.requests_per_second",
        &m.requests_per_second,
        defaults::MICROSOFT_REQUESTS_PER_SECOND,
        1..=16,
        "(Graph allows 10,000 requests in 10 minutes per app and mailbox, about 16 a second)",
    );
    if !in_use {
        // Checked, but another provider is in use: nothing to keep.
        return Some(None);
    }
    let (Ok(api_base_url), Ok(login_base_url)) = (api_base_url, login_base_url) else {
        return None;
    };
    if !ok {
        return None;
    }
    Some(Some(Microsoft {
        tenant: tenant?,
        client_id: client_id?,
        auth: auth?,
        client_secret_file,
        organizer: organizer?,
        api_base_url,
        login_base_url,
        requests_per_second: requests_per_second?,
    }))
}

/// A GUID (`72f988bf-86f1-41af-91ab-2d7cd011db47`), or, for a tenant, a
/// domain name (`contoso.onmicrosoft.com`). Both end up in URLs, so nothing
/// else passes.
fn guid_or_domain(
    ctx: &mut Ctx,
    key: &str,
    value: &Option<serde_spanned::Spanned<String>>,
    domain_allowed: bool,
    ok: &mut bool,
) -> Option<String> {
    let v = value.as_ref()?;
    let text = v.get_ref().trim();
    if is_guid(text) || (domain_allowed && is_domain(text)) {
        return Some(text.to_ascii_lowercase());
    }
    *ok = false;
    let expected = if domain_allowed {
        "a tenant id (a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47) or the tenant's domain \
         (contoso.onmicrosoft.com), from Entra ID > Overview"
    } else {
        "the application (client) id, a GUID such as 9a1c6f0e-5b7d-4c3e-8f21-0d4b6a7e9c35, \
         from Entra ID > App registrations"
    };
    ctx.error(Some(v.span()), key, format!("{text:?} is not {expected}"));
    None
}

pub(crate) fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

fn is_domain(text: &str) -> bool {
    let labels: Vec<&str> = text.split('.').collect();
    labels.len() >= 2
        && text.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}
