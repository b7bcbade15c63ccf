use super::*;

/// A verdict keeps its refusal's kind through the store, and one written before
/// refusals had codes still reads, with its message.
#[test]
fn a_verdict_reads_back_typed_and_old_ones_still_read() {
    let o = CommandOutcome::Refused(Refusal::ReasonRequired {
        to: crate::refusal::ReasonFor::Reject,
    });
    let json = serde_json::to_string(&o).unwrap();
    assert!(
        json.contains("\"reason\":\"a reason is required to reject\""),
        "{json}"
    );
    assert_eq!(serde_json::from_str::<CommandOutcome>(&json).unwrap(), o);
    let old = r#"{"outcome":"refused","reason":"expired: gone"}"#;
    let back: CommandOutcome = serde_json::from_str(old).unwrap();
    assert_eq!(back.refusal().unwrap().code(), "recorded");
    assert_eq!(back.refusal().unwrap().to_string(), "expired: gone");
    let newer = r#"{"outcome":"refused","reason":"why","refusal":{"code":"from_the_future"}}"#;
    let back: CommandOutcome = serde_json::from_str(newer).unwrap();
    assert_eq!(back.refusal().unwrap().to_string(), "why");
    let old_event = r#"{"type":"command_refused","command":{"cmd":"retry","step":"a","operator":"bob"},"reason":"no"}"#;
    let k: EventKind = serde_json::from_str(old_event).unwrap();
    assert!(matches!(k, EventKind::CommandRefused { code: None, .. }));
    assert!(!serde_json::to_string(&k).unwrap().contains("code"));
}

/// An event is one flat JSON object (`seq`, `at`, `type` and the kind's fields):
/// a kind's field must not shadow the event's own, or it does not read back.
#[test]
fn a_scheduled_retry_reads_back_with_both_times() {
    let e = Event {
        seq: 7,
        at: Timestamp(1_000),
        kind: EventKind::RetryScheduled {
            step: "build".into(),
            next_attempt: 2,
            due: Timestamp(5_000),
            repetition: None,
        },
    };
    let json = serde_json::to_string(&e).unwrap();
    let back: Event = serde_json::from_str(&json).unwrap();
    assert_eq!(back.at, Timestamp(1_000));
    assert!(matches!(
        back.kind,
        EventKind::RetryScheduled {
            due: Timestamp(5_000),
            next_attempt: 2,
            ..
        }
    ));
}
