//! Which `Host` the listener's own routes (`/metrics`, `/healthz`, `/ready`) answer: a
//! page of another site that points its name at the listener's address (DNS
//! rebinding) makes the browser send that name, so only names that cannot be another
//! site's are answered; any other is `421 Misdirected Request`.
use std::net::IpAddr;

/// Whether a request head's `Host` may read the listener's routes: none given (not a
/// browser), an IP address, `localhost`, this machine's host name, or `page_host` (the
/// approval page's origin host), with any port.
pub(crate) fn allowed(head: &str, page_host: Option<&str>) -> bool {
    let mut hosts = head.split("\r\n").skip(1).filter_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("host")
            .then(|| value.trim())
    });
    let Some(host) = hosts.next() else {
        return true;
    };
    if hosts.next().is_some() {
        return false;
    }
    let Some(name) = name_of(host) else {
        return false;
    };
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.parse::<IpAddr>().is_ok() || name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    page_host.is_some_and(|h| name.eq_ignore_ascii_case(h))
        || nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .is_some_and(|h| !h.is_empty() && name.eq_ignore_ascii_case(&h))
}

/// The name in a `Host` value (`NAME`, `NAME:PORT`, `[V6]`, `[V6]:PORT`), or `None`
/// when it is not one of those.
fn name_of(host: &str) -> Option<&str> {
    let (name, port) = match host.strip_prefix('[') {
        Some(v6) => {
            let (addr, after) = v6.split_once(']')?;
            addr.parse::<std::net::Ipv6Addr>().ok()?;
            (addr, after.strip_prefix(':').unwrap_or(after))
        }
        None => host.split_once(':').unwrap_or((host, "")),
    };
    let port_ok = port.is_empty() || port.parse::<u16>().is_ok();
    (port_ok && !name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked(host: &str) -> String {
        format!("GET /metrics HTTP/1.1\r\nHost: {host}\r\nAccept: */*")
    }

    #[test]
    fn addresses_localhost_and_the_page_s_host_are_answered() {
        for host in [
            "127.0.0.1:9464",
            "10.1.2.3",
            "[::1]:9464",
            "localhost:9464",
            "LOCALHOST",
            "baton.example.ts.net",
            "baton.example.ts.net:443",
        ] {
            assert!(
                allowed(&asked(host), Some("baton.example.ts.net")),
                "{host}"
            );
        }
        assert!(
            allowed("GET /healthz HTTP/1.0", None),
            "no Host: not a browser"
        );
    }

    #[test]
    fn another_site_s_name_is_not() {
        for host in [
            "evil.example",
            "evil.example:9464",
            "127.0.0.1.evil.example",
            "localhost.evil.example",
            "baton.example.ts.net.evil.example",
            "127.0.0.1:x",
            "[::1",
            "",
        ] {
            assert!(
                !allowed(&asked(host), Some("baton.example.ts.net")),
                "{host}"
            );
        }
        let twice = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example";
        assert!(!allowed(twice, None));
    }
}
