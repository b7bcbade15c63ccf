use super::*;
use std::path::Path;

fn specs() -> Vec<ParamSpec> {
    let src = r#"
name = "p"
[params.sha]
type = "string"
required = true
pattern = '^[0-9a-f]{7,40}$'
[params.count]
type = "int"
default = 1
[params.tags]
type = "list"
default = "[]"
[[step]]
id = "a"
run = "true"
"#;
    baton_workflow::load_str(src, Path::new("p.toml"))
        .unwrap()
        .params
}

/// A webhook trigger mapping `map` (param, pick as written).
fn trigger(map: &[(&str, &str)]) -> EventTrigger {
    EventTrigger {
        index: 1,
        name: Some("push".into()),
        source: baton_workflow::EventSource::Webhook {
            secret: "HOOK_KEY".into(),
        },
        params: Vec::new(),
        map: map
            .iter()
            .map(|(p, w)| (p.to_string(), Pick::parse("webhook", w).unwrap()))
            .collect(),
        labels: Default::default(),
        burst: Default::default(),
        line: 1,
    }
}

/// GitHub's documented example: secret "It's a Secret to Everybody", body
/// "Hello, World!".
#[test]
fn the_signature_is_github_s() {
    let sig = sign(b"It's a Secret to Everybody", b"Hello, World!");
    assert_eq!(
        sig,
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    );
    verify_signature(b"It's a Secret to Everybody", b"Hello, World!", Some(&sig)).unwrap();
}

#[test]
fn a_wrong_missing_or_malformed_signature_is_refused() {
    let sig = sign(b"s3cret", b"{}");
    assert_eq!(
        verify_signature(b"other", b"{}", Some(&sig)),
        Err(Refusal::BadSignature)
    );
    assert_eq!(
        verify_signature(b"s3cret", b"{ }", Some(&sig)),
        Err(Refusal::BadSignature)
    );
    assert_eq!(
        verify_signature(b"s3cret", b"{}", None),
        Err(Refusal::MissingSignature)
    );
    for bad in ["", "sha1=00", "sha256=zz", "sha256=00"] {
        assert_eq!(
            verify_signature(b"s3cret", b"{}", Some(bad)),
            Err(Refusal::BadSignature),
            "{bad}"
        );
    }
}

#[test]
fn an_old_or_future_timestamp_is_refused_a_recent_one_taken() {
    let now = Timestamp(1_700_000_000_000);
    check_timestamp(None, now).unwrap();
    check_timestamp(Some("1700000000"), now).unwrap();
    check_timestamp(Some("1699999800"), now).unwrap();
    let old = check_timestamp(Some("1699999000"), now).unwrap_err();
    assert_eq!(old.reason(), "old_timestamp");
    assert!(old.to_string().contains("1000 s old"), "{old}");
    assert!(check_timestamp(Some("1700001000"), now).is_err());
    assert!(check_timestamp(Some("yesterday"), now).is_err());
}

#[test]
fn the_delivery_id_is_either_header_and_bounded() {
    let mut h = BTreeMap::new();
    assert_eq!(delivery_id(&h), Err(Refusal::NoDelivery));
    h.insert("x-baton-delivery".to_string(), "abc-1".to_string());
    assert_eq!(delivery_id(&h).unwrap(), "abc-1");
    h.insert("x-github-delivery".to_string(), "gh-2".to_string());
    assert_eq!(delivery_id(&h).unwrap(), "gh-2");
    h.insert("x-github-delivery".to_string(), "a b".to_string());
    assert_eq!(delivery_id(&h), Err(Refusal::NoDelivery));
    h.insert(
        "x-github-delivery".to_string(),
        "x".repeat(MAX_DELIVERY + 1),
    );
    assert_eq!(delivery_id(&h), Err(Refusal::NoDelivery));
}

#[test]
fn body_fields_map_to_typed_params() {
    let body = br#"{"after":"0123abcd","n":3,"commits":[{"id":"abcdef1"}]}"#;
    let t = trigger(&[("sha", "body.after"), ("count", "body.n")]);
    let got = params_of_body(body, "d-1", &t, &specs()).unwrap();
    assert_eq!(got["after"], "0123abcd");
    let t = trigger(&[("sha", "body.head.id")]);
    params_of_body(br#"{"head":{"id":"abcdef1"}}"#, "d-1", &t, &specs()).unwrap();
    // An array is not walked into: the field is missing.
    let t = trigger(&[("sha", "body.commits.0.id")]);
    let e = params_of_body(body, "d-1", &t, &specs()).unwrap_err();
    assert!(e.to_string().contains("`commits.0.id` is missing"), "{e}");
}

#[test]
fn a_field_that_does_not_check_is_named() {
    let t = trigger(&[("sha", "body.after"), ("count", "body.n")]);
    let e =
        params_of_body(br#"{"after":"$(rm -rf /)","n":"many"}"#, "d", &t, &specs()).unwrap_err();
    assert_eq!(e.reason(), "bad_param");
    let s = e.to_string();
    assert!(s.contains("body field `after`"), "{s}");
    assert!(s.contains("body field `n`"), "{s}");
    let e = params_of_body(br#"{"n":1}"#, "d", &t, &specs()).unwrap_err();
    assert!(
        e.to_string().contains("body field `after` is missing"),
        "{e}"
    );
    let e = params_of_body(br#"{"after":{"x":1}}"#, "d", &t, &specs()).unwrap_err();
    assert!(e.to_string().contains("`after` is an object"), "{e}");
    let e = params_of_body(b"{not json", "d", &t, &specs()).unwrap_err();
    assert_eq!(e.reason(), "bad_body");
}

#[test]
fn the_event_key_is_the_body_s_hash_whatever_the_delivery_id() {
    let key = event_key(b"{}");
    assert_eq!(
        key,
        "body:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    );
    assert_ne!(event_key(b"{} "), key);
}

#[test]
fn a_signature_header_s_form_is_checked_before_the_secret_is_read() {
    assert_eq!(signature_form(None), Err(Refusal::MissingSignature));
    assert_eq!(signature_form(Some("sha1=ab")), Err(Refusal::BadSignature));
    assert_eq!(
        signature_form(Some("sha256=zz")),
        Err(Refusal::BadSignature)
    );
    let good = sign(b"k", b"body");
    assert_eq!(signature_form(Some(&good)), Ok(()));
}

/// A trigger's full queue of pending events: the sender hears 429 with why, counted
/// under its own reason, and may send it again later.
#[test]
fn a_full_queue_is_answered_too_many_requests_with_why() {
    let r = Refusal::QueueFull("the trigger's queue is full: 2 events are pending".into());
    assert_eq!(
        (r.status(), r.reason()),
        ("429 Too Many Requests", "queue_full")
    );
    assert_eq!(
        r.to_string(),
        "the trigger's queue is full: 2 events are pending; send it again later"
    );
    assert_eq!(
        baton_store::trigger_pending::QUEUE_FULL,
        r.reason(),
        "the store counts it under the same reason"
    );
}
