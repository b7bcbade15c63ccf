//! Signed decisions: a gate with `signed = true` is decided only by SSH signatures
//! (the SSHSIG format of `ssh-keygen -Y sign`, namespace [`NAMESPACE`]) made by a key
//! that the workflow's allowed-signers file lists under one of the gate's approvers.
//!
//! - [`message`]: the canonical bytes a decision is signed over (one function: the
//!   engine that checks and the command that signs build the same bytes);
//! - [`check`]: verify a signature over a message against the allowed signers (pure);
//! - `allowed`: the allowed-signers file ([`AllowedSigners`]);
//! - `webauthn`: passkey signatures (an SSHSIG whose signature is a WebAuthn
//!   assertion): [`challenge`] for the page, [`sshsig_from_assertion`] to armor what the
//!   browser returns, [`check_passkey`] to verify it against the configured origin;
//! - `enrol`: a passkey's allowed-signers line from what the browser returns at
//!   creation ([`passkey_line`]), once the new key signed the enrolment's challenge
//!   ([`check_possession`]);
//! - `keys`: making a signature, with a key file or through ssh-agent (I/O; the `sign`
//!   feature, which only the session turns on).
//!
//! The cryptography is RustCrypto's `ssh-key`; nothing here computes a signature itself.
mod allowed;
mod enrol;
#[cfg(feature = "sign")]
mod keys;
mod webauthn;

#[cfg(test)]
mod passkey_vectors_tests;

pub use allowed::{AllowedSigners, LineError, SignersError, principal_account};
pub use enrol::{Created, EnrolError, Proof, check_possession, check_principal, passkey_line};
#[cfg(feature = "sign")]
pub use keys::{SigningError, sign_with_agent, sign_with_key_file};
pub use webauthn::{
    Assertion, AssertionError, Passkey, WEBAUTHN_ALGORITHM, challenge, check_counter,
    check_passkey, origin_fits, passkey_counter, sshsig_from_assertion,
};

use sha2::{Digest, Sha256};
use ssh_key::{HashAlg, PublicKey, SshSig};
use std::collections::BTreeMap;

/// The SSHSIG namespace of every baton decision (`ssh-keygen -Y sign -n baton`), so a
/// signature made for something else (a git commit, a file) never counts as one.
pub const NAMESPACE: &str = "baton";

/// What a signed decision says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "snake_case")]
pub enum Verdict {
    Approve,
    Reject,
    /// A push-back of a gate with `revise` (`baton push-back`): its steps run again.
    PushBack,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The canonical message of a decision: UTF-8, one `name: value` line each, every line
/// ending in `\n`, in this order:
///
/// ```text
/// baton decision v1
/// run: <run id>
/// step: <step id>
/// gate: <seq of the gate_opened event this decision answers>
/// digest: <the approval's digest: what would run, and the inputs if any>
/// inputs: <the gate's inputs as one JSON object, keys sorted; only when it has any>
/// decision: approve | reject | push_back
/// reason: <the reason as a JSON string; "" when none>
/// ```
///
/// The `inputs` line is there only for an approval of a gate with `inputs` (a
/// rejection or a push-back carries none), so a message of a gate without them is
/// unchanged. `push_back` is a value the line did not take before: the bytes of an
/// approval or a rejection are the same as ever, so every signature made before
/// verifies as it did, and no signature over one decision counts for another.
/// The `gate` line ties a signature to one opening of the gate: a decision signed for
/// an earlier opening (before a retry or a change) does not count again. The reason
/// is JSON-quoted so that no reason can add or fake a line.
pub fn message(
    run_id: &str,
    step: &str,
    opening: u64,
    digest: &str,
    verdict: Verdict,
    reason: &str,
    inputs: &std::collections::BTreeMap<String, String>,
) -> String {
    let reason = serde_json::Value::String(reason.to_string()).to_string();
    // A BTreeMap serialises with its keys sorted, each value JSON-quoted: one line.
    let inputs = match inputs.is_empty() {
        true => String::new(),
        false => format!("inputs: {}\n", serde_json::json!(inputs)),
    };
    format!(
        "baton decision v1\nrun: {run_id}\nstep: {step}\ngate: {opening}\ndigest: {digest}\n{inputs}decision: {}\nreason: {reason}\n",
        verdict.as_str()
    )
}

/// The canonical message of an answer to a signed ask (`baton ask --signed`): as
/// [`message`]'s, with its own first line, so that no signature over a gate's
/// decision ever counts for an ask, nor the other way:
///
/// ```text
/// baton ask decision v1
/// ask: <ask id>
/// prompt: <the question as a JSON string>
/// inputs: <the values as one JSON object, keys sorted; only for an approval with inputs>
/// decision: approve | reject
/// reason: <the reason as a JSON string; "" when none>
/// ```
pub fn ask_message(
    ask: &str,
    prompt: &str,
    verdict: Verdict,
    reason: &str,
    inputs: &BTreeMap<String, String>,
) -> String {
    let quoted = |s: &str| serde_json::Value::String(s.to_string()).to_string();
    let inputs = match inputs.is_empty() {
        true => String::new(),
        false => format!("inputs: {}\n", serde_json::json!(inputs)),
    };
    format!(
        "baton ask decision v1\nask: {ask}\nprompt: {}\n{inputs}decision: {}\nreason: {}\n",
        quoted(prompt),
        verdict.as_str(),
        quoted(reason)
    )
}

/// An approval's digest: the gate's `digest` (what would run) and, when the gate
/// takes `inputs`, the values the approver gave, so an approval binds to both.
pub fn approval_digest(digest: &str, inputs: &BTreeMap<String, String>) -> String {
    if inputs.is_empty() {
        return digest.to_string();
    }
    let mut h = Sha256::new();
    h.update(b"gate\0");
    h.update(digest.as_bytes());
    h.update([0xff]);
    for (k, v) in inputs {
        h.update(b"input\0");
        h.update(k.as_bytes());
        h.update([0]);
        h.update(v.as_bytes());
        h.update([0xff]);
    }
    hex::encode(h.finalize())
}

/// A signature that verified: the key that made it (`SHA256:…` fingerprint) and the
/// principals the allowed signers list for that key (in file order), and, for a
/// passkey's signature, its origin and counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub key: String,
    pub principals: Vec<String>,
    pub passkey: Option<Passkey>,
}

