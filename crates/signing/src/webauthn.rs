//! Passkey signatures in OpenSSH's format: an SSHSIG whose signature is a WebAuthn
//! assertion, `webauthn-sk-ecdsa-sha2-nistp256@openssh.com` (OpenSSH's PROTOCOL.u2f),
//! made by a key of type `sk-ecdsa-sha2-nistp256@openssh.com` whose application is the
//! WebAuthn relying party. `ssh-keygen -Y verify` accepts these; `ssh-key` does not
//! read them, so this file parses, builds and verifies them (the ECDSA is `p256`'s).
//!
//! The signature blob, inside the SSHSIG's signature string:
//!
//! ```text
//! string  "webauthn-sk-ecdsa-sha2-nistp256@openssh.com"
//! string  ecdsa_signature (mpint r, mpint s)
//! byte    flags            (the authenticator data's)
//! uint32  counter          (the authenticator data's signature counter)
//! string  origin           (the page's, as in clientData)
//! string  clientData       (the browser's clientDataJSON, whole)
//! string  extensions       (the authenticator data after its first 37 bytes)
//! ```
//!
//! The challenge the page asks the passkey to sign is the SSHSIG's signed data
//! ([`challenge`]), which the browser puts base64url-encoded in clientData; the
//! authenticator signs `authenticatorData || SHA-256(clientData)`, which is
//! `SHA-256(application) || flags || counter || extensions || SHA-256(clientData)`.
//! Beyond what `ssh-keygen` checks, baton requires the user-verification flag (a PIN
//! or a biometric, not a touch alone) and an origin that belongs to the relying party,
//! both read only once the ECDSA signature over them verified: a signature that does
//! not verify is `Invalid`, whatever its flags and origin claim.
use crate::{AllowedSigners, Checked, NAMESPACE, SignatureError};
use sha2::{Digest, Sha256};
use ssh_encoding::pem::PemLabel;
use ssh_encoding::{Decode, DecodePem, Encode, EncodePem, LineEnding, Reader, Writer};
use ssh_key::public::{KeyData, SkEcdsaSha2NistP256};
use ssh_key::{HashAlg, Mpint, SshSig};

/// The SSH signature algorithm of a passkey's signature.
pub const WEBAUTHN_ALGORITHM: &str = "webauthn-sk-ecdsa-sha2-nistp256@openssh.com";

/// Authenticator-data flags (WebAuthn §6.1).
const USER_PRESENT: u8 = 0x01;
const USER_VERIFIED: u8 = 0x04;
const ATTESTED_DATA: u8 = 0x40;
const EXTENSION_DATA: u8 = 0x80;
/// rpIdHash (32), flags (1), signCount (4).
const AUTH_DATA_HEAD: usize = 37;
/// What a signature's parts may weigh: a clientData or an origin is a few hundred bytes.
const MAX_PART: usize = 16 * 1024;
/// What an error shows of an origin: a real one is a few dozen characters.
const SHOWN_ORIGIN: usize = 120;

/// What a passkey's signature says beyond its key: where it was made and the
/// authenticator's signature counter (0 when the passkey keeps none, as synced
/// passkeys do), for whoever keeps track of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passkey {
    /// The origin of the page that asked for the signature (`https://host[:port]`).
    pub origin: String,
    /// The authenticator's signature counter at this signature.
    pub counter: u32,
    /// The authenticator-data flags (user present 0x01, user verified 0x04).
    pub flags: u8,
}

/// What a browser's `navigator.credentials.get()` returns (its `response`), as bytes.
#[derive(Debug, Clone, Copy)]
pub struct Assertion<'a> {
    /// `response.authenticatorData`.
    pub authenticator_data: &'a [u8],
    /// `response.clientDataJSON`.
    pub client_data_json: &'a [u8],
    /// `response.signature`: an ASN.1 DER ECDSA signature.
    pub signature: &'a [u8],
}

