//! Google's JSON error bodies, for the Calendar API and for the OAuth endpoints.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A Calendar API error: `{"error": {"code", "message", "errors": [{domain,
/// reason, message}], "status"}}`. Boxed: it travels in many `Result`s.
#[derive(Clone, Debug)]
pub struct ApiError(Box<ErrorData>);

#[derive(Clone, Debug)]
pub struct ErrorData {
    pub code: u16,
    pub domain: &'static str,
    pub reason: String,
    pub message: String,
    /// The message of the `errors[0]` item when it differs from the top-level one.
    pub item_message: Option<String>,
    /// `location` / `locationType` of the first error item, when Google names one.
    pub location: Option<(&'static str, String)>,
    /// Extra `details` entries (e.g. the `ErrorInfo` of a scope error).
    pub details: Vec<Value>,
    /// A `Retry-After` header, in seconds.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(code: u16, domain: &'static str, reason: &str, message: impl Into<String>) -> ApiError {
        ApiError(Box::new(ErrorData {
            code,
            domain,
            reason: reason.to_string(),
            message: message.into(),
            item_message: None,
            location: None,
            details: Vec::new(),
            retry_after: None,
        }))
    }

    /// 400 `invalid` (domain global) with `message`.
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "global", "invalid", message)
    }

    /// 400 `required` with `message`.
    pub fn required(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "global", "required", message)
    }

    /// 400 `badRequest`: a request the fake does not support (so a test notices).
    pub fn unsupported(what: &str) -> ApiError {
        ApiError::new(
            400,
            "global",
            "badRequest",
            format!("fake Google: {what} is not supported by the fake"),
        )
    }

    pub fn not_found() -> ApiError {
        ApiError::new(404, "global", "notFound", "Not Found")
    }

    pub fn duplicate() -> ApiError {
        ApiError::new(409, "global", "duplicate", "The requested identifier already exists.")
    }

    pub fn deleted() -> ApiError {
        ApiError::new(410, "global", "deleted", "Resource has been deleted")
    }

    pub fn full_sync_required() -> ApiError {
        ApiError::new(
            410,
            "calendar",
            "fullSyncRequired",
            "Sync token is no longer valid, a full sync is required.",
        )
        .at("parameter", "syncToken")
    }

    pub fn time_range_empty(location: &str) -> ApiError {
        ApiError::new(400, "calendar", "timeRangeEmpty", "The specified time range is empty.").at("parameter", location)
    }

    /// The error Google gives for `reason`, with its usual code, domain and
    /// message; used by the failure injection.
    pub fn for_reason(code: u16, reason: &str) -> ApiError {
        let (domain, message) = match reason {
            "rateLimitExceeded" => ("usageLimits", "Rate Limit Exceeded"),
            "userRateLimitExceeded" => ("usageLimits", "User Rate Limit Exceeded"),
            "quotaExceeded" => ("usageLimits", "Calendar usage limits exceeded."),
            "dailyLimitExceeded" => ("usageLimits", "Daily Limit Exceeded"),
            "forbiddenForNonOrganizer" => (
                "calendar",
                "Shared properties can only be changed by the organizer of the event.",
            ),
            "requiredAccessLevel" => ("calendar", "You need to have writer access to this calendar."),
            "backendError" => ("global", "Backend Error"),
            "internalError" => ("global", "Internal Error"),
            "badGateway" => ("global", "Bad Gateway"),
            "serviceUnavailable" => ("global", "The service is currently unavailable."),
            "notFound" => ("global", "Not Found"),
            "forbidden" => ("global", "Forbidden"),
            _ => ("global", "Error injected by the fake Google API"),
        };
        ApiError::new(code, domain, reason, message)
    }

    /// The reason Google usually gives with `code`.
    pub fn default_reason(code: u16) -> &'static str {
        match code {
            429 | 403 => "rateLimitExceeded",
            500 => "backendError",
            502 => "badGateway",
            503 => "backendError",
            404 => "notFound",
            _ => "backendError",
        }
    }

    pub fn at(mut self, location_type: &'static str, location: &str) -> ApiError {
        self.location = Some((location_type, location.to_string()));
        self
    }

    pub fn body(&self) -> Value {
        let item_message = self.item_message.as_deref().unwrap_or(&self.message);
        let mut item = json!({ "domain": self.domain, "reason": self.reason, "message": item_message });
        if let Some((kind, loc)) = &self.location {
            item["locationType"] = json!(kind);
            item["location"] = json!(loc);
        }
        let mut error = json!({ "code": self.code, "message": self.message, "errors": [item] });
        if let Some(status) = grpc_status(self.code) {
            error["status"] = json!(status);
        }
        if !self.details.is_empty() {
            error["details"] = json!(self.details);
        }
        json!({ "error": error })
    }
}

impl std::ops::Deref for ApiError {
    type Target = ErrorData;
    fn deref(&self) -> &ErrorData {
        &self.0
    }
}

impl std::ops::DerefMut for ApiError {
    fn deref_mut(&mut self) -> &mut ErrorData {
        &mut self.0
    }
}

/// The `status` Google puts next to `code` in its JSON errors.
fn grpc_status(code: u16) -> Option<&'static str> {
    Some(match code {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ALREADY_EXISTS",
        412 => "FAILED_PRECONDITION",
        429 => "RESOURCE_EXHAUSTED",
        500 => "INTERNAL",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => return None,
    })
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, json_body(&self.body())).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=UTF-8"),
        );
        if self.code == 401 {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\""),
            );
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// An OAuth endpoint error: `{"error": "invalid_grant", "error_description": ...}`.
pub struct OAuthError {
    pub code: u16,
    pub error: &'static str,
    pub description: String,
}

impl OAuthError {
    pub fn new(code: u16, error: &'static str, description: impl Into<String>) -> OAuthError {
        OAuthError {
            code,
            error,
            description: description.into(),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code).unwrap_or(StatusCode::BAD_REQUEST);
        json_response(
            status,
            &json!({ "error": self.error, "error_description": self.description }),
        )
    }
}

/// Pretty JSON, as Google sends it.
pub fn json_body(v: &Value) -> String {
    serde_json::to_string_pretty(v).expect("JSON values serialize")
}

pub fn json_response(status: StatusCode, v: &Value) -> Response {
    let mut response = (status, json_body(v)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    response
}
