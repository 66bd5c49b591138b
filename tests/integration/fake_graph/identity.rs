//! The fake identity platform (v2.0 endpoints under `/{tenant}/oauth2/v2.0/`):
//! the device authorization grant (RFC 8628, with Microsoft's
//! `authorization_declined`), the refresh-token grant with rotation, and the
//! client-credentials grant; and the bearer tokens Graph checks.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::errors::OAuthError;

pub const TENANT_ID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
pub const TENANT_DOMAIN: &str = "contoso.onmicrosoft.com";
pub const CLIENT_ID: &str = "9a1c6f0e-5b7d-4c3e-8f21-0d4b6a7e9c35";
pub const CLIENT_SECRET: &str = "fake~graph~client~secret~Q8x";
pub const GRAPH: &str = "https://graph.microsoft.com/";

/// What a device code is waiting for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceState {
    Pending,
    Approved,
    Declined,
}

#[derive(Clone, Debug)]
struct DeviceCode {
    user_code: String,
    scopes: Vec<String>,
    state: DeviceState,
    expires: Instant,
    last_poll: Option<Instant>,
}

/// Who a bearer token acts for: a user (delegated, with scopes) or the app
/// (client credentials, with the app's roles).
#[derive(Clone, Debug)]
pub struct Grant {
    pub user: Option<String>,
    pub scopes: Vec<String>,
}

#[derive(Clone, Debug)]
struct AccessToken {
    grant: Grant,
    expires: Instant,
}

#[derive(Debug)]
pub struct Identity {
    pub user: String,
    salt: u64,
    counter: u64,
    devices: BTreeMap<String, DeviceCode>,
    refresh: BTreeMap<String, Grant>,
    access: BTreeMap<String, AccessToken>,
    /// Every secret handed out (for "no secret in the logs").
    issued: Vec<String>,
    pub lifetime: Duration,
    pub device_lifetime: Duration,
    pub interval: u64,
    /// Polls to answer `slow_down` before anything else.
    pub slow_down: usize,
    /// The application permissions (roles) the admin consented to.
    pub app_roles: Vec<String>,
    /// Polls seen per device code, and those that came sooner than the interval.
    pub polls: usize,
    pub early_polls: usize,
}

fn form<'a>(f: &'a [(String, String)], name: &str) -> Option<&'a str> {
    f.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

impl Identity {
    pub fn new(user: &str, salt: u64) -> Identity {
        Identity {
            user: user.to_string(),
            salt,
            counter: 0,
            devices: BTreeMap::new(),
            refresh: BTreeMap::new(),
            access: BTreeMap::new(),
            issued: Vec::new(),
            lifetime: Duration::from_secs(3599),
            device_lifetime: Duration::from_secs(900),
            interval: 1,
            slow_down: 0,
            app_roles: vec!["Calendars.ReadWrite".into()],
            polls: 0,
            early_polls: 0,
        }
    }

    fn mint(&mut self, kind: &str) -> String {
        self.counter += 1;
        let token = format!(
            "{kind}.{:016x}.{:04}",
            super::splitmix(self.salt ^ self.counter),
            self.counter
        );
        self.issued.push(token.clone());
        token
    }

    pub fn secrets(&self) -> Vec<String> {
        let mut all = self.issued.clone();
        all.push(CLIENT_SECRET.to_string());
        all
    }

    pub fn known_tenant(tenant: &str) -> bool {
        tenant.eq_ignore_ascii_case(TENANT_ID) || tenant.eq_ignore_ascii_case(TENANT_DOMAIN)
    }

    fn check_client(f: &[(String, String)]) -> Result<(), OAuthError> {
        match form(f, "client_id") {
            Some(CLIENT_ID) => Ok(()),
            Some(other) => Err(OAuthError::new(
                400,
                "unauthorized_client",
                700016,
                &format!("Application with identifier '{other}' was not found in the directory '{TENANT_DOMAIN}'."),
            )),
            None => Err(OAuthError::new(
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'client_id'.",
            )),
        }
    }

    /// Delegated scopes asked for: Graph's short names (with or without the
    /// resource) and the OIDC ones. Anything else is `invalid_scope`.
    fn scopes(text: &str) -> Result<Vec<String>, OAuthError> {
        let mut out = Vec::new();
        for s in text.split_whitespace() {
            let short = s.strip_prefix(GRAPH).unwrap_or(s);
            let known = [
                "offline_access",
                "openid",
                "profile",
                "User.Read",
                "Calendars.ReadBasic",
                "Calendars.Read",
                "Calendars.ReadWrite",
                "Calendars.Read.Shared",
                "Calendars.ReadWrite.Shared",
            ];
            if !known.iter().any(|k| k.eq_ignore_ascii_case(short)) {
                return Err(OAuthError::new(
                    400,
                    "invalid_scope",
                    70011,
                    &format!(
                        "The provided value for the input parameter 'scope' is not valid. The scope {s} is not valid."
                    ),
                ));
            }
            out.push(short.to_string());
        }
        Ok(out)
    }

    /// `POST /{tenant}/oauth2/v2.0/devicecode`.
    pub fn device_code(&mut self, f: &[(String, String)], base: &str) -> Result<Value, OAuthError> {
        Self::check_client(f)?;
        let scopes = Self::scopes(form(f, "scope").unwrap_or(""))?;
        let device = self.mint("devicecode");
        self.counter += 1;
        let user_code = format!(
            "F{:08X}",
            (super::splitmix(self.salt ^ self.counter) & 0xffff_ffff) as u32
        );
        self.devices.insert(
            device.clone(),
            DeviceCode {
                user_code: user_code.clone(),
                scopes,
                state: DeviceState::Pending,
                expires: Instant::now() + self.device_lifetime,
                last_poll: None,
            },
        );
        let uri = format!("{base}devicelogin");
        Ok(json!({
            "device_code": device,
            "user_code": user_code,
            "verification_uri": uri,
            "expires_in": self.device_lifetime.as_secs(),
            "interval": self.interval,
            "message": format!("To sign in, use a web browser to open the page {uri} and enter the code {user_code} to authenticate."),
        }))
    }

