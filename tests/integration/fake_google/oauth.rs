//! Google's OAuth 2.0 endpoints as the installed-app and service-account flows
//! use them: `/o/oauth2/auth` (consent, answered at once with a redirect) and
//! `/token` (authorization code, refresh token and JWT bearer grants), and the
//! access tokens they issue.
//!
//! PKCE (RFC 7636), as Google implements it for installed apps: a
//! `code_challenge` at `/o/oauth2/auth` (`code_challenge_method` `S256` or
//! `plain`, the default) binds the code to its verifier, and the code grant
//! then needs `code_verifier` whose challenge is that one; else 400
//! `invalid_grant` ("Missing code verifier." / "Invalid code verifier.", the
//! answers clients report). Divergences: a failed verifier does not use up
//! the code (Google does not say); a verifier sent for a code asked without a
//! challenge is ignored.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::calendar::{Params, param};
use super::errors::{ApiError, OAuthError};

/// The OAuth client of [`super::FakeGoogle::client_secret_json`].
pub const CLIENT_ID: &str = "123456789012-fakeliaison0client0id.apps.googleusercontent.com";
pub const CLIENT_SECRET: &str = "GOCSPX-fake-liaison-client-secret";
/// The service account of [`super::FakeGoogle::service_account_key_json`].
pub const SERVICE_ACCOUNT_EMAIL: &str = "liaison@liaison-fake.iam.gserviceaccount.com";
pub const SERVICE_ACCOUNT_KEY_ID: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6";
/// A 2048-bit RSA key made once for these tests with
/// `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`. It signs
/// nothing but requests to this fake.
pub const SERVICE_ACCOUNT_PRIVATE_KEY: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCxlsrOJ5AMJFsP\n\
FGuWz/OSLeEjeFc8BsFc6S/sH52ZU85DZXThnRzWsADpI7usSB4O0GT8Ur2ODzOi\n\
iKi+w4wr28sSkaweu3U24mq7rGffxXSwjdJgPbf5+svebl5Iqqb/mczn18mSHzAq\n\
mTSi0pcC+6Q1Cnb5qqwCz9bJcGqYfYf1uGJN1S/xvsO+2MYeGFhRa74qhwP4SDfc\n\
WGwFHLjwwa5Cmrr2BUJN0ss/uEeucP8Ccnvkj4hJTxynltlDbh4oooCpkSHLMawC\n\
Pl0xgocmDQQ7luA8H3Xg+ZaoE3CbSBi1z3YqRK/kAkyQylSNz7Y2o3pNfWhMNWno\n\
eaYVaK2TAgMBAAECggEANh8znZJ3Fww5aCYcB/FGVQWAeLPjOhsA8RTsEvUrrZ/Z\n\
27Ze4adlM5SeIm9OcdnktzURociBlnrRjLZDXyfvXyp0ACu/HfqZZWmph5qqaYse\n\
3fPK6qPEnv2tBhPyzgicLoer5/heqRayMjlQzlKJzVHtoHCZA8vc8lpvJiMJiYEu\n\
WewxDq/ah6wwMEF1Gnu7BUeNXcJvSiXGjsqCO8HrcnRvQtKn06LRUEG2FpVQzxcy\n\
k7wNHY8pAClW7rAqZSY7UHKQPbQvY8tqvfc+Q7JzmETbvlnTvHGUjN+UN49eqE90\n\
byuZdY6IHNVpEvkLf36wpq/ncOhLILxjEvDIi1TQ4QKBgQDbqsC5xtc+8uoSU6Wn\n\
FzJ8dmvj/WBSr+qa5himNaxS1tB/vMc59g7lpT0gFtzjV84lRU5vJQiOaD2XN5rG\n\
z9XwWtYC2ASKiZUHNLDS0ACC+RwAELgWtUL8bUDQEPxfODNCUoJLhwIPYTloDWT6\n\
PCWn7hYgpdaPW5KhmYzzCoT1sQKBgQDO9lp636Z/vCipNcGOJ1p6HE8edoUaqLmv\n\
AFxx1zriS9QdoFIUSuWY+c69V/SV8vFsxFlSB9oM+QuV644V8lYzyy+FnvDl2i3B\n\
H9CFVOY33w7HJD/M3l+sI38impTrEUEZT9TeO1ZyYHDDFLD7T2s5N28WQEiZ8Uu3\n\
igBa26c0gwKBgQDBTGLHl8f1ZsC/W8gbXvhYOcT7HQ3T9WVW5T+vku+O/eT/YtlV\n\
kcbOIjfFsxixHaUTewdoGoiK+AOqu42BgYZbOTO10O0+E4+GhcFL4SlyF0+iZxP3\n\
N444ntM3xJqwF75TkFODrswLSJzBiXfgE2l3erUSCZzjDcvcVEiJ3ineIQKBgCJW\n\
6ehdV4j2NWDuFHF7wh1kuRP64lbsC/Mngi85YQHPRyCrSzMmwjXBrTXpdCG1L622\n\
XoOn3dwtLmjvrqGhlf/+BKKNHrdknhbfKoAU+CXpEtCkCRn7A7DSKvQY5gCi2kRS\n\
5KUC/3L24X7c3gi0wru5oOr2O5WfXcrUUP7CV1n1AoGBAKdjtBqOxAVuAStR+rFE\n\
fBJB3aCjGDgiwyo2wkPBn3rfvH8pnMFvIMc1LXBhUGg1PJD/HY6ben7OJ6c6O6vJ\n\
UKx8aOX92rNOko5uhJ8V8BvnqrjbXlt4o4dl4XsngsVTj44iFXwUlvOO1nzA7w2n\n\
NPbv6Y0ABDf7IdsXWxbD21FV\n\
-----END PRIVATE KEY-----\n";

