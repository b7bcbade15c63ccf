//! A webhook delivery to `baton serve` (issue 81): its signature checked against the
//! trigger's secret, its age against its timestamp, and its JSON body's fields mapped to
//! the workflow's typed params and checked as `baton run --param` checks them. Pure:
//! the HTTP side (`baton::hooks`) reads the request, the serve (`serve::hooks`) reads the
//! secret and makes the run. A refusal says what to fix and never holds the secret.
use baton_model::Timestamp;
use baton_workflow::{
    EventTrigger, ParamSpec, Pick, Problem, Values, event_params, resolve_values,
};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::BTreeMap;

/// The most a delivery's body may hold: GitHub caps its payloads at 25 MiB, but a
/// workflow's params are at most 64 KiB each; 1 MiB holds every event GitHub documents
/// but the largest push events. A longer body is refused unread (413).
pub const MAX_BODY: usize = 1024 * 1024;
/// A delivery whose timestamp header is older than this (or this far in the future) is
/// refused: a captured request cannot be replayed after it.
pub const MAX_AGE_SECS: i64 = 300;
/// The signature header, as GitHub sends it: `sha256=` and the HMAC-SHA256 of the raw
/// body, in hex.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";
/// The delivery id headers: the id is kept with the event and its run (a param may map
/// it), not its key (see [`event_key`]).
pub const DELIVERY_HEADERS: [&str; 2] = ["x-github-delivery", "x-baton-delivery"];
/// The optional timestamp header: seconds since the epoch.
pub const TIMESTAMP_HEADER: &str = "x-baton-timestamp";
/// The longest delivery id kept (GitHub's are 36-character GUIDs).
pub const MAX_DELIVERY: usize = 200;

/// Why a delivery is refused: its HTTP status, its reason as `baton_trigger_refusals_total`
/// labels it, and what to fix (never the secret, never the body).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("no workflow `{0}` is served here (or it has no webhook trigger of that name)")]
    Unknown(String),
    #[error(
        "the request has no X-Hub-Signature-256 header: sign the body with the trigger's secret (sha256=HEX of HMAC-SHA256)"
    )]
    MissingSignature,
    #[error(
        "the X-Hub-Signature-256 header does not match the body: sign the exact body with the trigger's secret (sha256=HEX of HMAC-SHA256)"
    )]
    BadSignature,
    #[error(
        "the request has no delivery id: send X-GitHub-Delivery or X-Baton-Delivery (1 to {MAX_DELIVERY} visible ASCII characters), a new one per event"
    )]
    NoDelivery,
    #[error("X-Baton-Timestamp {0}: {1}")]
    Timestamp(String, String),
    #[error("the body is over {MAX_BODY} bytes")]
    TooLarge,
    #[error("{0}")]
    Body(String),
    #[error("{0}")]
    Params(String),
    /// Fixed words: why is for the serve's log only (a command's argv or its standard
    /// error are the operator's, not a sender's).
    #[error("the trigger's secret cannot be read now; send it again later")]
    Secret,
    #[error("the delivery is refused on record: {0}")]
    Recorded(String),
    #[error("the serve cannot take deliveries now: {0}; send it again later")]
    Unavailable(String),
    /// The trigger's bounded queue of pending events is full (counted where it is
    /// refused, in the transaction that looks at the queue).
    #[error("{0}; send it again later")]
    QueueFull(String),
}

impl Refusal {
    /// The status line's code and words.
    pub fn status(&self) -> &'static str {
        match self {
            Refusal::Unknown(_) => "404 Not Found",
            Refusal::MissingSignature | Refusal::BadSignature => "401 Unauthorized",
            Refusal::NoDelivery | Refusal::Timestamp(..) | Refusal::Body(_) => "400 Bad Request",
            Refusal::TooLarge => "413 Content Too Large",
            Refusal::Params(_) | Refusal::Recorded(_) => "422 Unprocessable Content",
            Refusal::Secret | Refusal::Unavailable(_) => "503 Service Unavailable",
            Refusal::QueueFull(_) => "429 Too Many Requests",
        }
    }

    /// The `reason` label of `baton_trigger_refusals_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::Unknown(_) => "unknown",
            Refusal::MissingSignature => "missing_signature",
            Refusal::BadSignature => "bad_signature",
            Refusal::NoDelivery => "no_delivery",
            Refusal::Timestamp(..) => "old_timestamp",
            Refusal::TooLarge => "too_large",
            Refusal::Body(_) => "bad_body",
            Refusal::Params(_) => "bad_param",
            Refusal::Recorded(_) => "refused",
            Refusal::Secret => "secret_unreadable",
            Refusal::Unavailable(_) => "unavailable",
            Refusal::QueueFull(_) => "queue_full",
        }
    }
}

/// Check `X-Hub-Signature-256` (`header`) against the HMAC-SHA256 of `body` keyed by
/// `secret`, in constant time (`Mac::verify_slice`).
pub fn verify_signature(secret: &[u8], body: &[u8], header: Option<&str>) -> Result<(), Refusal> {
    let header = header.ok_or(Refusal::MissingSignature)?.trim();
    let hex_part = header
        .strip_prefix("sha256=")
        .ok_or(Refusal::BadSignature)?;
    let given = hex::decode(hex_part).map_err(|_| Refusal::BadSignature)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| Refusal::BadSignature)?;
    mac.update(body);
    mac.verify_slice(&given).map_err(|_| Refusal::BadSignature)
}

