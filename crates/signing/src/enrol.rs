//! A passkey's allowed-signers line, from what the browser returns when the passkey
//! is created (`navigator.credentials.create()`): its public key (`getPublicKey()`, a
//! DER SubjectPublicKeyInfo), its authenticator data and its credential id. The key
//! becomes an OpenSSH `sk-ecdsa-sha2-nistp256@openssh.com` key whose application is the
//! relying party, which `ssh-keygen -Y verify` and [`crate::check`] take. Pure.
use crate::NAMESPACE;
use crate::webauthn::passkey_key;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::DecodePublicKey;
use sha2::{Digest, Sha256};
use ssh_encoding::base64::{Base64UrlUnpadded, Encoding};

/// What `navigator.credentials.create()` returned, as bytes.
#[derive(Debug, Clone, Copy)]
pub struct Created<'a> {
    /// `response.getPublicKey()`: a DER SubjectPublicKeyInfo.
    pub public_key: &'a [u8],
    /// `response.getAuthenticatorData()`.
    pub authenticator_data: &'a [u8],
    /// `rawId`: the credential id, kept in the line's comment (`passkey:<base64url>`)
    /// so that a page can name the credential to use (`allowCredentials`).
    pub credential_id: &'a [u8],
}

/// Why a created passkey cannot be enrolled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnrolError {
    #[error(
        "the passkey's public key is not a P-256 key (COSE algorithm -7, ES256): create it with `pubKeyCredParams: [{{type: \"public-key\", alg: -7}}]`"
    )]
    NotP256,
    #[error("the authenticator data is {0} bytes, shorter than its 37-byte head")]
    ShortAuthenticatorData(usize),
    #[error(
        "the passkey was made for another relying party than `{0}` (its rpIdHash differs): create it with `rp.id` = `{0}`"
    )]
    OtherRelyingParty(String),
    #[error(
        "the passkey was created without user verification (a PIN or a biometric): baton counts only verified decisions; use an authenticator that verifies its holder"
    )]
    NotUserVerified,
    #[error(
        "principal `{0}` cannot stand in an allowed-signers line: give one name without blanks, commas, quotes or `*?!`"
    )]
    Principal(String),
    #[error("cannot encode the key: {0}")]
    Encode(String),
    #[error(
        "the page did not prove it holds the passkey's private key: {0}; enrol from the page `baton passkey enrol` serves, which asks the new passkey to sign its challenge"
    )]
    NoProof(&'static str),
}

/// The new passkey's signature over the enrolment's second challenge
/// (`navigator.credentials.get()` right after the creation, the new credential only):
/// proof that whoever sends the public key holds its private key, made with user
/// verification. A creation's own flags and clientData are not signed (with
/// `attestation: "none"`); this assertion's are.
#[derive(Debug, Clone, Copy)]
pub struct Proof<'a> {
    /// `response.authenticatorData` of the assertion.
    pub authenticator_data: &'a [u8],
    /// `response.clientDataJSON` of the assertion.
    pub client_data: &'a [u8],
    /// `response.signature`: an ECDSA signature, DER, over
    /// `authenticatorData || SHA-256(clientDataJSON)`.
    pub signature: &'a [u8],
}

/// Whether `proof` is a signature by `created`'s key over `challenge`, made at `origin`
/// for relying party `rp` with the user verified. The signature is checked before any
/// flag or field it covers is believed.
pub fn check_possession(
    created: &Created<'_>,
    rp: &str,
    origin: &str,
    challenge: &[u8],
    proof: &Proof<'_>,
) -> Result<(), EnrolError> {
    use p256::ecdsa::signature::Verifier;
    let key = p256::PublicKey::from_public_key_der(created.public_key)
        .map_err(|_| EnrolError::NotP256)?;
    let sig = p256::ecdsa::Signature::from_der(proof.signature)
        .map_err(|_| EnrolError::NoProof("the signature is not a DER ECDSA signature"))?;
    let mut signed = proof.authenticator_data.to_vec();
    signed.extend(Sha256::digest(proof.client_data));
    p256::ecdsa::VerifyingKey::from(&key)
        .verify(&signed, &sig)
        .map_err(|_| EnrolError::NoProof("the signature is not the new passkey's"))?;
    let auth = proof.authenticator_data;
    if auth.len() < 37 || auth[..32] != Sha256::digest(rp.as_bytes())[..] {
        return Err(EnrolError::NoProof("it was made for another relying party"));
    }
    if auth[32] & 0x05 != 0x05 {
        return Err(EnrolError::NotUserVerified);
    }
    let client: serde_json::Value = serde_json::from_slice(proof.client_data)
        .map_err(|_| EnrolError::NoProof("its clientDataJSON is not JSON"))?;
    if client["type"] != "webauthn.get"
        || client["challenge"] != Base64UrlUnpadded::encode_string(challenge)
        || client["origin"] != origin
    {
        return Err(EnrolError::NoProof(
            "it signs another challenge, type or origin than this enrolment's",
        ));
    }
    Ok(())
}

