//! [`ApiError`], the one error type of every handler, and its HTTP form: a status code and a
//! `googleRpcStatus` body (`{"code": <gRPC code>, "message": ..., "details": []}`), which is what
//! the KFP API server returns and what the kfp client shows to its user. The request log in
//! [`crate::routes`] logs each error with the request's method and path.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use weir_engine::EngineError;
use weir_store::StoreError;

/// An error a handler returns; each variant pins the HTTP status and the gRPC code.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 404, gRPC `NOT_FOUND` (5).
    #[error("{0}")]
    NotFound(String),
    /// 400, gRPC `INVALID_ARGUMENT` (3).
    #[error("{0}")]
    InvalidArgument(String),
    /// 409, gRPC `ALREADY_EXISTS` (6).
    #[error("{0}")]
    AlreadyExists(String),
    /// 400, gRPC `FAILED_PRECONDITION` (9).
    #[error("{0}")]
    FailedPrecondition(String),
    /// 500, gRPC `INTERNAL` (13).
    #[error("{0}")]
    Internal(String),
    /// 405, gRPC `UNIMPLEMENTED` (12), for a known path with another method.
    #[error("{0}")]
    MethodNotAllowed(String),
}

/// The message of an error response, kept in the response's extensions for the request log.
#[derive(Debug, Clone)]
pub struct ErrorMessage(pub String);

impl ApiError {
    /// Returns the HTTP status and the gRPC status code of the error.
    pub fn codes(&self) -> (StatusCode, i32) {
        match self {
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, 5),
            ApiError::InvalidArgument(_) => (StatusCode::BAD_REQUEST, 3),
            ApiError::AlreadyExists(_) => (StatusCode::CONFLICT, 6),
            ApiError::FailedPrecondition(_) => (StatusCode::BAD_REQUEST, 9),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, 13),
            ApiError::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, 12),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError::InvalidArgument(message.into())
    }

    pub fn not_found(kind: &str, id: &str) -> Self {
        ApiError::NotFound(format!("{kind} {id:?} not found"))
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        let message = error.to_string();
        match error {
            StoreError::NotFound { .. } => ApiError::NotFound(message),
            StoreError::AlreadyExists { .. } => ApiError::AlreadyExists(message),
            StoreError::FailedPrecondition(_) => ApiError::FailedPrecondition(message),
            StoreError::InvalidQuery(_) | StoreError::InvalidArgument(_) => {
                ApiError::InvalidArgument(message)
            }
            StoreError::Ambiguous { .. } => ApiError::InvalidArgument(message),
            StoreError::SchemaTooNew { .. } | StoreError::Corrupt(_) | StoreError::Backend(_) => {
                ApiError::Internal(message)
            }
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(error: EngineError) -> Self {
        match error {
            EngineError::InvalidArguments(message) => {
                ApiError::InvalidArgument(format!("invalid run arguments: {message}"))
            }
            EngineError::Unsupported(_) => ApiError::InvalidArgument(error.to_string()),
            EngineError::Store(store) => store.into(),
            EngineError::CorruptRun { .. } => ApiError::Internal(error.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.codes();
        let message = self.to_string();
        let body = json!({"code": code, "message": message, "details": []});
        let mut response = (status, Json(body)).into_response();
        response.extensions_mut().insert(ErrorMessage(message));
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_grpc_gateway() {
        let cases = [
            (ApiError::NotFound(String::new()), 404, 5),
            (ApiError::InvalidArgument(String::new()), 400, 3),
            (ApiError::AlreadyExists(String::new()), 409, 6),
            (ApiError::FailedPrecondition(String::new()), 400, 9),
            (ApiError::Internal(String::new()), 500, 13),
            (ApiError::MethodNotAllowed(String::new()), 405, 12),
        ];
        for (error, status, code) in cases {
            let (actual_status, actual_code) = error.codes();
            assert_eq!(actual_status.as_u16(), status, "{error:?}");
            assert_eq!(actual_code, code, "{error:?}");
        }
    }

    #[test]
    fn store_not_found_maps_to_404() {
        let error: ApiError = StoreError::NotFound { kind: "run", id: "r1".into() }.into();
        assert_eq!(error.codes().0.as_u16(), 404);
        assert_eq!(error.to_string(), "run \"r1\" not found");
    }
}