/// Why a passkey's assertion cannot become a signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssertionError {
    #[error(
        "the key is not a passkey's (`sk-ecdsa-sha2-nistp256@openssh.com`, as `baton passkey enrol` prints); it cannot have made a browser's assertion"
    )]
    NotAPasskeyKey,
    #[error("the authenticator data is {0} bytes, shorter than its 37-byte head")]
    ShortAuthenticatorData(usize),
    #[error("the assertion's {0} is over {MAX_PART} bytes")]
    TooLarge(&'static str),
    #[error("clientDataJSON is not a JSON object with a string `origin`")]
    ClientData,
    #[error("the signature is not an ASN.1 DER P-256 ECDSA signature")]
    Signature,
    #[error("cannot encode the signature: {0}")]
    Encode(String),
}

/// The bytes a page asks a passkey to sign for `message`: the SSHSIG signed data
/// (`SSHSIG`, namespace `baton`, SHA-512 of the message), which `ssh-keygen` expects,
/// base64url-encoded, as clientData's `challenge`. Pass them as
/// `publicKey.challenge` to `navigator.credentials.get()`.
pub fn challenge(message: &str) -> Vec<u8> {
    signed_data(NAMESPACE, HashAlg::Sha512, message)
}

fn signed_data(namespace: &str, hash: HashAlg, message: &str) -> Vec<u8> {
    // Only an empty namespace fails, and baton's is a constant.
    SshSig::signed_data(namespace, hash, message.as_bytes()).unwrap_or_default()
}

/// The armored SSHSIG (as `ssh-keygen -Y sign` prints, namespace `baton`) of a
/// browser's assertion made by `key` (a passkey's `sk-ecdsa-sha2-nistp256@openssh.com`
/// key from the allowed signers) over [`challenge`]`(message)`. It does not check the
/// signature: [`check_passkey`] (or [`crate::check`]) does. The result is what
/// `baton approve --signature FILE` takes, and the engine verifies it as any other.
pub fn sshsig_from_assertion(key: &KeyData, a: &Assertion<'_>) -> Result<String, AssertionError> {
    if key.sk_ecdsa_p256().is_none() {
        return Err(AssertionError::NotAPasskeyKey);
    }
    if a.authenticator_data.len() < AUTH_DATA_HEAD {
        return Err(AssertionError::ShortAuthenticatorData(
            a.authenticator_data.len(),
        ));
    }
    for (what, bytes) in [
        ("authenticatorData", a.authenticator_data),
        ("clientDataJSON", a.client_data_json),
    ] {
        if bytes.len() > MAX_PART {
            return Err(AssertionError::TooLarge(what));
        }
    }
    let origin = serde_json::from_slice::<serde_json::Value>(a.client_data_json)
        .ok()
        .and_then(|v| v.get("origin")?.as_str().map(str::to_string))
        .ok_or(AssertionError::ClientData)?;
    let sig =
        p256::ecdsa::Signature::from_der(a.signature).map_err(|_| AssertionError::Signature)?;
    let (r, s) = sig.split_bytes();
    let head = &a.authenticator_data[..AUTH_DATA_HEAD];
    let parsed = Parsed {
        key: key.clone(),
        namespace: NAMESPACE.to_string(),
        hash: HashAlg::Sha512,
        r: r.to_vec(),
        s: s.to_vec(),
        flags: head[32],
        counter: u32::from_be_bytes([head[33], head[34], head[35], head[36]]),
        origin,
        client_data: a.client_data_json.to_vec(),
        extensions: a.authenticator_data[AUTH_DATA_HEAD..].to_vec(),
    };
    let bytes = parsed
        .to_bytes()
        .map_err(|e| AssertionError::Encode(e.to_string()))?;
    Armored(bytes)
        .encode_pem_string(LineEnding::LF)
        .map_err(|e| AssertionError::Encode(e.to_string()))
}

