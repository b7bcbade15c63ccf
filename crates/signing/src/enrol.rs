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