/// Every scope Google's Calendar discovery document names, plus the sign-in
/// scopes; anything else at `/o/oauth2/auth` is `invalid_scope`.
const KNOWN_SCOPES: &[&str] = &[
    "https://www.googleapis.com/auth/calendar",
    "https://www.googleapis.com/auth/calendar.acls",
    "https://www.googleapis.com/auth/calendar.acls.readonly",
    "https://www.googleapis.com/auth/calendar.app.created",
    "https://www.googleapis.com/auth/calendar.calendarlist",
    "https://www.googleapis.com/auth/calendar.calendarlist.readonly",
    "https://www.googleapis.com/auth/calendar.calendars",
    "https://www.googleapis.com/auth/calendar.calendars.readonly",
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/calendar.events.freebusy",
    "https://www.googleapis.com/auth/calendar.events.owned",
    "https://www.googleapis.com/auth/calendar.events.owned.readonly",
    "https://www.googleapis.com/auth/calendar.events.public.readonly",
    "https://www.googleapis.com/auth/calendar.events.readonly",
    "https://www.googleapis.com/auth/calendar.freebusy",
    "https://www.googleapis.com/auth/calendar.readonly",
    "https://www.googleapis.com/auth/calendar.settings",
    "https://www.googleapis.com/auth/calendar.settings.readonly",
    "openid",
    "email",
    "profile",
    "https://www.googleapis.com/auth/userinfo.email",
    "https://www.googleapis.com/auth/userinfo.profile",
];

const GRANT_JWT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Google's lifetime for access tokens.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3599);

/// Domain-wide delegation of the service account: which scopes a Workspace
/// admin allowed its client id (Admin console, Security > API controls >
/// Domain-wide delegation).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Delegation {
    /// Every scope.
    #[default]
    Any,
    /// These scopes only (full URLs).
    Scopes(Vec<String>),
    /// None: the client id is not listed.
    NotGranted,
}

/// Who a token speaks for and what it may do.
#[derive(Clone, Debug)]
pub struct Grant {
    pub user: String,
    pub scopes: Vec<String>,
    pub client_id: String,
}

#[derive(Clone, Debug)]
pub struct AccessToken {
    pub grant: Grant,
    pub expires: Instant,
}

#[derive(Clone, Debug)]
struct RefreshToken {
    grant: Grant,
    revoked: bool,
}

#[derive(Clone, Debug)]
struct AuthCode {
    grant: Grant,
    redirect_uri: String,
    used: bool,
    /// PKCE: (`code_challenge_method`, `code_challenge`) of the consent.
    challenge: Option<(String, String)>,
}