/// Verify a passkey's signature (`pem`) over `message` against `signers`, and require
/// the page's origin to be exactly `origin` (the one `baton serve` is configured
/// with). [`crate::check`] verifies the same without knowing the origin: it requires
/// one that belongs to the relying party. Pure.
pub fn check_passkey(
    signers: &AllowedSigners,
    message: &str,
    pem: &str,
    origin: &str,
) -> Result<Checked, SignatureError> {
    let checked = check_pem(signers, message, pem)?;
    match &checked.passkey {
        Some(p) if p.origin == origin => Ok(checked),
        Some(p) => Err(SignatureError::Origin {
            origin: shown_origin(&p.origin),
            want: shown_origin(origin),
        }),
        None => Err(SignatureError::NotAPasskey),
    }
}

/// The key (its `SHA256:…` fingerprint) and the signature counter of a passkey's
/// SSHSIG, read without verifying it: for signatures already on record, which were
/// verified when they were recorded. `None` when `pem` is not a passkey's signature.
pub fn passkey_counter(pem: &str) -> Option<(String, u32)> {
    let p = parse_pem(pem)?;
    let key = crate::fingerprint(&ssh_key::PublicKey::from(p.key));
    Some((key, p.counter))
}

/// WebAuthn's signature-counter rule (§6.1.1 step 21) for a passkey signature of `key`
/// with `counter`, where `last` is the highest counter recorded for that key (`None`:
/// none recorded). A passkey that keeps no counter (synced passkeys) always signs 0,
/// and 0 after 0 passes; otherwise the counter must rise: one not above the last is a
/// replayed assertion or a cloned authenticator. Pure.
pub fn check_counter(key: &str, counter: u32, last: Option<u32>) -> Result<(), SignatureError> {
    match last {
        Some(last) if (counter != 0 || last != 0) && counter <= last => {
            Err(SignatureError::CounterNotAbove {
                key: key.to_string(),
                counter,
                last,
            })
        }
        _ => Ok(()),
    }
}

/// Verify `pem` if it is a passkey's signature: `None` when it is not one (then it is
/// an ordinary SSHSIG, or malformed, for [`crate::check`] to say).
pub(crate) fn check_if_passkey(
    signers: &AllowedSigners,
    message: &str,
    pem: &str,
) -> Option<Result<Checked, SignatureError>> {
    let parsed = parse_pem(pem)?;
    Some(verify(signers, message, &parsed))
}

fn check_pem(
    signers: &AllowedSigners,
    message: &str,
    pem: &str,
) -> Result<Checked, SignatureError> {
    match parse_pem(pem) {
        Some(parsed) => verify(signers, message, &parsed),
        None => Err(SignatureError::NotAPasskey),
    }
}

fn parse_pem(pem: &str) -> Option<Parsed> {
    let Armored(bytes) = Armored::decode_pem(pem.trim().as_bytes()).ok()?;
    Parsed::from_bytes(&bytes).ok()
}

fn verify(signers: &AllowedSigners, message: &str, p: &Parsed) -> Result<Checked, SignatureError> {
    let key = crate::fingerprint(&ssh_key::PublicKey::from(p.key.clone()));
    if p.namespace != NAMESPACE {
        return Err(SignatureError::Namespace(p.namespace.clone()));
    }
    let principals: Vec<String> = signers
        .principals_of(&p.key, NAMESPACE)
        .into_iter()
        .map(str::to_string)
        .collect();
    if principals.is_empty() {
        return Err(SignatureError::UnknownKey(key));
    }
    let sk = p
        .key
        .sk_ecdsa_p256()
        .ok_or_else(|| SignatureError::Invalid(key.clone()))?;
    // The signature first: the flags and the origin are the request's own text until
    // the key's signature covers them, and an error must not repeat (or record) an
    // unsigned claim about the key or the page.
    let invalid = || SignatureError::Invalid(key.clone());
    let signed = assertion_signed_bytes(p, sk.application(), message).ok_or_else(invalid)?;
    let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(sk.ec_point().as_bytes())
        .map_err(|_| invalid())?;
    let sig = ecdsa_signature(&p.r, &p.s).ok_or_else(invalid)?;
    use p256::ecdsa::signature::Verifier;
    vk.verify(&signed, &sig).map_err(|_| invalid())?;
    if p.flags & USER_VERIFIED == 0 || p.flags & USER_PRESENT == 0 {
        return Err(SignatureError::NotUserVerified(key));
    }
    if !origin_fits(&p.origin, sk.application()) {
        return Err(SignatureError::ForeignOrigin {
            origin: shown_origin(&p.origin),
            rp: shown_origin(sk.application()),
        });
    }
    Ok(Checked {
        key,
        principals,
        passkey: Some(Passkey {
            origin: p.origin.clone(),
            counter: p.counter,
            flags: p.flags,
        }),
    })
}