/// Whether `principal` can stand alone as an allowed-signers line's principal.
pub fn check_principal(principal: &str) -> Result<(), EnrolError> {
    if principal.is_empty()
        || principal.len() > 256
        || principal
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || ",\"'*?!#".contains(c))
    {
        return Err(EnrolError::Principal(principal.to_string()));
    }
    Ok(())
}

/// The allowed-signers line of a created passkey: `PRINCIPAL namespaces="baton"
/// sk-ecdsa-sha2-nistp256@openssh.com AAAA… passkey:<credential id>`, its application
/// `rp` (the relying party id the passkey was created for).
pub fn passkey_line(
    principal: &str,
    rp: &str,
    created: &Created<'_>,
) -> Result<String, EnrolError> {
    check_principal(principal)?;
    let auth = created.authenticator_data;
    if auth.len() < 37 {
        return Err(EnrolError::ShortAuthenticatorData(auth.len()));
    }
    if auth[..32] != Sha256::digest(rp.as_bytes())[..] {
        return Err(EnrolError::OtherRelyingParty(rp.to_string()));
    }
    // User present (0x01) and user verified (0x04).
    if auth[32] & 0x05 != 0x05 {
        return Err(EnrolError::NotUserVerified);
    }
    let key = p256::PublicKey::from_public_key_der(created.public_key)
        .map_err(|_| EnrolError::NotP256)?;
    let point = key.to_encoded_point(false);
    let data = passkey_key(point.as_bytes(), rp).ok_or(EnrolError::NotP256)?;
    let comment = format!(
        "passkey:{}",
        Base64UrlUnpadded::encode_string(created.credential_id)
    );
    let key = ssh_key::PublicKey::new(data, comment)
        .to_openssh()
        .map_err(|e| EnrolError::Encode(e.to_string()))?;
    Ok(format!("{principal} namespaces=\"{NAMESPACE}\" {key}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::{DerSignature, SigningKey, signature::Signer};
    use p256::pkcs8::EncodePublicKey;

    const ORIGIN: &str = "https://ops.example.ts.net";
    const RP: &str = "ops.example.ts.net";
    const CHALLENGE: &[u8] = b"the enrolment's second challenge";

    fn key(seed: u8) -> (SigningKey, Vec<u8>) {
        let sk = SigningKey::from_bytes(&[seed; 32].into()).unwrap();
        let der = p256::PublicKey::from(sk.verifying_key())
            .to_public_key_der()
            .unwrap()
            .as_bytes()
            .to_vec();
        (sk, der)
    }

    /// An assertion by `sk` over `challenge` at `origin`, with `flags`: its parts.
    fn assertion(sk: &SigningKey, flags: u8, origin: &str, challenge: &[u8]) -> [Vec<u8>; 3] {
        let mut auth = Sha256::digest(RP.as_bytes()).to_vec();
        auth.push(flags);
        auth.extend(7u32.to_be_bytes());
        let client = format!(
            "{{\"type\":\"webauthn.get\",\"challenge\":\"{}\",\"origin\":\"{origin}\",\"crossOrigin\":false}}",
            Base64UrlUnpadded::encode_string(challenge)
        )
        .into_bytes();
        let mut signed = auth.clone();
        signed.extend(Sha256::digest(&client));
        let sig: DerSignature = sk.sign(&signed);
        [auth, client, sig.as_bytes().to_vec()]
    }

    fn checked(public_key: &[u8], parts: &[Vec<u8>; 3]) -> Result<(), EnrolError> {
        let created = Created {
            public_key,
            authenticator_data: &[],
            credential_id: b"id",
        };
        let proof = Proof {
            authenticator_data: &parts[0],
            client_data: &parts[1],
            signature: &parts[2],
        };
        check_possession(&created, RP, ORIGIN, CHALLENGE, &proof)
    }

    #[test]
    fn the_new_key_s_verified_signature_over_the_challenge_proves_it() {
        let (sk, der) = key(7);
        checked(&der, &assertion(&sk, 0x05, ORIGIN, CHALLENGE)).unwrap();
    }

    #[test]
    fn another_key_s_signature_or_none_proves_nothing() {
        let (_, der) = key(7);
        let (other, _) = key(9);
        let by_other = assertion(&other, 0x05, ORIGIN, CHALLENGE);
        assert!(matches!(
            checked(&der, &by_other),
            Err(EnrolError::NoProof(_))
        ));
        let mut unsigned = by_other;
        unsigned[2].clear();
        assert!(matches!(
            checked(&der, &unsigned),
            Err(EnrolError::NoProof(_))
        ));
    }

    #[test]
    fn the_proof_is_of_this_challenge_origin_and_a_verified_user() {
        let (sk, der) = key(7);
        let other_challenge = assertion(&sk, 0x05, ORIGIN, b"another");
        assert!(matches!(
            checked(&der, &other_challenge),
            Err(EnrolError::NoProof(_))
        ));
        let other_origin = assertion(&sk, 0x05, "https://evil.example", CHALLENGE);
        assert!(matches!(
            checked(&der, &other_origin),
            Err(EnrolError::NoProof(_))
        ));
        let touch_only = assertion(&sk, 0x01, ORIGIN, CHALLENGE);
        assert_eq!(checked(&der, &touch_only), Err(EnrolError::NotUserVerified));
    }
}