/// Why a signature does not count.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error(
        "not an SSH signature (expected the armored output of `ssh-keygen -Y sign`, starting `-----BEGIN SSH SIGNATURE-----`): {0}"
    )]
    Malformed(String),
    #[error("the signature is for namespace `{0}`, not `{NAMESPACE}` (sign with `-n {NAMESPACE}`)")]
    Namespace(String),
    #[error("key {0} is not in the allowed signers for namespace `{NAMESPACE}`")]
    UnknownKey(String),
    #[error(
        "the signature by key {0} does not verify over this decision's message (it was made over other bytes or with another key; `--print-message` prints the bytes to sign)"
    )]
    Invalid(String),
    #[error(
        "the passkey {0} signed without user verification (a PIN or a biometric): baton counts a passkey's decision only when its holder was verified; use a passkey or browser that verifies"
    )]
    NotUserVerified(String),
    #[error(
        "the passkey's signature was made on a page at {origin}, which is not of its relying party `{rp}`"
    )]
    ForeignOrigin { origin: String, rp: String },
    #[error("the passkey's signature was made on a page at {origin}, not at {want}")]
    Origin { origin: String, want: String },
    #[error("not a passkey's signature (`{WEBAUTHN_ALGORITHM}`)")]
    NotAPasskey,
    #[error(
        "the passkey {key} signed with counter {counter}, not above {last}, the last recorded for it: a replayed assertion or a cloned authenticator; sign again on the device"
    )]
    CounterNotAbove {
        key: String,
        counter: u32,
        last: u32,
    },
}

/// Verify `pem` (an armored SSHSIG) over `message` against `signers`. Pure. A
/// passkey's signature counts when its holder was verified and its page's origin
/// belongs to the key's relying party ([`check_passkey`] also names the origin).
pub fn check(
    signers: &AllowedSigners,
    message: &str,
    pem: &str,
) -> Result<Checked, SignatureError> {
    if let Some(passkey) = webauthn::check_if_passkey(signers, message, pem) {
        return passkey;
    }
    let sig = SshSig::from_pem(pem.trim().as_bytes())
        .map_err(|e| SignatureError::Malformed(e.to_string()))?;
    let key = sig.public_key().fingerprint(HashAlg::Sha256).to_string();
    if sig.namespace() != NAMESPACE {
        return Err(SignatureError::Namespace(sig.namespace().to_string()));
    }
    let principals: Vec<String> = signers
        .principals_of(sig.public_key(), NAMESPACE)
        .into_iter()
        .map(str::to_string)
        .collect();
    if principals.is_empty() {
        return Err(SignatureError::UnknownKey(key));
    }
    PublicKey::from(sig.public_key().clone())
        .verify(NAMESPACE, message.as_bytes(), &sig)
        .map_err(|_| SignatureError::Invalid(key.clone()))?;
    Ok(Checked {
        key,
        principals,
        passkey: None,
    })
}

