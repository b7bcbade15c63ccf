//! `service`, `ready`, `live` and `restart`: steps whose process keeps running while
//! their dependants run, with probes that say when a service may be used and that it
//! stays up (`engine::core` decides when to check and what a result means;
//! `exec::probe` checks). Read after the steps are resolved, routed and their caching
//! read, so the checks know each step's action, executor, cache and dependants.
use super::diag::{Reporter, StepLabel, did_you_mean};
use super::plan::{
    Action, ExecutorKind, ExecutorSpec, LiveProbe, ProbeCheck, ReadyProbe, RetryPolicy,
    ServiceSpec, Step,
};
use super::template::TemplateRef;
use super::tree::{Entry, Node, Span, Val};
use super::units::parse_duration;
use crate::Backoff;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

pub(crate) const READY_FIELDS: &[&str] = &["http", "tcp", "run", "interval", "timeout"];
pub(crate) const LIVE_FIELDS: &[&str] = &["http", "tcp", "run", "interval", "failures"];
pub(crate) const RESTART_FIELDS: &[&str] = &["attempts", "delay"];
const PROBES: [&str; 3] = ["http", "tcp", "run"];
/// How often `ready` checks unless its `interval` says otherwise.
pub(crate) const READY_INTERVAL: Duration = Duration::from_secs(1);
/// How long a service has to pass its readiness check unless `timeout` says otherwise.
pub(crate) const READY_TIMEOUT: Duration = Duration::from_secs(60);
pub(crate) const LIVE_INTERVAL: Duration = Duration::from_secs(10);
pub(crate) const LIVE_FAILURES: u32 = 3;
pub(crate) const RESTART_DELAY: Duration = Duration::from_secs(1);
const MAX_RESTARTS: i64 = 100;
const PROBE_EXAMPLES: &str = "http = \"http://127.0.0.1:8080/health\" (any 2xx answer), tcp = \"127.0.0.1:5432\" (a connection is accepted) or run = \"pg_isready\" (exits 0)";
const LOOPBACK_HINT: &str = "a service runs on this machine and baton probes it on loopback: 127.0.0.1 (or 127.x.x.x), [::1] or localhost";

pub(crate) struct ServiceReader<'r, 's> {
    pub r: &'r mut Reporter<'s>,
}

fn get<'n>(entries: &'n [Entry], key: &str) -> Option<&'n Node> {
    get_entry(entries, key).map(|e| &e.node)
}

fn get_entry<'n>(entries: &'n [Entry], key: &str) -> Option<&'n Entry> {
    entries.iter().find(|e| e.key == key)
}

impl ServiceReader<'_, '_> {
    /// Read each `[[step]]` table's service keys into `steps[i].service` (and its
    /// `restart` into `steps[i].retry`). `steps` are the resolved steps in file order,
    /// one per `[[step]]` table.
    pub(crate) fn apply(&mut self, top: &[Entry], steps: &mut [Step], executors: &[ExecutorSpec]) {
        let Some(Val::Array(items)) = get(top, "step").map(|n| &n.val) else {
            return;
        };
        let tables: Vec<&[Entry]> = items.iter().filter_map(Node::entries).collect();
        let mut dependants = vec![0usize; steps.len()];
        for s in steps.iter() {
            for &d in &s.needs {
                dependants[d] += 1;
            }
        }
        for (i, fields) in tables.iter().enumerate().take(steps.len()) {
            if let Some((spec, retry)) = self.step(fields, &steps[i], executors, dependants[i]) {
                let s = &mut steps[i];
                s.service = Some(Box::new(spec));
                s.retry = retry;
                // `[defaults]` timeout and cache are for steps that end.
                s.timeout = None;
                if s.cache.is_some() {
                    s.cache = None;
                }
            }
        }
        for (fields, step) in tables.iter().zip(steps.iter()) {
            self.no_service_outputs(fields, step, steps);
        }
    }

