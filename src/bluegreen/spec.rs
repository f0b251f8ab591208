//! The `x-stackctl` extension: which service is a router, and which services
//! are upgraded blue-green through it.
//!
//! ```yaml
//! nginx_proxy:
//!   x-stackctl:
//!     router: {kind: nginx, dir: /etc/nginx/upstreams}
//! nginx_app:
//!   x-stackctl:
//!     bluegreen: {router: nginx_proxy, port: 80, drain: 10s}
//! ```

use crate::compose::model::{Project, Service};
use crate::compose::units::parse_duration;
use serde_yaml::Value;
use std::time::Duration;

pub const EXTENSION: &str = "x-stackctl";

/// Router kinds stackctl can drive. Only nginx today; the trait in
/// `router.rs` is the seam for more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouterKind {
    Nginx,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterSpec {
    pub kind: RouterKind,
    /// Directory in the router container where `<service>.conf` files live.
    pub dir: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlueGreenSpec {
    /// The router service's name.
    pub router: String,
    /// Port the router sends to on each replica.
    pub port: u16,
    /// How long the old color keeps serving in-flight requests after a switch.
    pub drain: Duration,
}

/// Default drain when the file gives none: enough for short requests.
pub const DEFAULT_DRAIN: Duration = Duration::from_secs(10);

fn extension(service: &Service) -> Option<&Value> {
    service.extensions.get(EXTENSION)
}

/// The router declaration of a service, if any (errors are reported by
/// `validate`, so here a bad one reads as absent).
pub fn router_spec(service: &Service) -> Option<RouterSpec> {
    parse_router(extension(service)?.get("router")?).ok()
}

pub fn bluegreen_spec(service: &Service) -> Option<BlueGreenSpec> {
    parse_bluegreen(extension(service)?.get("bluegreen")?).ok()
}

fn parse_router(value: &Value) -> Result<RouterSpec, String> {
    let map = value
        .as_mapping()
        .ok_or("expected a mapping with `kind` and `dir`")?;
    for key in map.keys() {
        let key = key.as_str().unwrap_or("?");
        if !matches!(key, "kind" | "dir") {
            return Err(format!("unknown key `{key}`: expected `kind` or `dir`"));
        }
    }
    let kind = match map.get("kind").and_then(Value::as_str) {
        Some("nginx") | None => RouterKind::Nginx,
        Some(other) => return Err(format!("unknown router kind `{other}`: expected nginx")),
    };
    let dir = map
        .get("dir")
        .and_then(Value::as_str)
        .unwrap_or("/etc/nginx/upstreams")
        .trim_end_matches('/')
        .to_string();
    if !dir.starts_with('/') {
        return Err(format!("`dir` must be an absolute path, got `{dir}`"));
    }
    Ok(RouterSpec { kind, dir })
}

fn parse_bluegreen(value: &Value) -> Result<BlueGreenSpec, String> {
    let map = value
        .as_mapping()
        .ok_or("expected a mapping with `router`, `port` and `drain`")?;
    for key in map.keys() {
        let key = key.as_str().unwrap_or("?");
        if !matches!(key, "router" | "port" | "drain") {
            return Err(format!(
                "unknown key `{key}`: expected `router`, `port` or `drain`"
            ));
        }
    }
    let router = map
        .get("router")
        .and_then(Value::as_str)
        .ok_or("expected `router`: the name of the router service")?
        .to_string();
    let port = match map.get("port") {
        None => 80,
        Some(value) => value
            .as_u64()
            .filter(|p| (1..=65535).contains(p))
            .ok_or("`port` must be a port number from 1 to 65535")? as u16,
    };
    let drain = match map.get("drain") {
        None => DEFAULT_DRAIN,
        Some(Value::String(text)) => parse_duration(text)?,
        Some(Value::Number(n)) if n.as_u64() == Some(0) => Duration::ZERO,
        Some(_) => return Err("`drain` must be a duration like `10s`".to_string()),
    };
    Ok(BlueGreenSpec {
        router,
        port,
        drain,
    })
}

/// Problems with the extension across the project, as (path, message), for
/// the loader's validation stage.
pub fn validate(project: &Project) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    for (name, service) in &project.services {
        let Some(ext) = extension(service) else {
            continue;
        };
        let path = format!("services.{name}.{EXTENSION}");
        if let Some(router) = ext.get("router") {
            if let Err(message) = parse_router(router) {
                problems.push((format!("{path}.router"), message));
            }
        }
        let Some(bluegreen) = ext.get("bluegreen") else {
            continue;
        };
        let bg_path = format!("{path}.bluegreen");
        match parse_bluegreen(bluegreen) {
            Err(message) => problems.push((bg_path, message)),
            Ok(spec) => match project.services.get(&spec.router) {
                None => problems.push((
                    format!("{bg_path}.router"),
                    format!("no service `{}` to route through", spec.router),
                )),
                Some(router) if router_spec(router).is_none() => problems.push((
                    format!("{bg_path}.router"),
                    format!(
                        "service `{}` is not declared as a router: add `{EXTENSION}: {{router: {{kind: nginx, dir: /etc/nginx/upstreams}}}}` to it",
                        spec.router
                    ),
                )),
                Some(_) if service.container_name.is_some() => problems.push((
                    format!("services.{name}.container_name"),
                    "a blue-green service runs two colors side by side: remove container_name"
                        .to_string(),
                )),
                Some(_) => {}
            },
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(ext: &str) -> Service {
        Service {
            name: "s".into(),
            extensions: [(EXTENSION.to_string(), serde_yaml::from_str(ext).unwrap())]
                .into_iter()
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn reads_router_and_bluegreen() {
        let router = router_spec(&service(
            "{router: {kind: nginx, dir: /etc/nginx/upstreams/}}",
        ));
        assert_eq!(
            router,
            Some(RouterSpec {
                kind: RouterKind::Nginx,
                dir: "/etc/nginx/upstreams".into()
            })
        );
        let bg = bluegreen_spec(&service("{bluegreen: {router: p, port: 8080, drain: 2s}}"));
        assert_eq!(
            bg,
            Some(BlueGreenSpec {
                router: "p".into(),
                port: 8080,
                drain: Duration::from_secs(2)
            })
        );
    }

    #[test]
    fn defaults_and_errors() {
        let bg = bluegreen_spec(&service("{bluegreen: {router: p}}")).unwrap();
        assert_eq!((bg.port, bg.drain), (80, DEFAULT_DRAIN));
        assert!(parse_bluegreen(&serde_yaml::from_str("{router: p, port: 0}").unwrap()).is_err());
        assert!(
            parse_bluegreen(&serde_yaml::from_str("{router: p, drian: 1s}").unwrap())
                .unwrap_err()
                .contains("unknown key `drian`")
        );
        assert!(parse_router(&serde_yaml::from_str("{kind: haproxy}").unwrap()).is_err());
        assert!(parse_router(&serde_yaml::from_str("{dir: relative}").unwrap()).is_err());
    }
}