/// The SHA-256 fingerprint (`SHA256:…`) of a public key, as `ssh-keygen -l` prints it.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// The first of `keys` (ssh-agent's, in its order) that the allowed signers list under
/// one of `approvers` for baton's namespace.
pub fn first_approver_key<'k>(
    signers: &AllowedSigners,
    approvers: &[String],
    keys: &'k [PublicKey],
) -> Option<&'k PublicKey> {
    keys.iter().find(|k| {
        signers
            .principals_of(k.key_data(), NAMESPACE)
            .iter()
            .any(|p| approvers.iter().any(|a| allowed::same_principal(a, p)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_is_line_per_field_and_the_reason_cannot_add_lines() {
        let m = message(
            "01j",
            "deploy",
            7,
            "ab12",
            Verdict::Approve,
            "ok\ndecision: reject",
            &Default::default(),
        );
        assert_eq!(
            m,
            "baton decision v1\nrun: 01j\nstep: deploy\ngate: 7\ndigest: ab12\ndecision: approve\nreason: \"ok\\ndecision: reject\"\n"
        );
        assert_eq!(m.lines().count(), 7);
    }

    #[test]
    fn inputs_are_one_line_of_sorted_json_that_no_value_can_break() {
        let inputs = std::collections::BTreeMap::from([
            ("tag".to_string(), "v1\ndecision: reject".to_string()),
            ("env".to_string(), "prod".to_string()),
        ]);
        let m = message("01j", "deploy", 7, "ab12", Verdict::Approve, "", &inputs);
        assert_eq!(
            m,
            "baton decision v1\nrun: 01j\nstep: deploy\ngate: 7\ndigest: ab12\ninputs: {\"env\":\"prod\",\"tag\":\"v1\\ndecision: reject\"}\ndecision: approve\nreason: \"\"\n"
        );
        assert_eq!(m.lines().count(), 8);
    }

    #[test]
    fn a_push_back_s_message_says_so_and_carries_no_inputs_line_when_given_none() {
        let m = message(
            "01j",
            "publish",
            9,
            "ab12",
            Verdict::PushBack,
            "shorter\ndecision: approve",
            &Default::default(),
        );
        assert_eq!(
            m,
            "baton decision v1\nrun: 01j\nstep: publish\ngate: 9\ndigest: ab12\ndecision: push_back\nreason: \"shorter\\ndecision: approve\"\n"
        );
        assert_eq!("push_back".parse::<Verdict>(), Ok(Verdict::PushBack));
    }

    #[test]
    fn an_ask_s_message_is_its_own_and_no_prompt_or_reason_adds_a_line() {
        let m = ask_message(
            "ask-1",
            "drop?\ndecision: approve",
            Verdict::Reject,
            "no",
            &BTreeMap::new(),
        );
        assert_eq!(
            m,
            "baton ask decision v1\nask: ask-1\nprompt: \"drop?\\ndecision: approve\"\ndecision: reject\nreason: \"no\"\n"
        );
        let inputs = BTreeMap::from([("t".to_string(), "users".to_string())]);
        let m = ask_message("ask-1", "drop?", Verdict::Approve, "", &inputs);
        assert!(
            m.contains("\ninputs: {\"t\":\"users\"}\ndecision: approve\n"),
            "{m}"
        );
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        let s = AllowedSigners::parse("").unwrap();
        for pem in [
            "",
            "hello",
            "-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n",
        ] {
            assert!(
                matches!(check(&s, "m", pem), Err(SignatureError::Malformed(_))),
                "{pem}"
            );
        }
    }

    #[test]
    fn an_approval_digest_covers_its_inputs() {
        let none = BTreeMap::new();
        assert_eq!(approval_digest("ab", &none), "ab");
        let a = BTreeMap::from([("model".to_string(), "pro".to_string())]);
        let b = BTreeMap::from([("model".to_string(), "flash".to_string())]);
        assert_eq!(approval_digest("ab", &a).len(), 64);
        assert_ne!(approval_digest("ab", &a), approval_digest("ab", &b));
        assert_ne!(approval_digest("ab", &a), approval_digest("cd", &a));
    }
}
