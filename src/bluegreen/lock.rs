//! One upgrade or rollback at a time per project. The lock is a container
//! (never started) with a fixed name: the engine refuses a second container
//! of the same name, which makes taking it atomic across shells and hosts.
//! Its labels name the holder, so a lock left by a killed run is detectably
//! stale (same host and the process is gone, or older than a day).

use crate::engine::{status_code, Engine, EngineError};
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::CreateContainerOptionsBuilder;
use std::collections::HashMap;

const LOCK: &str = "io.stackctl.lock";
const HOLDER_HOST: &str = "io.stackctl.lock.host";
const HOLDER_PID: &str = "io.stackctl.lock.pid";
const OPERATION: &str = "io.stackctl.lock.operation";
const TARGET: &str = "io.stackctl.lock.target";
const SINCE: &str = "io.stackctl.lock.since";

/// After this long a lock is stale whoever holds it: no operation runs a day.
const MAX_AGE_SECS: i64 = 24 * 3600;

/// What the holder was doing; recovery reads it after a crash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// `upgrade` or `rollback`.
    pub kind: String,
    pub service: String,
    /// The revision being brought in.
    pub target: u32,
}

pub struct Lock {
    name: String,
}

/// A stale lock found (and removed) while taking the lock: the interrupted
/// operation, for recovery.
pub struct Taken {
    pub lock: Lock,
    pub interrupted: Option<Operation>,
}

fn lock_name(project: &str) -> String {
    format!("{project}-stackctl-lock")
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Lock {
    /// Take the project's lock, replacing a stale one. `image` is any local
    /// image (the container is never started).
    pub async fn acquire(
        engine: &Engine,
        project: &str,
        image: &str,
        operation: &Operation,
    ) -> Result<Taken, EngineError> {
        let name = lock_name(project);
        let mut interrupted = None;
        for _ in 0..3 {
            match create(engine, &name, project, image, operation).await {
                Ok(()) => {
                    return Ok(Taken {
                        lock: Lock { name },
                        interrupted,
                    })
                }
                Err(EngineError::Api(err)) if status_code(&err) == Some(409) => {
                    let labels = holder_labels(engine, &name).await?;
                    if !is_stale(&labels) {
                        return Err(EngineError::Other(held_message(&labels)));
                    }
                    interrupted = operation_of(&labels);
                    engine.remove_container(&name, true, false).await?;
                }
                Err(other) => return Err(other),
            }
        }
        Err(EngineError::Other(format!(
            "could not take the lock {name}: another run keeps taking it"
        )))
    }

    pub async fn release(self, engine: &Engine) -> Result<(), EngineError> {
        engine.remove_container(&self.name, true, false).await
    }
}

/// The operation recorded by a lock that is still there (for `up`, which
/// does not take the lock but must notice an interrupted upgrade).
pub async fn stale_operation(
    engine: &Engine,
    project: &str,
) -> Result<Option<(Operation, bool)>, EngineError> {
    let name = lock_name(project);
    let Some(found) = engine.find_container(&name).await? else {
        return Ok(None);
    };
    let labels = found.config.and_then(|c| c.labels).unwrap_or_default();
    Ok(operation_of(&labels).map(|op| (op, is_stale(&labels))))
}

/// Remove a stale lock once its operation has been converged.
pub async fn clear_stale(engine: &Engine, project: &str) -> Result<(), EngineError> {
    engine
        .remove_container(&lock_name(project), true, false)
        .await
}

async fn create(
    engine: &Engine,
    name: &str,
    project: &str,
    image: &str,
    operation: &Operation,
) -> Result<(), EngineError> {
    let labels = HashMap::from([
        (LOCK.to_string(), project.to_string()),
        (HOLDER_HOST.to_string(), hostname()),
        (HOLDER_PID.to_string(), std::process::id().to_string()),
        (
            OPERATION.to_string(),
            format!("{} {}", operation.kind, operation.service),
        ),
        (TARGET.to_string(), operation.target.to_string()),
        (SINCE.to_string(), now().to_string()),
    ]);
    let body = ContainerCreateBody {
        image: Some(image.to_string()),
        labels: Some(labels),
        cmd: Some(vec!["true".to_string()]),
        ..Default::default()
    };
    let options = CreateContainerOptionsBuilder::new().name(name).build();
    engine.docker.create_container(Some(options), body).await?;
    Ok(())
}

async fn holder_labels(
    engine: &Engine,
    name: &str,
) -> Result<HashMap<String, String>, EngineError> {
    Ok(engine
        .find_container(name)
        .await?
        .and_then(|c| c.config)
        .and_then(|c| c.labels)
        .unwrap_or_default())
}

fn operation_of(labels: &HashMap<String, String>) -> Option<Operation> {
    let (kind, service) = labels.get(OPERATION)?.split_once(' ')?;
    Some(Operation {
        kind: kind.to_string(),
        service: service.to_string(),
        target: labels.get(TARGET)?.parse().ok()?,
    })
}

/// Stale: the holder ran on this host and its process is gone, or the lock
/// is older than any operation could take.
fn is_stale(labels: &HashMap<String, String>) -> bool {
    let since: i64 = labels.get(SINCE).and_then(|s| s.parse().ok()).unwrap_or(0);
    if now() - since > MAX_AGE_SECS {
        return true;
    }
    let same_host = labels.get(HOLDER_HOST).is_some_and(|h| *h == hostname());
    let pid = labels.get(HOLDER_PID).and_then(|p| p.parse::<u32>().ok());
    match (same_host, pid) {
        (true, Some(pid)) => !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        _ => false,
    }
}

fn held_message(labels: &HashMap<String, String>) -> String {
    let get = |key: &str| labels.get(key).cloned().unwrap_or_else(|| "?".into());
    let since: i64 = labels.get(SINCE).and_then(|s| s.parse().ok()).unwrap_or(0);
    format!(
        "another operation is running on this project: `{}` by pid {} on {} for {}s; wait for it to finish",
        get(OPERATION),
        get(HOLDER_PID),
        get(HOLDER_HOST),
        (now() - since).max(0)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(host: &str, pid: u32, age: i64) -> HashMap<String, String> {
        HashMap::from([
            (HOLDER_HOST.to_string(), host.to_string()),
            (HOLDER_PID.to_string(), pid.to_string()),
            (SINCE.to_string(), (now() - age).to_string()),
            (OPERATION.to_string(), "upgrade app".to_string()),
            (TARGET.to_string(), "3".to_string()),
        ])
    }

    #[test]
    fn a_live_holder_is_not_stale() {
        assert!(!is_stale(&labels(&hostname(), std::process::id(), 5)));
    }

    #[test]
    fn a_dead_holder_or_an_old_lock_is_stale() {
        assert!(is_stale(&labels(&hostname(), u32::MAX - 1, 5)));
        assert!(is_stale(&labels("elsewhere", 1, MAX_AGE_SECS + 10)));
        assert!(!is_stale(&labels("elsewhere", 1, 5)));
    }

    #[test]
    fn the_operation_is_read_back() {
        let op = operation_of(&labels("h", 1, 0)).unwrap();
        assert_eq!(
            op,
            Operation {
                kind: "upgrade".into(),
                service: "app".into(),
                target: 3
            }
        );
        assert!(held_message(&labels("h", 1, 0)).contains("upgrade app"));
    }
}
