//! Error answers as Graph and the identity platform write them.
//!
//! Graph: `{"error": {"code": "ErrorItemNotFound", "message": "...",
//! "innerError": {"date", "request-id", "client-request-id"}}}`
//! (https://learn.microsoft.com/en-us/graph/errors). The identity platform:
//! `{"error": "invalid_grant", "error_description": "AADSTS...", "error_codes": [..]}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

#[derive(Clone, Debug)]
pub struct GraphError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub retry_after: Option<u64>,
}

impl GraphError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> GraphError {
        GraphError {
            status,
            code: code.to_string(),
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> GraphError {
        GraphError::new(400, code, message)
    }

    pub fn not_found() -> GraphError {
        GraphError::new(
            404,
            "ErrorItemNotFound",
            "The specified object was not found in the store.",
        )
    }

    /// The answer Graph gives for a status, with its usual code.
    pub fn for_status(status: u16) -> GraphError {
        match status {
            429 => GraphError::new(429, "TooManyRequests", "Please retry again later."),
            503 => GraphError::new(503, "ServiceNotAvailable", "The service is temporarily unavailable."),
            504 => GraphError::new(504, "GatewayTimeout", "Gateway timeout."),
            500 => GraphError::new(500, "InternalServerError", "An internal server error occurred."),
            401 => GraphError::new(
                401,
                "InvalidAuthenticationToken",
                "Access token has expired or is not yet valid.",
            ),
            403 => GraphError::new(
                403,
                "ErrorAccessDenied",
                "Access is denied. Check credentials and try again.",
            ),
            404 => GraphError::not_found(),
            410 => GraphError::new(410, "syncStateNotFound", "The sync state is not found or expired."),
            other => GraphError::new(other, "BadRequest", format!("fake Graph: injected {other}")),
        }
    }

    pub fn body(&self) -> Value {
        json!({"error": {
            "code": self.code,
            "message": self.message,
            "innerError": {"date": "2027-03-03T12:00:00", "request-id": "fake", "client-request-id": "fake"},
        }})
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut r = json_response(status, &self.body());
        if let Some(secs) = self.retry_after {
            r.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_str(&secs.to_string()).expect("digits"),
            );
        }
        if self.status == 401 {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"\", error=\"invalid_token\""),
            );
        }
        r
    }
}

/// An identity-platform error: status, `error`, `error_description` (with
/// its AADSTS number) and `error_codes`.
#[derive(Clone, Debug)]
pub struct OAuthError {
    pub status: u16,
    pub error: &'static str,
    pub description: String,
    pub code: u32,
}

impl OAuthError {
    pub fn new(status: u16, error: &'static str, code: u32, description: &str) -> OAuthError {
        OAuthError {
            status,
            error,
            description: format!("AADSTS{code}: {description}"),
            code,
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        json_response(
            status,
            &json!({
                "error": self.error,
                "error_description": self.description,
                "error_codes": [self.code],
                "timestamp": "2027-03-03 12:00:00Z",
                "trace_id": "fake",
                "correlation_id": "fake",
            }),
        )
    }
}

pub fn json_response(status: StatusCode, v: &Value) -> Response {
    let mut r = (status, v.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}
