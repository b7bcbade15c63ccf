//! Passkey signatures made by a browser: Debian's headless Chromium with a DevTools
//! virtual authenticator (CTAP2, internal, user verified) signed baton's decision
//! message for relying party `localhost`; `ssh-keygen -Y verify -n baton` said `Good
//! "baton" signature for alice` to `good.sig` and refused the flipped decision, the
//! other namespace and the other principal. `tests/vectors/make.py` made them (it
//! builds the SSHSIG itself, apart from this crate) and says how.
use crate::{
    AllowedSigners, Assertion, Created, SignatureError, challenge, check, check_counter,
    check_passkey, passkey_counter, passkey_line, sshsig_from_assertion,
};
use serde_json::Value;

const SIGNERS: &str = include_str!("../tests/vectors/allowed_signers");
const MESSAGE: &str = include_str!("../tests/vectors/message.txt");
const GOOD: &str = include_str!("../tests/vectors/good.sig");
const OTHER_NAMESPACE: &str = include_str!("../tests/vectors/other_namespace.sig");
const NO_USER_VERIFICATION: &str = include_str!("../tests/vectors/no_user_verification.sig");
const OTHER_ORIGIN: &str = include_str!("../tests/vectors/other_origin.sig");
const ASSERTION: &str = include_str!("../tests/vectors/assertion.json");

fn signers() -> AllowedSigners {
    AllowedSigners::parse(SIGNERS).unwrap()
}

fn assertion() -> Value {
    serde_json::from_str(ASSERTION).unwrap()
}