    fn step(
        &mut self,
        f: &[Entry],
        step: &Step,
        executors: &[ExecutorSpec],
        dependants: usize,
    ) -> Option<(ServiceSpec, RetryPolicy)> {
        let label = StepLabel(&step.id);
        let service = get(f, "service");
        let on = match service.map(|n| (n, &n.val)) {
            Some((_, Val::Bool(b))) => *b,
            Some((n, _)) => {
                self.r.error(
                    &n.span,
                    format!("`service` of {label} must be a boolean, found {}", n.kind()),
                    "write service = true (without quotes) for a step that keeps running while its dependants run",
                );
                // One complaint per mistake: its probes are not also "no effect".
                return None;
            }
            None => false,
        };
        let Some(service) = service.filter(|_| on) else {
            for key in ["ready", "live", "restart"] {
                if let Some(e) = get_entry(f, key) {
                    let hint = if key == "restart" {
                        "a step that is not a service is run again by `retry = { attempts = N }`; or add service = true".to_string()
                    } else {
                        format!(
                            "add service = true (a process that keeps running while its dependants run), or remove `{key}`"
                        )
                    };
                    self.r.error(
                        &e.key_span,
                        format!("`{key}` of {label} has no effect: the step is not a service"),
                        hint,
                    );
                }
            }
            return None;
        };
        match &step.action {
            // `child_keys` refused a child run's `service` already.
            Action::Shell { .. } | Action::Tool { .. } | Action::Workflow { .. } => {}
            Action::Builtin(b) => {
                let span = get(f, "uses").map_or(service.span.clone(), |n| n.span.clone());
                self.r.error(
                    &span,
                    format!("{label} is a service, but {} runs inside the engine", b.name()),
                    "a service is a process baton starts and probes: give it run = \"…\" (or a declared tool)",
                );
            }
            Action::None => self.r.error(
                &service.span,
                format!("{label} is a service but runs nothing"),
                "give it run = \"…\": the command that starts the service and keeps running",
            ),
        }
        if let Some(e) = step.executor.and_then(|e| executors.get(e))
            && !matches!(e.kind, ExecutorKind::Local)
        {
            let span = get(f, "executor")
                .or_else(|| get(f, "requires"))
                .map_or(service.span.clone(), |n| n.span.clone());
            self.r.error(
                &span,
                format!(
                    "{label} is a service on the {} executor `{}`",
                    e.kind.as_str(),
                    e.name
                ),
                format!("{LOOPBACK_HINT}: run it locally (no `executor` or `requires` on it)"),
            );
        }
        if dependants == 0 {
            self.r.error(
                &service.span,
                format!("{label} is a service, but no step needs it"),
                format!(
                    "a service runs while the steps that need it run: add \"{}\" to their `needs`, or remove `service = true`",
                    step.id
                ),
            );
        }
        let label = label.to_string();
        self.not_on_a_service(f, step, &label);
        let ready = get(f, "ready").and_then(|n| self.ready(n, &label));
        let live = get(f, "live").and_then(|n| self.live(n, &label));
        let retry =
            get(f, "restart").map_or_else(RetryPolicy::default, |n| self.restart(n, &label));
        Some((ServiceSpec { ready, live }, retry))
    }

    /// Keys that mean nothing (or something wrong) on a service.
    fn not_on_a_service(&mut self, f: &[Entry], step: &Step, label: &str) {
        let refuse = |l: &mut Self, key: &str, hint: &str| {
            if let Some(e) = get_entry(f, key) {
                l.r.error(
                    &e.key_span,
                    format!("`{key}` on {label}, which is a service"),
                    hint.to_string(),
                );
            }
        };
        if step.cache.is_some() {
            let hint = "a service is not cached: it keeps running while its dependants run (`[defaults] cache` does not apply to services); remove it";
            if get_entry(f, "cache").is_some() {
                refuse(self, "cache", hint);
            } else {
                refuse(self, "inputs", hint);
                refuse(self, "produces", hint);
            }
        }
        refuse(
            self,
            "timeout",
            "a service runs until no step needs it; bound its start with ready = { …, timeout = \"30s\" }",
        );
        refuse(
            self,
            "retry",
            "a service that fails is started again by restart = { attempts = N }",
        );
        refuse(
            self,
            "outputs",
            "a service's outputs would be read when it ends, after its dependants ran: give them what they need through `env`, a file or a fixed port",
        );
    }

