//! Who this process acts as: the operating-system account of its real uid, from the
//! password database. Never `$USER`, never a typed name (issue 11): anyone can set an
//! environment variable or a flag, nobody can change their uid.
use super::SessionError;

/// Where identity comes from, for messages that refuse a typed one.
pub const WHERE_IDENTITY_COMES_FROM: &str = "decisions are made by the operating-system account that runs baton (its uid's name in the password database); to act as someone else, run baton as them (e.g. `sudo -u alice baton approve …`)";

/// The account's name. An uid without a password entry cannot decide anything.
pub fn os_account() -> Result<String, SessionError> {
    let uid = nix::unistd::getuid();
    match nix::unistd::User::from_uid(uid) {
        Ok(Some(u)) if !u.name.trim().is_empty() => Ok(u.name),
        Ok(_) => Err(SessionError::Usage(format!(
            "uid {uid} has no name in the password database: baton cannot tell who you are"
        ))),
        Err(e) => Err(SessionError::System(format!(
            "cannot read the password database for uid {uid}: {e}"
        ))),
    }
}

/// The account, refusing a typed `--operator` (exit 2, saying where identity comes from).
pub fn operator(typed: Option<&str>) -> Result<String, SessionError> {
    if typed.is_some() {
        return Err(SessionError::Usage(format!(
            "--operator is no longer accepted: {WHERE_IDENTITY_COMES_FROM}"
        )));
    }
    os_account()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_is_the_uid_s_name_whatever_user_says() {
        let name = os_account().unwrap();
        let expected = nix::unistd::User::from_uid(nix::unistd::getuid())
            .unwrap()
            .unwrap()
            .name;
        assert_eq!(name, expected);
        let typed = operator(Some("alice")).unwrap_err().to_string();
        assert!(
            typed.contains("--operator is no longer accepted"),
            "{typed}"
        );
        assert!(typed.contains("password database"), "{typed}");
    }
}