#[derive(Debug)]
pub struct Auth {
    /// The account that consents at `/o/oauth2/auth`.
    pub user: String,
    pub lifetime: Duration,
    pub token_uri: String,
    access: HashMap<String, AccessToken>,
    refresh: HashMap<String, RefreshToken>,
    codes: HashMap<String, AuthCode>,
    /// Domain-wide delegation granted to the service account.
    pub delegation: Delegation,
    /// The user refuses consent: `/o/oauth2/auth` redirects with
    /// `error=access_denied`.
    pub deny_consent: bool,
    counter: u64,
    salt: u64,
    public_key: Vec<u8>,
}

/// Standard base64 of a PEM body to DER.
fn pem_to_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    data_encoding::BASE64
        .decode(body.trim().as_bytes())
        .expect("the embedded key is valid PEM")
}

/// base64url, with or without padding (yup-oauth2 pads, RFC 7515 does not).
fn b64url(s: &str) -> Option<Vec<u8>> {
    data_encoding::BASE64URL_NOPAD
        .decode(s.trim_end_matches('=').as_bytes())
        .ok()
}

fn split_scopes(s: &str) -> Vec<String> {
    s.split([' ', '+'])
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

/// Percent-encodes a query component (everything but RFC 3986 unreserved
/// characters). Written here because it is eight lines and no direct
/// dependency offers it.
pub fn encode_component(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Auth {
    pub fn new(user: &str, token_uri: String, salt: u64) -> Auth {
        let der = pem_to_der(SERVICE_ACCOUNT_PRIVATE_KEY);
        let pair = ring::signature::RsaKeyPair::from_pkcs8(&der).expect("the embedded key is an RSA PKCS#8 key");
        Auth {
            user: user.to_string(),
            lifetime: DEFAULT_TOKEN_LIFETIME,
            token_uri,
            access: HashMap::new(),
            refresh: HashMap::new(),
            codes: HashMap::new(),
            delegation: Delegation::default(),
            deny_consent: false,
            counter: 0,
            salt,
            public_key: pair.public().as_ref().to_vec(),
        }
    }

    fn fresh(&mut self, prefix: &str) -> String {
        self.counter += 1;
        let mut h = self.salt ^ self.counter.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut tail = String::new();
        for _ in 0..3 {
            h = super::calendar::splitmix(h);
            tail.push_str(&format!("{h:016x}"));
        }
        format!("{prefix}{}-{tail}", self.counter)
    }

    /// Issues an access token; answers (token, seconds it lives).
    pub fn issue_access(&mut self, grant: Grant) -> (String, u64) {
        let token = self.fresh("ya29.fake-");
        self.access.insert(
            token.clone(),
            AccessToken {
                grant,
                expires: Instant::now() + self.lifetime,
            },
        );
        (token, self.lifetime.as_secs())
    }

    /// Every secret handed out so far: access and refresh tokens, auth codes.
    pub fn secrets(&self) -> Vec<String> {
        self.access
            .keys()
            .chain(self.refresh.keys())
            .chain(self.codes.keys())
            .cloned()
            .collect()
    }

    /// Every access token issued so far expires now (the next call with one
    /// is 401); refresh tokens are untouched.
    pub fn expire_access_tokens(&mut self) {
        let now = Instant::now();
        for t in self.access.values_mut() {
            t.expires = now;
        }
    }

    pub fn revoke_refresh_tokens(&mut self) {
        for r in self.refresh.values_mut() {
            r.revoked = true;
        }
    }

    /// Checks an `Authorization` header: a bearer token this fake issued that
    /// has not expired.
    pub fn authenticate(&self, header: Option<&str>) -> Result<&AccessToken, ApiError> {
        let unauthenticated = |reason: &str, item: &str| {
            let mut e = ApiError::new(
                401,
                "global",
                reason,
                "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or \
                 other valid authentication credential. See \
                 https://developers.google.com/identity/sign-in/web/devconsole-project.",
            )
            .at("header", "Authorization");
            e.item_message = Some(item.to_string());
            e
        };
        let Some(header) = header else {
            return Err(unauthenticated("required", "Login Required."));
        };
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or_else(|| unauthenticated("authError", "Invalid Credentials"))?;
        match self.access.get(token.trim()) {
            Some(t) if t.expires > Instant::now() => Ok(t),
            _ => Err(unauthenticated("authError", "Invalid Credentials")),
        }
    }

    /// `GET /o/oauth2/auth`: checks the request and answers the redirect
    /// location, or (status, message) for Google's error page. Also answers the
    /// scopes asked for, for the request log.
    pub fn authorize(&mut self, q: &Params) -> (Result<String, (u16, String)>, Vec<String>) {
        let scopes = param(q, "scope").map(split_scopes).unwrap_or_default();
        (self.authorize_inner(q, &scopes), scopes)
    }

    fn authorize_inner(&mut self, q: &Params, scopes: &[String]) -> Result<String, (u16, String)> {
        let client_id = param(q, "client_id").unwrap_or_default();
        if client_id != CLIENT_ID {
            return Err((401, "Error 401: invalid_client. The OAuth client was not found.".into()));
        }
        let redirect_uri = param(q, "redirect_uri").unwrap_or_default();
        // Installed apps may redirect to any port of the loopback address.
        let loopback = ["http://localhost", "http://127.0.0.1", "http://[::1]"]
            .iter()
            .any(|p| {
                redirect_uri
                    .strip_prefix(p)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(':') || rest.starts_with('/'))
            });
        if !loopback {
            return Err((
                400,
                format!("Error 400: redirect_uri_mismatch. {redirect_uri:?} is not a loopback URI."),
            ));
        }
        if param(q, "response_type") != Some("code") {
            return Err((400, "Error 400: unsupported_response_type".into()));
        }
        if scopes.is_empty() {
            return Err((
                400,
                "Error 400: invalid_request. Missing required parameter: scope".into(),
            ));
        }
        if let Some(bad) = scopes.iter().find(|s| !KNOWN_SCOPES.contains(&s.as_str())) {
            return Err((
                400,
                format!("Error 400: invalid_scope. Some requested scopes were invalid: {bad}"),
            ));
        }
        let challenge = match (param(q, "code_challenge"), param(q, "code_challenge_method")) {
            (None, None) => None,
            (None, Some(_)) => {
                return Err((400, "Error 400: invalid_request. Missing code_challenge.".into()));
            }
            (Some(challenge), method) => {
                let method = method.unwrap_or("plain");
                if method != "S256" && method != "plain" {
                    return Err((
                        400,
                        format!("Error 400: invalid_request. Invalid code_challenge_method: {method}"),
                    ));
                }
                // RFC 7636 §4.2: 43 to 128 unreserved characters.
                let well_formed = (43..=128).contains(&challenge.len())
                    && challenge
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
                if !well_formed {
                    return Err((400, "Error 400: invalid_request. Invalid code_challenge.".into()));
                }
                Some((method.to_string(), challenge.to_string()))
            }
        };
        let mut location = redirect_uri.to_string();
        // Google answers `http://localhost:PORT/?...` for a redirect URI without a path.
        let host_and_path = location.split_once("://").map(|(_, rest)| rest).unwrap_or_default();
        if !host_and_path.contains(['/', '?']) {
            location.push('/');
        }
        location.push(if location.contains('?') { '&' } else { '?' });
        if self.deny_consent {
            // Google's answer when the user clicks "Cancel" on the consent page.
            location.push_str("error=access_denied");
            if let Some(state) = param(q, "state") {
                location.push_str(&format!("&state={}", encode_component(state)));
            }
            return Ok(location);
        }
        let code = self.fresh("4/0Afake-");
        let grant = Grant {
            user: self.user.clone(),
            scopes: scopes.to_vec(),
            client_id: client_id.to_string(),
        };
        self.codes.insert(
            code.clone(),
            AuthCode {
                grant,
                redirect_uri: redirect_uri.to_string(),
                used: false,
                challenge,
            },
        );
        if let Some(state) = param(q, "state") {
            location.push_str(&format!("state={}&", encode_component(state)));
        }
        location.push_str(&format!(
            "code={}&scope={}",
            encode_component(&code),
            encode_component(&scopes.join(" "))
        ));
        Ok(location)
    }

    /// `POST /token`. Answers the token JSON and the scopes it grants.
    /// `users` are the users of the domain (a service account's `sub` must be
    /// one of them).
    pub fn token(&mut self, form: &Params, users: &BTreeSet<String>) -> Result<(Value, Vec<String>), OAuthError> {
        match param(form, "grant_type").unwrap_or_default() {
            "authorization_code" => {
                self.check_client(form)?;
                let code = param(form, "code").unwrap_or_default();
                let entry = self
                    .codes
                    .get_mut(code)
                    .filter(|c| !c.used)
                    .ok_or_else(|| OAuthError::new(400, "invalid_grant", "Malformed auth code."))?;
                if param(form, "redirect_uri") != Some(entry.redirect_uri.as_str()) {
                    return Err(OAuthError::new(400, "redirect_uri_mismatch", "Bad Request"));
                }
                if entry.grant.client_id != param(form, "client_id").unwrap_or_default() {
                    return Err(OAuthError::new(400, "invalid_grant", "Bad Request"));
                }
                if let Some((method, challenge)) = &entry.challenge {
                    let verifier = param(form, "code_verifier")
                        .ok_or_else(|| OAuthError::new(400, "invalid_grant", "Missing code verifier."))?;
                    let computed = if method == "S256" {
                        use sha2::Digest as _;
                        data_encoding::BASE64URL_NOPAD.encode(&sha2::Sha256::digest(verifier.as_bytes()))
                    } else {
                        verifier.to_string()
                    };
                    if &computed != challenge {
                        return Err(OAuthError::new(400, "invalid_grant", "Invalid code verifier."));
                    }
                }
                entry.used = true;
                let grant = entry.grant.clone();
                let refresh = self.fresh("1//0fake-");
                self.refresh.insert(
                    refresh.clone(),
                    RefreshToken {
                        grant: grant.clone(),
                        revoked: false,
                    },
                );
                let scopes = grant.scopes.clone();
                let (access, expires_in) = self.issue_access(grant);
                Ok((
                    json!({
                        "access_token": access,
                        "expires_in": expires_in,
                        "refresh_token": refresh,
                        "scope": scopes.join(" "),
                        "token_type": "Bearer",
                    }),
                    scopes,
                ))
            }
            "refresh_token" => {
                self.check_client(form)?;
                let token = param(form, "refresh_token").unwrap_or_default();
                let grant = match self.refresh.get(token) {
                    Some(r) if !r.revoked && r.grant.client_id == param(form, "client_id").unwrap_or_default() => {
                        r.grant.clone()
                    }
                    _ => {
                        return Err(OAuthError::new(
                            400,
                            "invalid_grant",
                            "Token has been expired or revoked.",
                        ));
                    }
                };
                let mut grant = grant;
                if let Some(asked) = param(form, "scope").map(split_scopes) {
                    if asked.iter().any(|s| !grant.scopes.contains(s)) {
                        return Err(OAuthError::new(
                            400,
                            "invalid_scope",
                            "Some requested scopes were invalid.",
                        ));
                    }
                    grant.scopes = asked;
                }
                let scopes = grant.scopes.clone();
                let (access, expires_in) = self.issue_access(grant);
                Ok((
                    json!({ "access_token": access, "expires_in": expires_in, "scope": scopes.join(" "), "token_type": "Bearer" }),
                    scopes,
                ))
            }
            GRANT_JWT => {
                let grant = self.check_jwt(param(form, "assertion").unwrap_or_default(), users)?;
                let scopes = grant.scopes.clone();
                let (access, expires_in) = self.issue_access(grant);
                Ok((
                    json!({ "access_token": access, "expires_in": expires_in, "token_type": "Bearer" }),
                    scopes,
                ))
            }
            other => Err(OAuthError::new(
                400,
                "unsupported_grant_type",
                format!("Invalid grant_type: {other}"),
            )),
        }
    }

    fn check_client(&self, form: &Params) -> Result<(), OAuthError> {
        if param(form, "client_id") != Some(CLIENT_ID) {
            return Err(OAuthError::new(
                401,
                "invalid_client",
                "The OAuth client was not found.",
            ));
        }
        if param(form, "client_secret") != Some(CLIENT_SECRET) {
            return Err(OAuthError::new(401, "invalid_client", "Unauthorized"));
        }
        Ok(())
    }

    /// Reads and verifies a service account's signed JWT (RS256 with the
    /// embedded key): issuer, audience, lifetime, signature, scopes. `sub`
    /// is the user the token acts for (domain-wide delegation), else the
    /// service account itself. Errors as Google's table of JWT error codes
    /// has them (https://developers.google.com/identity/protocols/oauth2/service-account#jwt-error-codes):
    /// a `sub` that is no user of the domain is `invalid_grant` "Invalid email
    /// or User ID"; a client id not allowed domain-wide delegation (for every
    /// scope asked) is `unauthorized_client` "Unauthorized client or scope in
    /// request." (401, as clients report it:
    /// https://github.com/googleapis/google-auth-library-nodejs/issues/916).
    fn check_jwt(&self, assertion: &str, users: &BTreeSet<String>) -> Result<Grant, OAuthError> {
        let bad = |why: &str| OAuthError::new(400, "invalid_grant", why.to_string());
        let parts: Vec<&str> = assertion.split('.').collect();
        let [head, claims, signature] = parts.as_slice() else {
            return Err(bad("Invalid JWT: the assertion is not a signed JWT."));
        };
        let decode = |s: &str| -> Result<Value, OAuthError> {
            let bytes = b64url(s).ok_or_else(|| bad("Invalid JWT: bad base64."))?;
            serde_json::from_slice(&bytes).map_err(|_| bad("Invalid JWT: bad JSON."))
        };
        let header = decode(head)?;
        if header.get("alg").and_then(Value::as_str) != Some("RS256") {
            return Err(bad("Invalid JWT Signature."));
        }
        let claims = decode(claims)?;
        let field = |name: &str| claims.get(name).and_then(Value::as_str);
        if field("iss") != Some(SERVICE_ACCOUNT_EMAIL) {
            return Err(bad("Invalid grant: account not found"));
        }
        if field("aud") != Some(self.token_uri.as_str()) {
            return Err(bad(&format!(
                "Invalid JWT: Failed audience check. The expected audience is {}.",
                self.token_uri
            )));
        }
        let now = jiff::Timestamp::now().as_second();
        let (iat, exp) = (
            claims.get("iat").and_then(Value::as_i64),
            claims.get("exp").and_then(Value::as_i64),
        );
        let timely = matches!((iat, exp), (Some(iat), Some(exp)) if exp > iat && exp - iat <= 3600 && iat <= now + 300 && exp > now - 300);
        if !timely {
            return Err(bad(
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your \
                 iat and exp values in the JWT claim.",
            ));
        }
        let signature = b64url(signature).ok_or_else(|| bad("Invalid JWT Signature."))?;
        let signed = &assertion[..head.len() + 1 + parts[1].len()];
        ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, &self.public_key)
            .verify(signed.as_bytes(), &signature)
            .map_err(|_| bad("Invalid JWT Signature."))?;
        let scopes = field("scope").map(split_scopes).unwrap_or_default();
        if scopes.is_empty() {
            return Err(OAuthError::new(
                400,
                "invalid_scope",
                "Invalid OAuth scope or ID token audience provided.",
            ));
        }
        let user = match field("sub") {
            None => SERVICE_ACCOUNT_EMAIL.to_string(),
            Some(sub) => {
                let sub = sub.to_lowercase();
                if !users.contains(&sub) {
                    return Err(bad("Invalid email or User ID"));
                }
                let allowed = match &self.delegation {
                    Delegation::Any => true,
                    Delegation::Scopes(granted) => scopes.iter().all(|s| granted.contains(s)),
                    Delegation::NotGranted => false,
                };
                if !allowed {
                    return Err(OAuthError::new(
                        401,
                        "unauthorized_client",
                        "Unauthorized client or scope in request.",
                    ));
                }
                sub
            }
        };
        Ok(Grant {
            user,
            scopes,
            client_id: SERVICE_ACCOUNT_EMAIL.to_string(),
        })
    }
}
