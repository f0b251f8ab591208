//! Telling a router where to send a service's traffic. The file is written
//! inside the router container through exec, checked, and only then loaded;
//! a file the router refuses is never left in place.
//!
//! One kind today (nginx); `Router` is the seam where others plug in.

use super::spec::{RouterKind, RouterSpec};
use crate::engine::{Engine, EngineError};
use std::time::Instant;

/// A router container and how to drive it.
pub struct Router<'a> {
    engine: &'a Engine,
    spec: RouterSpec,
    container: String,
}

/// Suffix of the copy kept while a new file is checked.
const BACKUP: &str = ".stackctl-bak";

impl<'a> Router<'a> {
    pub fn new(engine: &'a Engine, spec: RouterSpec, container: String) -> Router<'a> {
        Router {
            engine,
            spec,
            container,
        }
    }

    pub fn container(&self) -> &str {
        &self.container
    }

    fn file(&self, service: &str) -> String {
        format!("{}/{service}.conf", self.spec.dir)
    }

    /// Point `service`'s traffic at `servers` (`host:port`). Returns how long
    /// the write + check + reload took.
    pub async fn point(
        &self,
        service: &str,
        servers: &[String],
    ) -> Result<std::time::Duration, EngineError> {
        let started = Instant::now();
        match self.spec.kind {
            RouterKind::Nginx => self.point_nginx(service, servers).await?,
        }
        Ok(started.elapsed())
    }

    /// One exec does it all, so a switch costs one round trip: keep the
    /// current file, write the new one atomically (tmp + mv), `nginx -t`
    /// (a bad config is refused and the old one keeps running), then a
    /// graceful reload (old workers finish their in-flight requests). On any
    /// failure the previous file is put back.
    async fn point_nginx(&self, service: &str, servers: &[String]) -> Result<(), EngineError> {
        let file = self.file(service);
        let content = nginx_upstream(service, servers);
        let script = r#"f="$1"; bak="$f$3"
restore() { if [ -f "$bak" ]; then mv "$bak" "$f"; else rm -f "$f"; fi; }
mkdir -p "$(dirname "$f")" || exit 10
if [ -f "$f" ]; then cp "$f" "$bak" || exit 10; else rm -f "$bak"; fi
printf '%s' "$2" > "$f.tmp" && mv "$f.tmp" "$f" || { restore; exit 10; }
if ! out=$(nginx -t 2>&1); then restore; echo "$out" >&2; exit 11; fi
if ! out=$(nginx -s reload 2>&1); then restore; echo "$out" >&2; exit 12; fi
rm -f "$bak""#;
        let mut command = vec![
            "sh".to_string(),
            "-c".to_string(),
            script.to_string(),
            "sh".to_string(),
        ];
        command.extend([file, content, BACKUP.to_string()]);
        let output = self
            .engine
            .exec(&self.container, &command, &[], None, None, false)
            .await?;
        let step = match output.exit_code {
            0 => return Ok(()),
            10 => "writing the upstream file",
            11 => "nginx -t refused the new upstream file (the previous one was restored)",
            12 => "nginx -s reload failed (the previous file was restored)",
            _ => "the switch script",
        };
        Err(EngineError::Other(format!(
            "router {}: {step}: {}",
            self.container,
            format!("{}{}", output.stderr, output.stdout).trim()
        )))
    }

    /// The servers currently in `service`'s file (empty when there is none).
    pub async fn current(&self, service: &str) -> Result<Vec<String>, EngineError> {
        let text = self
            .engine
            .read_file(&self.container, &self.file(service))
            .await?;
        Ok(text.map(|text| parse_servers(&text)).unwrap_or_default())
    }
}

/// The include file for `upstream <service> { include …; }`.
pub fn nginx_upstream(service: &str, servers: &[String]) -> String {
    let mut text = format!("# written by stackctl: where {service}'s traffic goes\n");
    for server in servers {
        text.push_str(&format!("server {server};\n"));
    }
    text
}

/// `server a:80;` lines back to `a:80`.
pub fn parse_servers(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let rest = line.strip_prefix("server ")?;
            let address = rest.trim_end_matches(';').split_whitespace().next()?;
            Some(address.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_files_round_trip() {
        let servers = vec![
            "p-app-green-1:80".to_string(),
            "p-app-green-2:80".to_string(),
        ];
        let text = nginx_upstream("app", &servers);
        assert!(text.contains("server p-app-green-1:80;\n"));
        assert_eq!(parse_servers(&text), servers);
        assert_eq!(parse_servers("server x:1 max_fails=0;\n# c\n"), vec!["x:1"]);
        assert!(parse_servers("").is_empty());
    }
}
