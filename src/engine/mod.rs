//! The engine layer: every call to the Docker engine goes through here, via
//! bollard. Commands never build bollard requests themselves.

pub mod containers;
pub mod context;
pub mod health;
pub mod images;
pub mod labels;
pub mod resources;
pub mod spec;

use bollard::Docker;
use std::time::Duration;
use thiserror::Error;

/// The default socket when `DOCKER_HOST` is not set.
pub const DEFAULT_SOCKET: &str = "unix:///var/run/docker.sock";

/// How long a request may wait for response headers. Long operations (stop
/// with a grace period, builds) use their own deadlines on top of this.
const CLIENT_TIMEOUT_SECS: u64 = 300;

#[derive(Debug, Error)]
pub enum EngineError {
    /// The engine could not be reached at all: one line, no stack trace.
    #[error("cannot reach the Docker engine at {target}: {cause} (is dockerd running? start it with `sudo systemctl start docker` or `sudo dockerd &`)")]
    Unreachable { target: String, cause: String },
    /// An image could not be pulled; says what to do instead.
    #[error("cannot pull `{image}`: {cause}. {}", images::pull_hint(.image, *.exists_locally))]
    Pull {
        image: String,
        cause: String,
        /// A local copy exists (an `always` pull policy failed): it can still be used.
        exists_locally: bool,
    },
    /// A build failed; `step` is the Dockerfile step that failed, when known.
    #[error("building `{image}` failed{}: {message}", images::step_suffix(.step.as_deref()))]
    Build {
        image: String,
        step: Option<String>,
        message: String,
    },
    /// The build context could not be read or its `.dockerignore` parsed.
    #[error("build context: {0}")]
    Context(#[from] context::ContextError),
    /// Transparent: the message is bollard's, and `{:#}` chains do not
    /// repeat it (a plain `#[from]` would make it both message and source).
    #[error(transparent)]
    Api(#[from] bollard::errors::Error),
    /// Something did not happen before its deadline (a stop, a health wait…).
    #[error("timed out: {0}")]
    Timeout(String),
    #[error("{0}")]
    Other(String),
}

/// The HTTP status of an engine answer, when the engine answered at all.
pub fn status_code(err: &bollard::errors::Error) -> Option<u16> {
    match err {
        bollard::errors::Error::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

/// True for a 404: the object is not there (often fine: removal is idempotent).
pub fn is_not_found(err: &bollard::errors::Error) -> bool {
    status_code(err) == Some(404)
}

/// A connected, version-negotiated engine client.
#[derive(Clone)]
pub struct Engine {
    pub docker: Docker,
    /// Where we connected, for messages.
    pub target: String,
}

impl Engine {
    /// Connect to `DOCKER_HOST` (unix:// or tcp://) or the default socket,
    /// negotiate the API version (the engine here speaks 1.41; bollard's
    /// default is newer) and check that it answers.
    pub async fn connect() -> Result<Engine, EngineError> {
        let target = std::env::var("DOCKER_HOST")
            .ok()
            .filter(|host| !host.is_empty())
            .unwrap_or_else(|| DEFAULT_SOCKET.to_string());
        let unreachable = |cause: String| EngineError::Unreachable {
            target: target.clone(),
            cause,
        };
        let docker = connect_to(&target).map_err(|err| unreachable(err.to_string()))?;
        let docker = tokio::time::timeout(Duration::from_secs(10), docker.negotiate_version())
            .await
            .map_err(|_| unreachable("no answer within 10s".into()))?
            .map_err(|err| unreachable(short_cause(&err)))?;
        docker
            .ping()
            .await
            .map_err(|err| unreachable(short_cause(&err)))?;
        Ok(Engine { docker, target })
    }
}

fn connect_to(target: &str) -> Result<Docker, bollard::errors::Error> {
    let version = bollard::API_DEFAULT_VERSION;
    if target.starts_with("unix://") || target.starts_with('/') {
        let path = target.trim_start_matches("unix://");
        Docker::connect_with_unix(path, CLIENT_TIMEOUT_SECS, version)
    } else if target.starts_with("tcp://") || target.starts_with("http://") {
        let address = target.replacen("tcp://", "http://", 1);
        Docker::connect_with_http(&address, CLIENT_TIMEOUT_SECS, version)
    } else {
        Docker::connect_with_host(target)
    }
}

/// The useful part of a connection error (bollard nests hyper's errors).
fn short_cause(err: &bollard::errors::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(inner) = source {
        text = inner.to_string();
        source = inner.source();
    }
    text
}