fn field(name: &str) -> String {
    assertion()[name].as_str().unwrap().to_string()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn the_browser_s_signature_verifies_with_its_origin_counter_and_verified_user() {
    let c = check(&signers(), MESSAGE, GOOD).unwrap();
    assert_eq!(c.principals, vec!["alice"]);
    let p = c.passkey.clone().unwrap();
    assert_eq!(p.origin, field("origin"));
    assert_eq!(p.counter, 2, "the virtual authenticator's second signature");
    assert_eq!(p.flags & 0x05, 0x05, "user present and verified");
    assert_eq!(
        check_passkey(&signers(), MESSAGE, GOOD, &field("origin")),
        Ok(c)
    );
}

#[test]
fn a_flipped_decision_is_refused() {
    let flipped = MESSAGE.replace("decision: approve", "decision: reject");
    assert!(matches!(
        check(&signers(), &flipped, GOOD),
        Err(SignatureError::Invalid(_))
    ));
}

#[test]
fn another_namespace_is_refused() {
    assert_eq!(
        check(&signers(), MESSAGE, OTHER_NAMESPACE),
        Err(SignatureError::Namespace("git".into()))
    );
}

#[test]
fn another_principal_gets_nothing_from_the_key() {
    // The key is alice's only: it signs as no one else, and a file without it refuses it.
    let c = check(&signers(), MESSAGE, GOOD).unwrap();
    assert!(!c.principals.iter().any(|p| p == "bob"));
    let bob = SIGNERS
        .replacen("alice", "bob", 1)
        .replace("namespaces=\"baton\"", "namespaces=\"git\"");
    let bob = AllowedSigners::parse(&bob).unwrap();
    assert!(matches!(
        check(&bob, MESSAGE, GOOD),
        Err(SignatureError::UnknownKey(_))
    ));
}

#[test]
fn a_signature_without_user_verification_is_refused_though_ssh_keygen_takes_it() {
    assert!(matches!(
        check(&signers(), MESSAGE, NO_USER_VERIFICATION),
        Err(SignatureError::NotUserVerified(_))
    ));
}

#[test]
fn another_origin_of_the_relying_party_is_refused_where_the_origin_is_configured() {
    let origin = field("origin");
    let other = field("other_origin");
    assert_eq!(
        check_passkey(&signers(), MESSAGE, OTHER_ORIGIN, &origin),
        Err(SignatureError::Origin {
            origin: other.clone(),
            want: origin
        })
    );
    // Without a configured origin (audit verify), one of its relying party counts.
    assert_eq!(
        check(&signers(), MESSAGE, OTHER_ORIGIN)
            .unwrap()
            .passkey
            .unwrap()
            .origin,
        other
    );
}

#[test]
fn the_page_s_challenge_is_the_sshsig_signed_data() {
    let cd: Value = serde_json::from_str(&field("client_data_json")).unwrap();
    let want = cd["challenge"].as_str().unwrap().to_string();
    use ssh_encoding::base64::{Base64UrlUnpadded, Encoding};
    assert_eq!(Base64UrlUnpadded::encode_string(&challenge(MESSAGE)), want);
}

#[test]
fn the_browser_s_assertion_becomes_the_very_signature_ssh_keygen_verified() {
    let key = signers().entries()[0].key.key_data().clone();
    let (auth, sig) = (
        unhex(&field("authenticator_data")),
        unhex(&field("signature")),
    );
    let cd = field("client_data_json");
    let a = Assertion {
        authenticator_data: &auth,
        client_data_json: cd.as_bytes(),
        signature: &sig,
    };
    assert_eq!(sshsig_from_assertion(&key, &a).unwrap(), GOOD);
}

#[test]
fn the_created_passkey_gives_the_allowed_signers_line() {
    let (spki, auth, id) = (
        unhex(&field("credential_spki")),
        unhex(&field("credential_authenticator_data")),
        unhex(&field("credential_id")),
    );
    let made = Created {
        public_key: &spki,
        authenticator_data: &auth,
        credential_id: &id,
    };
    let line = passkey_line("alice", "localhost", &made).unwrap();
    assert!(line.starts_with(SIGNERS.trim_end()), "{line}");
    assert!(line.contains(" passkey:"), "{line}");
    // Made for another relying party, or without a verified user: refused.
    assert!(passkey_line("alice", "example.com", &made).is_err());
    let mut unverified = auth.clone();
    unverified[32] &= !0x04;
    let made = Created {
        authenticator_data: &unverified,
        ..made
    };
    assert!(passkey_line("alice", "localhost", &made).is_err());
}

/// An assertion over this message with `flags`, made on `origin`, signed by another
/// P-256 key than alice's, as alice's passkey's signature.
fn forged(flags: u8, origin: &str) -> String {
    use p256::ecdsa::signature::Signer;
    use sha2::Digest;
    use ssh_encoding::base64::{Base64UrlUnpadded, Encoding};
    let client_data = format!(
        "{{\"type\":\"webauthn.get\",\"challenge\":\"{}\",\"origin\":\"{origin}\"}}",
        Base64UrlUnpadded::encode_string(&challenge(MESSAGE))
    );
    let mut auth = sha2::Sha256::digest(b"localhost").to_vec();
    auth.push(flags);
    auth.extend(3u32.to_be_bytes());
    let mut signed = auth.clone();
    signed.extend(sha2::Sha256::digest(client_data.as_bytes()));
    let other = p256::ecdsa::SigningKey::from_bytes(&p256::FieldBytes::from([7u8; 32])).unwrap();
    let sig: p256::ecdsa::Signature = other.sign(&signed);
    let der = sig.to_der();
    let key = signers().entries()[0].key.key_data().clone();
    let a = Assertion {
        authenticator_data: &auth,
        client_data_json: client_data.as_bytes(),
        signature: der.as_bytes(),
    };
    sshsig_from_assertion(&key, &a).unwrap()
}

#[test]
fn a_signature_by_another_key_is_a_bad_signature_whatever_its_flags_and_origin_say() {
    let evil = format!("https://{}.evil.example\u{202e}", "x".repeat(16_000));
    for (flags, origin) in [
        (0x01, "http://localhost"),
        (0x05, evil.as_str()),
        (0x01, evil.as_str()),
        (0x05, "https://evil.example"),
    ] {
        let pem = forged(flags, origin);
        let key = match check(&signers(), MESSAGE, &pem) {
            Err(SignatureError::Invalid(key)) => key,
            other => panic!("flags {flags:#x}, origin {:.40}: {other:?}", origin),
        };
        assert!(key.starts_with("SHA256:"), "{key}");
        let configured = check_passkey(&signers(), MESSAGE, &pem, "http://localhost");
        assert_eq!(configured, Err(SignatureError::Invalid(key)));
    }
}

#[test]
fn a_signed_foreign_origin_is_named_short_and_on_one_line() {
    // The vector's other origin is of the relying party; a configured one that is not
    // is named, shortened, in the refusal.
    let long = format!("https://{}\n.example", "y".repeat(500));
    let err = check_passkey(&signers(), MESSAGE, OTHER_ORIGIN, &long).unwrap_err();
    let text = err.to_string();
    assert!(text.len() < 400, "{text}");
    assert!(!text.contains('\n'), "{text}");
}

#[test]
fn the_browser_s_counter_is_read_from_its_signature_and_a_replay_of_it_is_refused() {
    let c = check(&signers(), MESSAGE, GOOD).unwrap();
    let (key, counter) = passkey_counter(GOOD).unwrap();
    assert_eq!((key.as_str(), counter), (c.key.as_str(), 2));
    assert_eq!(check_counter(&key, counter, Some(1)), Ok(()));
    assert!(matches!(
        check_counter(&key, counter, Some(counter)),
        Err(SignatureError::CounterNotAbove {
            counter: 2,
            last: 2,
            ..
        })
    ));
    assert_eq!(passkey_counter("not a signature"), None);
}

#[test]
fn the_browser_s_approval_is_the_message_built_today_and_no_push_back() {
    use crate::{Verdict, message};
    let none = Default::default();
    let built = |v| {
        message(
            "01JDX5Q0RUNVECTOR0000000000",
            "deploy",
            7,
            "4f2b8a",
            v,
            "looks right",
            &none,
        )
    };
    // The bytes signed before push-backs were signed are the bytes built now: the
    // signature made then verifies as it did.
    assert_eq!(built(Verdict::Approve), MESSAGE);
    assert!(check(&signers(), &built(Verdict::Approve), GOOD).is_ok());
    let push_back = built(Verdict::PushBack);
    assert_eq!(
        push_back,
        MESSAGE.replace("decision: approve", "decision: push_back")
    );
    // Nor does a signature over one decision count for another.
    for v in [Verdict::PushBack, Verdict::Reject] {
        assert!(
            matches!(
                check(&signers(), &built(v), GOOD),
                Err(SignatureError::Invalid(_))
            ),
            "{v:?}"
        );
    }
}
