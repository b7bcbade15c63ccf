//! Making a signature (the I/O of signing): with a private key file (`--sign-key`) or
//! through ssh-agent (`$SSH_AUTH_SOCK`). Both produce the armored SSHSIG that
//! `ssh-keygen -Y sign -n baton` would, hashed with SHA-512 as it does.
use super::{AllowedSigners, NAMESPACE, fingerprint, first_approver_key};
use ssh_key::{HashAlg, LineEnding, PrivateKey, PublicKey, SshSig};
use std::path::Path;

/// Why no signature could be made.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error("cannot read the key {path}: {why}")]
    KeyFile { path: String, why: String },
    #[error(
        "the key {0} is protected by a passphrase: add it to ssh-agent (`ssh-add {0}`) and approve without --sign-key, or sign the printed message with `ssh-keygen -Y sign -n baton -f {0}` and pass --signature"
    )]
    Encrypted(String),
    #[error(
        "no ssh-agent: SSH_AUTH_SOCK is not set. Start one (`eval $(ssh-agent)`, `ssh-add KEY`), or sign with --sign-key KEY, or with `--print-message` and `ssh-keygen -Y sign -n baton -f KEY` then --signature FILE"
    )]
    NoAgent,
    #[error("ssh-agent at {sock}: {why}")]
    Agent { sock: String, why: String },
    #[error(
        "none of the {count} key(s) in ssh-agent is listed in the allowed signers under an approver of this gate ({approvers}); `ssh-add` the key whose public half is in the allowed-signers file"
    )]
    NoApproverKey { count: usize, approvers: String },
    #[error("signing failed: {0}")]
    Sign(String),
}

/// Sign `message` with the private key in `path` (OpenSSH format, unencrypted).
pub fn sign_with_key_file(path: &Path, message: &str) -> Result<String, SigningError> {
    let shown = path.display().to_string();
    let key = PrivateKey::read_openssh_file(path).map_err(|e| SigningError::KeyFile {
        path: shown.clone(),
        why: e.to_string(),
    })?;
    if key.is_encrypted() {
        return Err(SigningError::Encrypted(shown));
    }
    let sig = match key.key_data() {
        ssh_key::private::KeypairData::Rsa(rsa) => rsa_sshsig(rsa, message),
        _ => key
            .sign(NAMESPACE, HashAlg::Sha512, message.as_bytes())
            .map_err(|e| SigningError::Sign(e.to_string())),
    }?;
    sig.to_pem(LineEnding::LF)
        .map_err(|e| SigningError::Sign(e.to_string()))
}

/// An RSA key's SSHSIG (`rsa-sha2-512`, as ssh-keygen makes it), signed by the `rsa`
/// crate: `ssh-key` 0.6 builds RSA private keys from the wrong primes (p twice) and
/// cannot sign with them; its verification is unaffected.
fn rsa_sshsig(kp: &ssh_key::private::RsaKeypair, message: &str) -> Result<SshSig, SigningError> {
    use rsa::signature::{SignatureEncoding, Signer};
    let fail = |e: &dyn std::fmt::Display| SigningError::Sign(format!("RSA: {e}"));
    let big = |m: &ssh_key::Mpint| {
        m.as_positive_bytes()
            .map(rsa::BigUint::from_bytes_be)
            .ok_or_else(|| fail(&"a negative key component"))
    };
    let key = rsa::RsaPrivateKey::from_components(
        big(&kp.public.n)?,
        big(&kp.public.e)?,
        big(&kp.private.d)?,
        vec![big(&kp.private.p)?, big(&kp.private.q)?],
    )
    .map_err(|e| fail(&e))?;
    let data = SshSig::signed_data(NAMESPACE, HashAlg::Sha512, message.as_bytes())
        .map_err(|e| fail(&e))?;
    let raw = rsa::pkcs1v15::SigningKey::<sha2::Sha512>::new(key)
        .try_sign(&data)
        .map_err(|e| fail(&e))?;
    let sig = ssh_key::Signature::new(
        ssh_key::Algorithm::Rsa {
            hash: Some(HashAlg::Sha512),
        },
        raw.to_vec(),
    )
    .map_err(|e| fail(&e))?;
    SshSig::new(
        ssh_key::public::KeyData::Rsa(kp.public.clone()),
        NAMESPACE,
        HashAlg::Sha512,
        sig,
    )
    .map_err(|e| fail(&e))
}

/// Sign `message` through the ssh-agent at `$SSH_AUTH_SOCK`, with the agent's first key
/// that `signers` lists under one of `approvers`. Returns the armored signature and the
/// key's fingerprint.
pub fn sign_with_agent(
    signers: &AllowedSigners,
    approvers: &[String],
    message: &str,
) -> Result<(String, String), SigningError> {
    let sock = std::env::var_os("SSH_AUTH_SOCK")
        .filter(|s| !s.is_empty())
        .ok_or(SigningError::NoAgent)?;
    let shown = Path::new(&sock).display().to_string();
    let agent_err = |why: String| SigningError::Agent {
        sock: shown.clone(),
        why,
    };
    let mut client = ssh_agent_client_rs::Client::connect(Path::new(&sock))
        .map_err(|e| agent_err(format!("cannot connect: {e}")))?;
    let keys: Vec<PublicKey> = client
        .list_all_identities()
        .map_err(|e| agent_err(format!("cannot list its keys: {e}")))?
        .into_iter()
        .filter_map(|id| match id {
            ssh_agent_client_rs::Identity::PublicKey(k) => Some(k.into_owned()),
            ssh_agent_client_rs::Identity::Certificate(_) => None,
        })
        .collect();
    let key = first_approver_key(signers, approvers, &keys).ok_or_else(|| {
        SigningError::NoApproverKey {
            count: keys.len(),
            approvers: approvers.join(", "),
        }
    })?;
    let data = SshSig::signed_data(NAMESPACE, HashAlg::Sha512, message.as_bytes())
        .map_err(|e| SigningError::Sign(e.to_string()))?;
    let raw = client
        .sign(key, &data)
        .map_err(|e| agent_err(format!("refused to sign with {}: {e}", fingerprint(key))))?;
    let pem = SshSig::new(key.key_data().clone(), NAMESPACE, HashAlg::Sha512, raw)
        .and_then(|sig| sig.to_pem(LineEnding::LF))
        .map_err(|e| SigningError::Sign(e.to_string()))?;
    Ok((pem, fingerprint(key)))
}