/// What the authenticator signed, rebuilt as `ssh-keygen` does: `None` when the
/// clientData is not the one this message's challenge and this origin give, or the
/// flags contradict the extensions.
fn assertion_signed_bytes(p: &Parsed, application: &str, message: &str) -> Option<Vec<u8>> {
    if p.origin.contains('"')
        || p.flags & ATTESTED_DATA != 0
        || (p.flags & EXTENSION_DATA == 0) != p.extensions.is_empty()
    {
        return None;
    }
    use ssh_encoding::base64::{Base64UrlUnpadded, Encoding};
    let data = signed_data(&p.namespace, p.hash, message);
    let preamble = format!(
        "{{\"type\":\"webauthn.get\",\"challenge\":\"{}\",\"origin\":\"{}\"",
        Base64UrlUnpadded::encode_string(&data),
        p.origin
    );
    if !p.client_data.starts_with(preamble.as_bytes()) {
        return None;
    }
    let mut signed = Vec::with_capacity(AUTH_DATA_HEAD + p.extensions.len() + 32);
    signed.extend(Sha256::digest(application.as_bytes()));
    signed.push(p.flags);
    signed.extend(p.counter.to_be_bytes());
    signed.extend(&p.extensions);
    signed.extend(Sha256::digest(&p.client_data));
    Some(signed)
}

fn ecdsa_signature(r: &[u8], s: &[u8]) -> Option<p256::ecdsa::Signature> {
    let fixed = |v: &[u8]| -> Option<[u8; 32]> {
        let v = match v.len() {
            0..=32 => v,
            _ => v.strip_prefix(&[0])?,
        };
        let mut out = [0u8; 32];
        out.get_mut(32 - v.len()..)?.copy_from_slice(v);
        Some(out)
    };
    p256::ecdsa::Signature::from_scalars(fixed(r)?, fixed(s)?).ok()
}