    fn ready(&mut self, n: &Node, label: &str) -> Option<ReadyProbe> {
        let what = format!("`ready` of {label}");
        let (entries, check) = self.probe_table(n, "ready", &what, READY_FIELDS)?;
        let interval = self.duration_key(entries, "interval", &what, READY_INTERVAL);
        let timeout = self.duration_key(entries, "timeout", &what, READY_TIMEOUT);
        Some(ReadyProbe {
            check: check?,
            interval: interval?,
            timeout: timeout?,
        })
    }

    fn live(&mut self, n: &Node, label: &str) -> Option<LiveProbe> {
        let what = format!("`live` of {label}");
        let (entries, check) = self.probe_table(n, "live", &what, LIVE_FIELDS)?;
        let interval = self.duration_key(entries, "interval", &what, LIVE_INTERVAL);
        let failures = match get(entries, "failures") {
            None => Some(LIVE_FAILURES),
            Some(f) => match f.val {
                Val::Int(v) if v >= 1 => Some(v.min(u32::MAX as i64) as u32),
                Val::Int(v) => {
                    self.r.error(
                        &f.span,
                        format!("`failures` in {what} must be at least 1, found {v}"),
                        "the number of failed checks in a row that make the service failed, e.g. failures = 3",
                    );
                    None
                }
                _ => {
                    self.r.error(
                        &f.span,
                        format!(
                            "`failures` in {what} must be an integer, found {}",
                            f.kind()
                        ),
                        "write a whole number without quotes, e.g. failures = 3",
                    );
                    None
                }
            },
        };
        Some(LiveProbe {
            check: check?,
            interval: interval?,
            failures: failures?,
        })
    }

