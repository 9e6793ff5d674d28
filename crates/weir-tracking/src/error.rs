//! [`TrackingError`], the one error type of the tracking handlers, and its HTTP form: MLflow's
//! JSON body `{"error_code": ..., "message": ...}` with the HTTP status MLflow pairs with each
//! code, so the `mlflow` client raises the same exception it raises against an MLflow server.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The MLflow error codes Weir returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidParameterValue,
    ResourceDoesNotExist,
    ResourceAlreadyExists,
    BadRequest,
    InvalidState,
    EndpointNotFound,
    InternalError,
    NotImplemented,
}

impl ErrorCode {
    /// Returns the code's name as it appears in `error_code`.
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::InvalidParameterValue => "INVALID_PARAMETER_VALUE",
            ErrorCode::ResourceDoesNotExist => "RESOURCE_DOES_NOT_EXIST",
            ErrorCode::ResourceAlreadyExists => "RESOURCE_ALREADY_EXISTS",
            ErrorCode::BadRequest => "BAD_REQUEST",
            ErrorCode::InvalidState => "INVALID_STATE",
            ErrorCode::EndpointNotFound => "ENDPOINT_NOT_FOUND",
            ErrorCode::InternalError => "INTERNAL_ERROR",
            ErrorCode::NotImplemented => "NOT_IMPLEMENTED",
        }
    }

    /// Returns the HTTP status MLflow sends with the code.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::InvalidParameterValue
            | ErrorCode::ResourceAlreadyExists
            | ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
            ErrorCode::ResourceDoesNotExist | ErrorCode::EndpointNotFound => StatusCode::NOT_FOUND,
            ErrorCode::InvalidState | ErrorCode::InternalError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::NotImplemented => StatusCode::NOT_IMPLEMENTED,
        }
    }
}

/// An error a tracking handler returns.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct TrackingError {
    pub code: ErrorCode,
    pub message: String,
}

/// The result type of the tracking crate.
pub type Result<T, E = TrackingError> = std::result::Result<T, E>;

impl TrackingError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        TrackingError { code, message: message.into() }
    }

    /// `INVALID_PARAMETER_VALUE`: a request field has a value Weir cannot accept.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidParameterValue, message)
    }

    /// `RESOURCE_DOES_NOT_EXIST`: the named resource is not stored.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ResourceDoesNotExist, message)
    }

    /// `RESOURCE_ALREADY_EXISTS`: a resource with the same name or key is already stored.
    pub fn already_exists(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ResourceAlreadyExists, message)
    }

    /// `BAD_REQUEST`: the request itself is malformed.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }

    /// `INTERNAL_ERROR`: the server failed; the message names the operation that failed.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InternalError, message)
    }

    /// Builds the error for a missing or empty required field, in MLflow's wording.
    pub fn missing(field: &str) -> Self {
        Self::invalid(format!("Missing value for required parameter '{field}'."))
    }
}

impl From<rusqlite::Error> for TrackingError {
    fn from(err: rusqlite::Error) -> Self {
        TrackingError::internal(format!("tracking database error: {err}"))
    }
}

impl IntoResponse for TrackingError {
    fn into_response(self) -> Response {
        if self.code.status().is_server_error() && self.code != ErrorCode::NotImplemented {
            tracing::error!(error_code = self.code.name(), message = %self.message,
                "Tracking request failed.");
        } else {
            // The client gets the error and decides; many are routine, such as creating a
            // registered model that exists, which `mlflow.register_model` does every time.
            tracing::debug!(error_code = self.code.name(), message = %self.message,
                "Tracking request rejected.");
        }
        let body = json!({ "error_code": self.code.name(), "message": self.message });
        (self.code.status(), axum::Json(body)).into_response()
    }
}