/// The event's key of a delivery whose signature checked: the SHA-256 of its body. The
/// delivery id and the timestamp are not signed: a key made of them would let whoever
/// captured one signed body replay it as new events. GitHub's redelivery repeats the
/// body (and its id), so it keys the same event; two events of one workflow must differ
/// in their bodies.
pub fn event_key(body: &[u8]) -> String {
    use sha2::Digest as _;
    format!("body:{}", hex::encode(Sha256::digest(body)))
}

/// Whether a signature header is there and of the form `sha256=HEX`, checked before
/// the secret is read (a command may be run for it).
pub fn signature_form(header: Option<&str>) -> Result<(), Refusal> {
    let header = header.ok_or(Refusal::MissingSignature)?.trim();
    let hex_part = header
        .strip_prefix("sha256=")
        .ok_or(Refusal::BadSignature)?;
    if hex_part.len() != 64 || !hex_part.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Refusal::BadSignature);
    }
    Ok(())
}

/// The signature header's value for `body` under `secret` (the tests' and the docs'
/// sender).
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes a key of any length: this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The delivery id (the event's key), from whichever header gives it.
pub fn delivery_id(headers: &BTreeMap<String, String>) -> Result<String, Refusal> {
    let id = DELIVERY_HEADERS
        .iter()
        .find_map(|h| headers.get(*h))
        .map(|v| v.trim())
        .ok_or(Refusal::NoDelivery)?;
    if id.is_empty() || id.len() > MAX_DELIVERY || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Refusal::NoDelivery);
    }
    Ok(id.to_string())
}

/// An optional `X-Baton-Timestamp` (seconds since the epoch) more than [`MAX_AGE_SECS`]
/// from `now` is refused.
pub fn check_timestamp(header: Option<&str>, now: Timestamp) -> Result<(), Refusal> {
    let Some(h) = header else {
        return Ok(());
    };
    let shown: String = h.chars().take(40).collect();
    let secs: i64 = h.trim().parse().map_err(|_| {
        Refusal::Timestamp(
            shown.clone(),
            "not a number of seconds since the epoch".into(),
        )
    })?;
    let now_secs = now.0.div_euclid(1000);
    let age = now_secs.saturating_sub(secs);
    if age > MAX_AGE_SECS {
        return Err(Refusal::Timestamp(
            shown,
            format!("{age} s old, over the {MAX_AGE_SECS} s a delivery may be old"),
        ));
    }
    if -age > MAX_AGE_SECS {
        return Err(Refusal::Timestamp(
            shown,
            format!("{} s in the future: check the sender's clock", -age),
        ));
    }
    Ok(())
}

/// The params a delivery gives its run: the trigger's fixed ones, then each of its
/// `map` from the JSON `body` (`body.A.B`: objects by key; a string
/// as it is, a number or a boolean as written) or the delivery id (`delivery`), all
/// checked against `specs` as `baton run --param` checks them. A refusal names the
/// body's field. The parsed body comes back: the serve makes the run's params from it
/// again, as every event's are made (`serve::events`).
pub fn params_of_body(
    body: &[u8],
    delivery: &str,
    t: &EventTrigger,
    specs: &[ParamSpec],
) -> Result<serde_json::Value, Refusal> {
    let json: serde_json::Value = if body.iter().all(u8::is_ascii_whitespace) {
        serde_json::Value::Object(Default::default())
    } else {
        serde_json::from_slice(body)
            .map_err(|e| Refusal::Body(format!("the body is not JSON: {e}")))?
    };
    let mut not_scalar: Option<String> = None;
    let given = event_params(t, |p| match p {
        Pick::Delivery => Some(delivery.to_string()),
        Pick::Body(path) => match dotted(&json, path) {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => {
                Some(v.to_string())
            }
            Some(_) => {
                not_scalar.get_or_insert_with(|| path.join("."));
                Some(String::new())
            }
        },
        _ => None,
    });
    if let Some(f) = not_scalar {
        return Err(Refusal::Params(format!(
            "body field `{f}` is an object or an array: map a string, a number or a boolean"
        )));
    }
    let given = given.map_err(|m| {
        let f = m.pick.strip_prefix("body.").unwrap_or(&m.pick);
        Refusal::Params(format!(
            "body field `{f}` is missing (or null): it gives parameter `{}`",
            m.param
        ))
    })?;
    let field = |name: &str| {
        t.map
            .iter()
            .find(|(p, _)| p == name)
            .map(|(_, pick)| match pick {
                Pick::Body(path) => path.join("."),
                other => other.to_string(),
            })
    };
    match resolve_values(specs, &given, Values::Params) {
        Ok(_) => Ok(json),
        Err(problems) => Err(Refusal::Params(
            problems
                .iter()
                .map(|p| word(p, &field))
                .collect::<Vec<_>>()
                .join("; "),
        )),
    }
}

/// A param's problem in a sender's words: the body's field it came from named.
fn word(p: &Problem, field: &impl Fn(&str) -> Option<String>) -> String {
    match p {
        Problem::Required { name, of_type, .. } => format!(
            "parameter `{name}` is required ({of_type}) and the trigger maps no body field to it"
        ),
        Problem::Other(s) => {
            let named = s.split('`').nth(1).and_then(field);
            match named {
                Some(f) => format!("body field `{f}`: {s}"),
                None => s.clone(),
            }
        }
    }
}

/// `a.b.c`: objects by key.
fn dotted<'v>(json: &'v serde_json::Value, path: &[String]) -> Option<&'v serde_json::Value> {
    path.iter().try_fold(json, |v, k| v.get(k))
}

#[cfg(test)]
mod tests;