    /// The table's entries and its one probe (`None` inside when the probe is wrong).
    fn probe_table<'n>(
        &mut self,
        n: &'n Node,
        key: &str,
        what: &str,
        fields: &[&str],
    ) -> Option<(&'n [Entry], Option<ProbeCheck>)> {
        let Some(entries) = n.entries() else {
            self.r.error(
                &n.span,
                format!("{what} must be a table, found {}", n.kind()),
                format!("write it as {key} = {{ tcp = \"127.0.0.1:5432\" }}"),
            );
            return None;
        };
        for e in entries {
            if !fields.contains(&e.key.as_str()) {
                self.r.error(
                    &e.key_span,
                    format!("unknown field `{}` in {what}", e.key),
                    did_you_mean(&e.key, fields, "allowed fields"),
                );
            }
        }
        let probes: Vec<&Entry> = entries
            .iter()
            .filter(|e| PROBES.contains(&e.key.as_str()))
            .collect();
        let check = match probes.as_slice() {
            [] => {
                self.r.error(
                    &n.span,
                    format!("{what} names no probe"),
                    format!("add one of {PROBE_EXAMPLES}"),
                );
                None
            }
            [one] => self.check(one, key, what),
            [first, second, ..] => {
                self.r.error(
                    &second.key_span,
                    format!(
                        "{what} has two probes, `{}` and `{}`",
                        first.key, second.key
                    ),
                    "a probe table checks one thing: keep one of them",
                );
                None
            }
        };
        Some((entries, check))
    }

    fn check(&mut self, e: &Entry, key: &str, what: &str) -> Option<ProbeCheck> {
        let Val::Str(text) = &e.node.val else {
            self.r.error(
                &e.node.span,
                format!(
                    "`{}` in {what} must be a string, found {}",
                    e.key,
                    e.node.kind()
                ),
                format!("write one of {PROBE_EXAMPLES}"),
            );
            return None;
        };
        let at = |why: String| (e.node.span.clone(), why);
        let result = match e.key.as_str() {
            "http" => parse_http(text).map_err(|why| {
                let (span, why) = at(why.to_string());
                (span, format!("`{key}.http` of {}: `{text}` {why}", rest(what)), format!(
                    "write a plain http URL such as \"http://127.0.0.1:8080/health\"; {LOOPBACK_HINT}"
                ))
            }),
            "tcp" => parse_addr(text, None)
                .map(|(addr, _)| ProbeCheck::Tcp {
                    text: text.to_string(),
                    addr,
                })
                .map_err(|why| {
                    let (span, why) = at(why.to_string());
                    (span, format!("`{key}.tcp` of {}: `{text}` {why}", rest(what)), format!(
                        "write an address and port such as \"127.0.0.1:5432\"; {LOOPBACK_HINT}"
                    ))
                }),
            _ => run_probe(text).map_err(|(why, hint)| {
                let (span, why) = at(why);
                (span, format!("`{key}.run` of {}: {why}", rest(what)), hint.to_string())
            }),
        };
        match result {
            Ok(c) => Some(c),
            Err((span, message, hint)) => {
                self.r.error(&span, message, hint);
                None
            }
        }
    }

    /// A duration in a probe table: given and valid, or its default.
    fn duration_key(
        &mut self,
        entries: &[Entry],
        key: &str,
        what: &str,
        default: Duration,
    ) -> Option<Duration> {
        let Some(n) = get(entries, key) else {
            return Some(default);
        };
        self.duration(n, &format!("`{key}` in {what}"), key)
    }

    fn duration(&mut self, n: &Node, what: &str, key: &str) -> Option<Duration> {
        let example = format!(
            "write a duration such as {key} = \"500ms\" or \"30s\" (units: ms, s, m, h, d)"
        );
        let Val::Str(s) = &n.val else {
            self.r.error(
                &n.span,
                format!("{what} must be a duration string, found {}", n.kind()),
                example,
            );
            return None;
        };
        match parse_duration(s) {
            Ok(d) if d.is_zero() => {
                self.r.error(
                    &n.span,
                    format!("{what} must be longer than zero, found \"{s}\""),
                    example,
                );
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                let e = e.to_string();
                self.r.error(
                    &n.span,
                    format!("{what}: {}", e.split("; write").next().unwrap_or(&e)),
                    example,
                );
                None
            }
        }
    }

    fn restart(&mut self, n: &Node, label: &str) -> RetryPolicy {
        let what = format!("`restart` of {label}");
        let Some(entries) = n.entries() else {
            self.r.error(
                &n.span,
                format!("{what} must be a table, found {}", n.kind()),
                "write it as restart = { attempts = 3 }",
            );
            return RetryPolicy::default();
        };
        for e in entries {
            if !RESTART_FIELDS.contains(&e.key.as_str()) {
                self.r.error(
                    &e.key_span,
                    format!("unknown field `{}` in {what}", e.key),
                    did_you_mean(&e.key, RESTART_FIELDS, "allowed fields"),
                );
            }
        }
        let restarts = match get(entries, "attempts") {
            None => {
                self.r.error(
                    &n.span,
                    format!("{what} does not say how often"),
                    "add attempts = N: how many times a failed service is started again",
                );
                0
            }
            Some(a) => match a.val {
                Val::Int(v) if (1..=MAX_RESTARTS).contains(&v) => v as u32,
                Val::Int(v) => {
                    self.r.error(
                        &a.span,
                        format!("`attempts` in {what} must be 1 to {MAX_RESTARTS}, found {v}"),
                        "restart = { attempts = 3 } starts a failed service again up to three times; leave `restart` out for none",
                    );
                    0
                }
                _ => {
                    self.r.error(
                        &a.span,
                        format!(
                            "`attempts` in {what} must be an integer, found {}",
                            a.kind()
                        ),
                        "write a whole number without quotes, e.g. attempts = 3",
                    );
                    0
                }
            },
        };
        let delay = get(entries, "delay")
            .and_then(|d| self.duration(d, &format!("`delay` in {what}"), "delay"))
            .unwrap_or(RESTART_DELAY);
        RetryPolicy {
            attempts: restarts + 1,
            backoff: Backoff::Fixed,
            delay,
            max_delay: delay,
            jitter: false,
            hold_when_exhausted: false,
        }
    }

    /// A template may not read a service's outputs: they are read when it ends.
    fn no_service_outputs(&mut self, f: &[Entry], step: &Step, steps: &[Step]) {
        let templates = step
            .env
            .iter()
            .map(|(k, t)| ("env", k.as_str(), t))
            .chain(step.with.iter().map(|(k, t)| ("with", k.as_str(), t)))
            .chain(step.gate.iter().map(|g| ("gate", "prompt", &g.prompt)));
        for (table, key, t) in templates {
            for r in t.refs() {
                let TemplateRef::StepOutput {
                    step: s, step_id, ..
                } = r
                else {
                    continue;
                };
                if steps.get(*s).is_none_or(|s| s.service.is_none()) {
                    continue;
                }
                let span: Span = get(f, table)
                    .and_then(Node::entries)
                    .and_then(|e| get(e, key))
                    .map_or(0..0, |n| n.span.clone());
                self.r.error(
                    &span,
                    format!(
                        "step `{}` reads an output of `{step_id}`, which is a service",
                        step.id
                    ),
                    "a service's outputs are read only when it ends, after its dependants ran: give them what they need through `env`, a file or a fixed port",
                );
            }
        }
    }
}