    /// What the person at the verification page does with a user code.
    pub fn answer_user_code(&mut self, user_code: &str, state: DeviceState) -> bool {
        match self.devices.values_mut().find(|d| d.user_code == user_code) {
            Some(d) => {
                d.state = state;
                true
            }
            None => false,
        }
    }

    pub fn expire_device_codes(&mut self) {
        for d in self.devices.values_mut() {
            d.expires = Instant::now();
        }
    }

    /// `POST /{tenant}/oauth2/v2.0/token`.
    pub fn token(&mut self, f: &[(String, String)]) -> Result<Value, OAuthError> {
        match form(f, "grant_type") {
            Some("urn:ietf:params:oauth:grant-type:device_code") => self.device_grant(f),
            Some("refresh_token") => self.refresh_grant(f),
            Some("client_credentials") => self.client_grant(f),
            other => Err(OAuthError::new(
                400,
                "unsupported_grant_type",
                70003,
                &format!("The app requested an unsupported grant type '{}'.", other.unwrap_or("")),
            )),
        }
    }

    fn issue(&mut self, grant: Grant, with_refresh: bool) -> Value {
        let access = self.mint("eyJ0eXAi.access");
        self.access.insert(
            access.clone(),
            AccessToken {
                grant: grant.clone(),
                expires: Instant::now() + self.lifetime,
            },
        );
        let mut answer = json!({
            "token_type": "Bearer",
            "scope": grant.scopes.iter().filter(|s| *s != "offline_access").cloned().collect::<Vec<_>>().join(" "),
            "expires_in": self.lifetime.as_secs(),
            "ext_expires_in": self.lifetime.as_secs(),
            "access_token": access,
        });
        if with_refresh {
            let refresh = self.mint("0.ARoA.refresh");
            self.refresh.insert(refresh.clone(), grant);
            answer["refresh_token"] = json!(refresh);
        }
        answer
    }

    fn device_grant(&mut self, f: &[(String, String)]) -> Result<Value, OAuthError> {
        Self::check_client(f)?;
        self.polls += 1;
        let code = form(f, "device_code").unwrap_or("");
        let interval = Duration::from_secs(self.interval);
        let Some(device) = self.devices.get_mut(code) else {
            return Err(OAuthError::new(
                400,
                "bad_verification_code",
                70019,
                "Verification code not recognized.",
            ));
        };
        let now = Instant::now();
        if device
            .last_poll
            .is_some_and(|last| now.duration_since(last) + Duration::from_millis(50) < interval)
        {
            self.early_polls += 1;
        }
        device.last_poll = Some(now);
        if now >= device.expires {
            return Err(OAuthError::new(
                400,
                "expired_token",
                70020,
                "The provided authorization code or refresh token has expired due to it being past its expiration date.",
            ));
        }
        if self.slow_down > 0 {
            self.slow_down -= 1;
            return Err(OAuthError::new(400, "slow_down", 70016, "Polling too fast; slow down."));
        }
        match device.state {
            DeviceState::Pending => Err(OAuthError::new(
                400,
                "authorization_pending",
                70016,
                "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
            )),
            DeviceState::Declined => Err(OAuthError::new(
                400,
                "authorization_declined",
                70000,
                "The user declined the authorization request.",
            )),
            DeviceState::Approved => {
                let scopes = device.scopes.clone();
                // A device code is redeemed once.
                self.devices.remove(code);
                let offline = scopes.iter().any(|s| s == "offline_access");
                let grant = Grant {
                    user: Some(self.user.clone()),
                    scopes,
                };
                Ok(self.issue(grant, offline))
            }
        }
    }

    /// Refresh tokens rotate: each use answers a new one and retires the
    /// one used (Microsoft asks clients to replace it; that it stops working
    /// at once is the fake's stricter choice, which proves the new one is kept).
    fn refresh_grant(&mut self, f: &[(String, String)]) -> Result<Value, OAuthError> {
        Self::check_client(f)?;
        let token = form(f, "refresh_token").unwrap_or("");
        let Some(grant) = self.refresh.remove(token) else {
            return Err(OAuthError::new(
                400,
                "invalid_grant",
                50173,
                "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.",
            ));
        };
        Ok(self.issue(grant, true))
    }

    fn client_grant(&mut self, f: &[(String, String)]) -> Result<Value, OAuthError> {
        Self::check_client(f)?;
        if form(f, "client_secret") != Some(CLIENT_SECRET) {
            return Err(OAuthError::new(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
            ));
        }
        if form(f, "scope") != Some("https://graph.microsoft.com/.default") {
            return Err(OAuthError::new(
                400,
                "invalid_scope",
                1002012,
                "The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).",
            ));
        }
        let grant = Grant {
            user: None,
            scopes: self.app_roles.clone(),
        };
        Ok(self.issue(grant, false))
    }

    /// The grant behind `Authorization: Bearer ...`, if it is valid now.
    pub fn authenticate(&self, header: Option<&str>) -> Option<Grant> {
        let token = header?.strip_prefix("Bearer ")?;
        let t = self.access.get(token)?;
        (Instant::now() < t.expires).then(|| t.grant.clone())
    }

    pub fn expire_access_tokens(&mut self) {
        for t in self.access.values_mut() {
            t.expires = Instant::now();
        }
    }

    pub fn revoke_refresh_tokens(&mut self) {
        self.refresh.clear();
    }
}
