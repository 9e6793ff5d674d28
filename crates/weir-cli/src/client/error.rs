//! [`ClientError`]: the ways a call to a Weir server fails, and the exit code of each.

/// A failed call to the server.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The `--server` value is not an HTTP URL.
    #[error("invalid --server {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// Nothing accepted the connection, or the host is unreachable.
    #[error(
        "cannot connect to the Weir server at {url}: {cause}. Start it with `weir server`, or \
         give the address of a running server with --server (or WEIR_SERVER)"
    )]
    Connect { url: String, cause: String },
    /// The server responded with an error status, and `message` is its `googleRpcStatus` message.
    #[error("{message} (HTTP {status})")]
    Api { status: u16, message: String },
    /// A name given in place of an id matches several items.
    #[error("{count} {kind}s are named {name:?} ({ids}); give the id of one")]
    Ambiguous { kind: &'static str, name: String, count: usize, ids: String },
    /// The request failed after the connection was made, or timed out.
    #[error("{method} {url} failed: {cause}")]
    Transport { method: String, url: String, cause: String },
    /// The response body is not what the KFP API returns.
    #[error("invalid response to {method} {url}: {cause}; is {server} a Weir or KFP server?")]
    InvalidResponse { method: String, url: String, server: String, cause: String },
}

impl ClientError {
    /// Returns the process exit code: 2 when the server rejected the request as invalid (a
    /// 4xx status) or the URL is invalid, 1 for every other failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            ClientError::InvalidUrl { .. } | ClientError::Ambiguous { .. } => 2,
            ClientError::Api { status, .. } if (400..500).contains(status) => 2,
            _ => 1,
        }
    }

    /// Classifies a reqwest error of a request to `url`.
    pub fn from_reqwest(
        error: reqwest::Error,
        method: &reqwest::Method,
        url: &str,
        server: &str,
    ) -> Self {
        let cause = root_cause(&error);
        if error.is_connect() {
            ClientError::Connect { url: server.to_string(), cause }
        } else if error.is_decode() {
            ClientError::InvalidResponse {
                method: method.to_string(),
                url: url.to_string(),
                server: server.to_string(),
                cause,
            }
        } else if error.is_timeout() {
            ClientError::Transport {
                method: method.to_string(),
                url: url.to_string(),
                cause: "the server did not answer in time".to_string(),
            }
        } else {
            ClientError::Transport { method: method.to_string(), url: url.to_string(), cause }
        }
    }
}

/// Returns the innermost cause of an error, such as `Connection refused (os error 111)`, which
/// is more specific than reqwest's own "error sending request".
fn root_cause(error: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = error;
    // Error chains are short, so the bound only guards against a source that cycles.
    for _ in 0..16 {
        match cause.source() {
            Some(inner) => cause = inner,
            None => break,
        }
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_by_status() {
        let cases = [(400, 2), (404, 2), (409, 2), (499, 2), (500, 1), (503, 1)];
        for (status, code) in cases {
            let error = ClientError::Api { status, message: String::new() };
            assert_eq!(error.exit_code(), code, "HTTP {status}");
        }
        let connect = ClientError::Connect { url: String::new(), cause: String::new() };
        assert_eq!(connect.exit_code(), 1);
        let url = ClientError::InvalidUrl { url: String::new(), reason: String::new() };
        assert_eq!(url.exit_code(), 2);
    }

    #[test]
    fn api_error_text() {
        let error = ClientError::Api { status: 404, message: "run \"x\" not found".into() };
        assert_eq!(error.to_string(), "run \"x\" not found (HTTP 404)");
    }
}