/// "`ready` of step `x`" → "step `x`".
fn rest(what: &str) -> &str {
    what.split_once(" of ").map_or(what, |(_, r)| r)
}

fn run_probe(text: &str) -> Result<ProbeCheck, (String, &'static str)> {
    if text.trim().is_empty() {
        return Err((
            "the command is empty".into(),
            "give the command that exits 0 once the service answers, e.g. run = \"pg_isready\"",
        ));
    }
    if text.contains("${{") {
        return Err((
            "contains a template (\"${{ … }}\"); templates are not expanded in commands".into(),
            "the check runs with the service's environment: read the value from a variable set in its `env`; values never become shell code",
        ));
    }
    if text.contains('\0') {
        return Err((
            "contains a NUL byte (\\u0000)".into(),
            "remove the \\u0000 escape: commands cannot hold NUL bytes",
        ));
    }
    Ok(ProbeCheck::Run {
        command: text.to_string(),
    })
}

/// Why a probe's URL or address was refused: the end of a sentence that starts with
/// the text as written (the loader adds where, and what would be right).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ProbeAddrError {
    #[error("uses https, which a probe does not speak")]
    Https,
    #[error("is not an http:// URL")]
    NotHttp,
    #[error("contains a space or a control character")]
    Space,
    #[error("has a fragment (#…), which is never sent")]
    Fragment,
    #[error("has a user name, which a probe does not send")]
    UserName,
    #[error("has a `[` without its `]`")]
    Unclosed,
    #[error("has text after `]` that is not `:PORT`")]
    AfterBracket,
    #[error("has port `{0}`, not a port number (1 to 65535)")]
    BadPort(String),
    #[error("has no port")]
    NoPort,
    #[error("has no host")]
    NoHost,
    #[error("names host `{0}`, which is not an IP address or localhost")]
    NotAnIp(String),
    #[error("names {0}, which is not a loopback address")]
    NotLoopback(IpAddr),
}

/// `http://HOST[:PORT][/PATH]` with a loopback host: the check's address, `Host`
/// header and path, or why not.
pub(crate) fn parse_http(url: &str) -> Result<ProbeCheck, ProbeAddrError> {
    let Some(rest) = url.strip_prefix("http://") else {
        return Err(if url.starts_with("https://") {
            ProbeAddrError::Https
        } else {
            ProbeAddrError::NotHttp
        });
    };
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ProbeAddrError::Space);
    }
    if url.contains('#') {
        return Err(ProbeAddrError::Fragment);
    }
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split);
    if authority.contains('@') {
        return Err(ProbeAddrError::UserName);
    }
    let (addr, host) = parse_addr(authority, Some(80))?;
    let path = match path {
        "" => "/".to_string(),
        p if p.starts_with('?') => format!("/{p}"),
        p => p.to_string(),
    };
    Ok(ProbeCheck::Http {
        url: url.to_string(),
        addr,
        host,
        path,
    })
}