/// Whether a page at `origin` may speak for relying party `rp` (WebAuthn's rule: the
/// origin's host is the RP id or under it), over HTTPS, or plain HTTP on `localhost`
/// (which browsers treat as secure).
pub fn origin_fits(origin: &str, rp: &str) -> bool {
    let (secure, rest) = match origin.split_once("://") {
        Some(("https", rest)) => (true, rest),
        Some(("http", rest)) => (false, rest),
        _ => return false,
    };
    let host = match rest.rsplit_once(':') {
        Some((h, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => rest,
    };
    if host.is_empty() || rest.contains(['/', '?', '#', '@']) {
        return false;
    }
    let under = host.eq_ignore_ascii_case(rp)
        || host
            .to_ascii_lowercase()
            .ends_with(&format!(".{}", rp.to_ascii_lowercase()));
    under && (secure || host.eq_ignore_ascii_case("localhost"))
}

/// What an error says of an origin (or a relying party): at most [`SHOWN_ORIGIN`]
/// characters, controls and bidi overrides as `?`, so that the text a signature carries
/// neither floods a record nor forges a line of it.
fn shown_origin(origin: &str) -> String {
    let bad = |c: char| {
        c.is_control()
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
    };
    let mut out: String = origin
        .chars()
        .take(SHOWN_ORIGIN)
        .map(|c| if bad(c) { '?' } else { c })
        .collect();
    if origin.chars().nth(SHOWN_ORIGIN).is_some() {
        out.push('…');
    }
    out
}

/// An SSHSIG with a passkey's signature, its parts as they travel.
#[derive(Debug, Clone)]
struct Parsed {
    key: KeyData,
    namespace: String,
    hash: HashAlg,
    r: Vec<u8>,
    s: Vec<u8>,
    flags: u8,
    counter: u32,
    origin: String,
    client_data: Vec<u8>,
    extensions: Vec<u8>,
}

const MAGIC: &[u8] = b"SSHSIG";

impl Parsed {
    fn from_bytes(mut bytes: &[u8]) -> Result<Parsed, ssh_key::Error> {
        let r = &mut bytes;
        let mut magic = [0u8; 6];
        r.read(&mut magic)?;
        if magic != MAGIC || u32::decode(r)? != 1 {
            return Err(ssh_key::Error::FormatEncoding);
        }
        let key = r.read_prefixed(KeyData::decode)?;
        let namespace = String::decode(r)?;
        let _reserved = Vec::<u8>::decode(r)?;
        let hash = HashAlg::new(&String::decode(r)?)?;
        let parsed = r.read_prefixed(|r| Self::signature(r, key, namespace, hash))?;
        r.finish(parsed).map_err(Into::into)
    }

    fn signature(
        r: &mut impl Reader,
        key: KeyData,
        namespace: String,
        hash: HashAlg,
    ) -> Result<Parsed, ssh_key::Error> {
        if String::decode(r)? != WEBAUTHN_ALGORITHM {
            return Err(ssh_key::Error::FormatEncoding);
        }
        let (sr, ss) = r.read_prefixed(|r| {
            let sr = Mpint::decode(r)?;
            let ss = Mpint::decode(r)?;
            Ok::<_, ssh_key::Error>((sr, ss))
        })?;
        let positive = |m: &Mpint| {
            m.as_positive_bytes()
                .map(<[u8]>::to_vec)
                .ok_or(ssh_key::Error::FormatEncoding)
        };
        let bounded = |v: Vec<u8>| match v.len() <= MAX_PART {
            true => Ok(v),
            false => Err(ssh_key::Error::FormatEncoding),
        };
        Ok(Parsed {
            key,
            namespace,
            hash,
            r: positive(&sr)?,
            s: positive(&ss)?,
            flags: u8::decode(r)?,
            counter: u32::decode(r)?,
            origin: String::from_utf8(bounded(Vec::decode(r)?)?)
                .map_err(|_| ssh_key::Error::FormatEncoding)?,
            client_data: bounded(Vec::decode(r)?)?,
            extensions: bounded(Vec::decode(r)?)?,
        })
    }

    fn to_bytes(&self) -> Result<Vec<u8>, ssh_key::Error> {
        let mut ecdsa = Vec::new();
        Mpint::from_positive_bytes(&self.r)?.encode(&mut ecdsa)?;
        Mpint::from_positive_bytes(&self.s)?.encode(&mut ecdsa)?;
        let mut sig = Vec::new();
        WEBAUTHN_ALGORITHM.encode(&mut sig)?;
        ecdsa.encode(&mut sig)?;
        self.flags.encode(&mut sig)?;
        self.counter.encode(&mut sig)?;
        self.origin.encode(&mut sig)?;
        self.client_data.encode(&mut sig)?;
        self.extensions.encode(&mut sig)?;
        let mut out = Vec::new();
        out.write(MAGIC)?;
        1u32.encode(&mut out)?;
        self.key.encode_prefixed(&mut out)?;
        self.namespace.encode(&mut out)?;
        Vec::<u8>::new().encode(&mut out)?;
        self.hash.as_str().encode(&mut out)?;
        sig.encode(&mut out)?;
        Ok(out)
    }
}

/// An SSHSIG's bytes, for the PEM armor (`-----BEGIN SSH SIGNATURE-----`).
struct Armored(Vec<u8>);

impl PemLabel for Armored {
    const PEM_LABEL: &'static str = "SSH SIGNATURE";
}

impl Decode for Armored {
    type Error = ssh_encoding::Error;
    fn decode(r: &mut impl Reader) -> Result<Self, Self::Error> {
        let mut out = vec![0u8; r.remaining_len()];
        r.read(&mut out)?;
        Ok(Armored(out))
    }
}

impl Encode for Armored {
    fn encoded_len(&self) -> Result<usize, ssh_encoding::Error> {
        Ok(self.0.len())
    }
    fn encode(&self, w: &mut impl Writer) -> Result<(), ssh_encoding::Error> {
        w.write(&self.0)
    }
}

/// The passkey key of an allowed-signers line: P-256 point and relying party.
pub(crate) fn passkey_key(point: &[u8], rp: &str) -> Option<KeyData> {
    let point = ssh_key::sec1::EncodedPoint::<p256::U32>::from_bytes(point).ok()?;
    Some(KeyData::SkEcdsaSha2NistP256(SkEcdsaSha2NistP256::new(
        point, rp,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_origin_belongs_to_its_relying_party_over_https_or_on_localhost() {
        assert!(origin_fits(
            "https://ops.example.ts.net",
            "ops.example.ts.net"
        ));
        assert!(origin_fits("https://a.example.com:8443", "example.com"));
        assert!(origin_fits("http://localhost:8787", "localhost"));
        assert!(!origin_fits("http://ops.example.com", "ops.example.com"));
        assert!(!origin_fits("https://evilexample.com", "example.com"));
        assert!(!origin_fits("https://example.com.evil.io", "example.com"));
        assert!(!origin_fits("https://example.com/x", "example.com"));
        assert!(!origin_fits("https://u@example.com", "example.com"));
        assert!(!origin_fits("ftp://example.com", "example.com"));
    }

    #[test]
    fn an_origin_in_an_error_is_short_and_one_line() {
        assert_eq!(shown_origin("https://a.example"), "https://a.example");
        assert_eq!(shown_origin("https://a\n\u{202e}b"), "https://a??b");
        let long = format!("https://{}", "x".repeat(20_000));
        let shown = shown_origin(&long);
        assert_eq!(shown.chars().count(), SHOWN_ORIGIN + 1);
        assert!(shown.ends_with('…'));
    }

    #[test]
    fn a_counter_must_rise_unless_the_passkey_keeps_none() {
        assert_eq!(check_counter("k", 1, None), Ok(()));
        assert_eq!(check_counter("k", 0, None), Ok(()));
        assert_eq!(check_counter("k", 8, Some(7)), Ok(()));
        assert_eq!(check_counter("k", 0, Some(0)), Ok(()), "a synced passkey");
        assert_eq!(check_counter("k", 3, Some(0)), Ok(()), "a counter starts");
        for (counter, last) in [(7, 7), (6, 7), (0, 7), (u32::MAX, u32::MAX)] {
            assert_eq!(
                check_counter("k", counter, Some(last)),
                Err(SignatureError::CounterNotAbove {
                    key: "k".into(),
                    counter,
                    last
                }),
                "{counter} after {last}"
            );
        }
        let e = check_counter("SHA256:x", 2, Some(2))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("counter 2, not above 2") && e.contains("SHA256:x"),
            "{e}"
        );
    }

    #[test]
    fn garbage_and_other_keys_are_no_passkey_signature() {
        assert!(parse_pem("").is_none());
        assert!(
            parse_pem("-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n")
                .is_none()
        );
        let ed = ssh_key::PublicKey::from_openssh(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIObQ3CUmxnTVCDKZd2xLghtbDqUktFxA4TFVx03CJIlh",
        )
        .unwrap();
        let a = Assertion {
            authenticator_data: &[0; 37],
            client_data_json: b"{\"origin\":\"https://x\"}",
            signature: &[],
        };
        assert_eq!(
            sshsig_from_assertion(ed.key_data(), &a),
            Err(AssertionError::NotAPasskeyKey)
        );
    }
}
