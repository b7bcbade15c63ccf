//! Who is acting: the operating-system account of this process (the user name of its
//! uid in the password database), never a typed name. Approvals, rejections, marks,
//! cancels, retries and the start of a run are all made under it.
use super::SessionError;

/// What a `--operator` flag is told: identity is not a flag any more.
pub(crate) const OPERATOR_FLAG_REFUSED: &str = "--operator is not accepted: who decides is the operating-system account running baton (the user name of its uid); run baton as that user (e.g. `sudo -u alice baton …`), or share a store between accounts with `baton store init --group NAME`";

/// The user name of this process's real uid.
pub fn os_account() -> Result<String, SessionError> {
    let uid = nix::unistd::getuid();
    let user = nix::unistd::User::from_uid(uid).map_err(|e| {
        SessionError::System(format!(
            "cannot read the password database for uid {uid}: {e}"
        ))
    })?;
    user.and_then(|u| baton_model::clean_name(&u.name).map(str::to_string))
        .ok_or_else(|| {
            SessionError::Usage(format!(
                "uid {uid} has no name in the password database; baton records decisions under the account's name, so run it as an account that has one"
            ))
        })
}

/// Refuse a typed operator name (exit 2), else the OS account.
pub fn operator(typed: Option<&str>) -> Result<String, SessionError> {
    if typed.is_some() {
        return Err(SessionError::Usage(OPERATOR_FLAG_REFUSED.into()));
    }
    os_account()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_operator_is_refused_as_usage() {
        let e = operator(Some("alice")).unwrap_err();
        assert_eq!(e.exit_code(), super::super::exit::USAGE);
        assert!(e.to_string().contains("operating-system account"));
    }

    #[test]
    fn the_account_is_the_uid_name() {
        let me = nix::unistd::User::from_uid(nix::unistd::getuid())
            .unwrap()
            .unwrap()
            .name;
        assert_eq!(operator(None).unwrap(), me);
    }
}