/// `HOST:PORT` (`[::1]:PORT`; the port may be left out when `default_port` is given)
/// with a loopback host: the address and the host text as written with its port.
pub(crate) fn parse_addr(
    s: &str,
    default_port: Option<u16>,
) -> Result<(SocketAddr, String), ProbeAddrError> {
    let (host, port) = if let Some(v6) = s.strip_prefix('[') {
        let (h, after) = v6.split_once(']').ok_or(ProbeAddrError::Unclosed)?;
        match after {
            "" => (h, None),
            p => (
                h,
                Some(p.strip_prefix(':').ok_or(ProbeAddrError::AfterBracket)?),
            ),
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    let port = match (port, default_port) {
        (Some(p), _) => match p.parse::<u16>() {
            Ok(0) | Err(_) => {
                return Err(ProbeAddrError::BadPort(p.to_string()));
            }
            Ok(p) => p,
        },
        (None, Some(d)) => d,
        (None, None) => return Err(ProbeAddrError::NoPort),
    };
    let ip: IpAddr = if host.eq_ignore_ascii_case("localhost") {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else if host.is_empty() {
        return Err(ProbeAddrError::NoHost);
    } else {
        host.parse()
            .map_err(|_| ProbeAddrError::NotAnIp(host.to_string()))?
    };
    if !ip.is_loopback() {
        return Err(ProbeAddrError::NotLoopback(ip));
    }
    let shown = match ip {
        IpAddr::V6(_) if !host.eq_ignore_ascii_case("localhost") => format!("[{host}]:{port}"),
        _ => format!("{host}:{port}"),
    };
    Ok((SocketAddr::new(ip, port), shown))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_urls_are_loopback_plain_http() {
        let ProbeCheck::Http {
            addr, host, path, ..
        } = parse_http("http://127.0.0.1:8080/health?full=1").unwrap()
        else {
            panic!("http")
        };
        assert_eq!(addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(host, "127.0.0.1:8080");
        assert_eq!(path, "/health?full=1");
        let ProbeCheck::Http {
            addr, host, path, ..
        } = parse_http("http://localhost").unwrap()
        else {
            panic!("http")
        };
        assert_eq!(
            (addr.port(), host.as_str(), path.as_str()),
            (80, "localhost:80", "/")
        );
        let ProbeCheck::Http { addr, host, .. } = parse_http("http://[::1]:9000/").unwrap() else {
            panic!("http")
        };
        assert!(addr.is_ipv6());
        assert_eq!(host, "[::1]:9000");
        for (bad, why) in [
            ("https://127.0.0.1/", "https"),
            ("ftp://127.0.0.1/", "not an http"),
            ("http://10.0.0.1:80/", "not a loopback"),
            ("http://example.com/", "not an IP address"),
            ("http://127.0.0.1:99999/", "port"),
            ("http://127.0.0.1:0/", "port"),
            ("http://u@127.0.0.1/", "user name"),
            ("http://127.0.0.1/a b", "space"),
            ("http://127.0.0.1/#x", "fragment"),
            ("http://[::1/", "`]`"),
            ("http:///health", "no host"),
        ] {
            let e = parse_http(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn tcp_addresses_need_a_loopback_host_and_a_port() {
        assert_eq!(
            parse_addr("127.0.0.1:5432", None).unwrap().0,
            "127.0.0.1:5432".parse().unwrap()
        );
        assert_eq!(parse_addr("localhost:1", None).unwrap().0.port(), 1);
        assert!(
            parse_addr("127.0.0.1", None)
                .unwrap_err()
                .to_string()
                .contains("no port")
        );
        assert!(
            parse_addr("0.0.0.0:80", None)
                .unwrap_err()
                .to_string()
                .contains("loopback")
        );
        assert!(parse_addr("[::1]x", None).is_err());
    }
}
