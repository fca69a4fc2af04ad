//! Request-level failures that never reach the app, and the one place they become status codes.

use http::StatusCode;
use thiserror::Error;

use crate::http::guard::Rejection;

#[derive(Debug, Error)]
pub enum RequestError {
    #[error("the path is outside the --mount prefix")]
    NotMounted,
    #[error("request refused: {}", .0.reason)]
    Refused(Rejection),
    #[error("malformed request body")]
    BadBody,
    #[error("the worker is shutting down")]
    WorkerGone,
    #[error("the app produced no response")]
    NoResponse,
    #[error("the proxy headers disagree about the scheme")]
    ConflictingScheme,
    #[error("the request body is larger than --limit-request-body")]
    TooLarge,
    #[error("the app ran past --timeout")]
    Timeout,
    #[error("the request body arrived too slowly")]
    TooSlow,
}

impl RequestError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotMounted => StatusCode::NOT_FOUND,
            Self::Refused(r) => r.status,
            Self::BadBody => StatusCode::BAD_REQUEST,
            Self::WorkerGone => StatusCode::SERVICE_UNAVAILABLE,
            Self::NoResponse => StatusCode::INTERNAL_SERVER_ERROR,
            Self::ConflictingScheme => StatusCode::BAD_REQUEST,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Timeout => StatusCode::GATEWAY_TIMEOUT,
            Self::TooSlow => StatusCode::REQUEST_TIMEOUT,
        }
    }

    /// Whether the connection must close after the answer (the request's framing can't be
    /// trusted, or the worker is going away).
    pub fn closes(&self) -> bool {
        matches!(
            self,
            Self::Refused(_)
                | Self::BadBody
                | Self::WorkerGone
                | Self::ConflictingScheme
                | Self::TooLarge
                | Self::Timeout
                | Self::TooSlow
        )
    }
}
