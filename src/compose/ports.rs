//! Port specifications: the short syntax
//! `[HOST_IP:][HOST_PORT[-END]:]CONTAINER_PORT[-END][/PROTOCOL]`, expanded so
//! each mapping is one container port.

use super::model::{PortMapping, Protocol};

/// Parse one short-syntax port entry into one mapping per container port.
pub fn parse_short(spec: &str) -> Result<Vec<PortMapping>, String> {
    let spec = spec.trim();
    let (rest, protocol) = split_protocol(spec)?;
    let (host_ip, host_part, container_part) = split_parts(rest, spec)?;
    let container = parse_range(container_part, "container port")?;
    let published = match host_part {
        Some(text) if !text.is_empty() => Some(parse_range(text, "host port")?),
        _ => None,
    };
    expand(container, published, host_ip, protocol)
}

/// Parse a protocol name (`tcp`, `udp`, `sctp`).
pub fn parse_protocol(text: &str) -> Result<Protocol, String> {
    match text.to_ascii_lowercase().as_str() {
        "tcp" => Ok(Protocol::Tcp),
        "udp" => Ok(Protocol::Udp),
        "sctp" => Ok(Protocol::Sctp),
        _ => Err(format!(
            "unknown protocol `{text}`: expected tcp, udp or sctp"
        )),
    }
}

/// A port or a `START-END` range, inclusive.
pub fn parse_range(text: &str, what: &str) -> Result<(u16, u16), String> {
    let parse_port = |part: &str| -> Result<u16, String> {
        match part.trim().parse::<u32>() {
            Ok(port) if (1..=65535).contains(&port) => Ok(port as u16),
            Ok(port) => Err(format!(
                "{what} {port} is out of range: expected 1 to 65535"
            )),
            Err(_) => Err(format!(
                "invalid {what} `{part}`: expected a number from 1 to 65535"
            )),
        }
    };
    match text.split_once('-') {
        Some((start, end)) => {
            let (start, end) = (parse_port(start)?, parse_port(end)?);
            if start > end {
                return Err(format!(
                    "invalid {what} range `{text}`: the start is above the end"
                ));
            }
            Ok((start, end))
        }
        None => {
            let port = parse_port(text)?;
            Ok((port, port))
        }
    }
}

fn split_protocol(spec: &str) -> Result<(&str, Protocol), String> {
    match spec.rsplit_once('/') {
        Some((rest, protocol)) => Ok((rest, parse_protocol(protocol)?)),
        None => Ok((spec, Protocol::Tcp)),
    }
}

/// Split into (host IP, host port part, container port part). IPv6 host
/// addresses must be bracketed: `[::1]:8080:80`.
fn split_parts<'a>(
    rest: &'a str,
    spec: &str,
) -> Result<(Option<String>, Option<&'a str>, &'a str), String> {
    if let Some(stripped) = rest.strip_prefix('[') {
        let (ip, after) = stripped
            .split_once(']')
            .ok_or_else(|| format!("invalid port `{spec}`: unclosed `[` in the host address"))?;
        let after = after
            .strip_prefix(':')
            .ok_or_else(|| format!("invalid port `{spec}`: expected `:` after `[{ip}]`"))?;
        let (host, container) = after.split_once(':').ok_or_else(|| {
            format!("invalid port `{spec}`: expected `[IP]:HOST_PORT:CONTAINER_PORT`")
        })?;
        return Ok((Some(ip.to_string()), Some(host), container));
    }
    let parts: Vec<&str> = rest.split(':').collect();
    match parts.as_slice() {
        [container] => Ok((None, None, container)),
        [host, container] => Ok((None, Some(host), container)),
        [ip, host, container] => {
            if ip.parse::<std::net::Ipv4Addr>().is_err() {
                return Err(format!(
                    "invalid host address `{ip}` in port `{spec}`: expected an IPv4 address or `[IPv6]`"
                ));
            }
            Ok((Some(ip.to_string()), Some(host), container))
        }
        _ => Err(format!(
            "invalid port `{spec}`: expected `[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]`"
        )),
    }
}

fn expand(
    container: (u16, u16),
    published: Option<(u16, u16)>,
    host_ip: Option<String>,
    protocol: Protocol,
) -> Result<Vec<PortMapping>, String> {
    let count = container.1 - container.0;
    if let Some(host) = published {
        if host.1 - host.0 != count {
            return Err(format!(
                "host port range {}-{} and container port range {}-{} differ in length",
                host.0, host.1, container.0, container.1
            ));
        }
    }
    Ok((0..=count)
        .map(|offset| PortMapping {
            target: container.0 + offset,
            published: published.map(|host| host.0 + offset),
            host_ip: host_ip.clone(),
            protocol,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(
        target: u16,
        published: Option<u16>,
        ip: Option<&str>,
        protocol: Protocol,
    ) -> PortMapping {
        PortMapping {
            target,
            published,
            host_ip: ip.map(str::to_string),
            protocol,
        }
    }

    #[test]
    fn short_forms() {
        assert_eq!(
            parse_short("80").unwrap(),
            vec![one(80, None, None, Protocol::Tcp)]
        );
        assert_eq!(
            parse_short("8080:80").unwrap(),
            vec![one(80, Some(8080), None, Protocol::Tcp)]
        );
        assert_eq!(
            parse_short("127.0.0.1:8080:80/udp").unwrap(),
            vec![one(80, Some(8080), Some("127.0.0.1"), Protocol::Udp)]
        );
        assert_eq!(
            parse_short("[::1]:8080:80").unwrap(),
            vec![one(80, Some(8080), Some("::1"), Protocol::Tcp)]
        );
        assert_eq!(
            parse_short("127.0.0.1::80").unwrap(),
            vec![one(80, None, Some("127.0.0.1"), Protocol::Tcp)]
        );
    }

    #[test]
    fn ranges_expand_pairwise() {
        assert_eq!(
            parse_short("9000-9001:80-81").unwrap(),
            vec![
                one(80, Some(9000), None, Protocol::Tcp),
                one(81, Some(9001), None, Protocol::Tcp)
            ]
        );
        assert_eq!(parse_short("3000-3002").unwrap().len(), 3);
    }

    #[test]
    fn bad_ports_say_what_was_expected() {
        let cases = [
            ("0", "out of range"),
            ("70000", "out of range"),
            ("80:abc", "invalid container port"),
            ("81-80", "start is above the end"),
            ("9000-9002:80-81", "differ in length"),
            ("80/xtp", "unknown protocol"),
            ("1:2:3:4", "expected `[HOST_IP:]"),
            ("host:80:80", "invalid host address"),
            ("[::1:80:80", "unclosed"),
        ];
        for (spec, expected) in cases {
            let err = parse_short(spec).unwrap_err();
            assert!(err.contains(expected), "{spec}: {err}");
        }
    }
}
