//! `--mix accounts` (issue 61 point 1: "operators from several OS accounts"): the
//! store is a group store (`Store::init_group`) of the group the suite's accounts
//! belong to (tests/accounts.sh: `gmteam`, members `gmalice` and `gmbob`), and each
//! operator's command, trigger and ask answer is made by one of its members or by this
//! process's account, drawn from a seventh stream of the seed. What makes a proof an
//! account's is the kernel's word: the file's owner. A process of the simulator is one
//! account, so the operator's calls are made with this thread's file-system identity
//! set to the member's (`setfsuid`, `setfsgid`: per thread, so seeds on other threads
//! are untouched): every file they make is the member's, as its own `baton` would make
//! it. It needs root (to take another identity) and the accounts; without them the mix
//! says what is missing.
//!
//! Besides the forgeries of every mix (rows written with SQL, no proof), a member
//! forges here as only a member can: a row with a proof of its own that names another
//! member (`forged-N`): refused, the proof's owner not being the account the row names.
use crate::SimError;
use crate::world::World;
use nix::unistd::{Gid, Group, Uid, User, setfsgid, setfsuid};
use rand::Rng;

/// The group the scenario's store is shared with, and its members (tests/accounts.sh).
pub(crate) const GROUP: &str = "gmteam";
const MEMBERS: [&str; 2] = ["gmalice", "gmbob"];

/// An OS account an operator acts as.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub name: String,
    uid: Uid,
    gid: Gid,
}

/// The members of [`GROUP`], and this process's account; an error saying what is
/// missing when they cannot be acted as.
pub(crate) fn members(me: &str) -> Result<Vec<Account>, SimError> {
    let missing = |what: String| {
        SimError::Accounts(format!(
            "--mix accounts {what}: run it as root on a machine with the accounts of tests/accounts.sh (`sudo tests/accounts.sh add`)"
        ))
    };
    if !Uid::effective().is_root() {
        return Err(missing("acts as other accounts, which needs root".into()));
    }
    let group = Group::from_name(GROUP)
        .ok()
        .flatten()
        .ok_or_else(|| missing(format!("needs the group `{GROUP}`")))?;
    let mut accounts = Vec::new();
    for name in MEMBERS {
        let user = User::from_name(name)
            .ok()
            .flatten()
            .ok_or_else(|| missing(format!("needs the account `{name}`")))?;
        accounts.push(Account {
            name: name.to_string(),
            uid: user.uid,
            gid: group.gid,
        });
    }
    accounts.push(Account {
        name: me.to_string(),
        uid: Uid::effective(),
        gid: Gid::effective(),
    });
    Ok(accounts)
}

/// The accounts operators act as with `mix` (none but with `--mix accounts`, whose
/// store is then made a group store: [`share`]).
pub(crate) fn for_mix(
    mix: crate::Mix,
    me: &str,
    dir: &std::path::Path,
    db: &std::path::Path,
) -> Result<Vec<Account>, SimError> {
    if mix != crate::Mix::Accounts {
        return Ok(Vec::new());
    }
    let accounts = members(me)?;
    share(dir, db)?;
    Ok(accounts)
}

/// The scenario's store made a group store of [`GROUP`] (`baton store init --group`),
/// its temporary directory passable by the members.
pub(crate) fn share(dir: &std::path::Path, db: &std::path::Path) -> Result<(), SimError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o711)).map_err(|error| {
        SimError::Io {
            path: dir.to_path_buf(),
            error,
        }
    })?;
    baton_store::Store::init_group(db, GROUP)?;
    Ok(())
}

/// This thread's file-system identity as an account's, until dropped.
pub(crate) struct Acting {
    uid: Uid,
    gid: Gid,
}

impl Acting {
    pub(crate) fn as_account(a: &Account) -> Acting {
        // The group first, while this thread may still change it.
        let gid = setfsgid(a.gid);
        let uid = setfsuid(a.uid);
        Acting { uid, gid }
    }
}

impl Drop for Acting {
    fn drop(&mut self) {
        setfsuid(self.uid);
        setfsgid(self.gid);
    }
}

impl World {
    /// Who the next operator's call is made by: a member or this process's account
    /// (`--mix accounts`), else this process's account.
    pub(crate) fn draw_operator(&mut self) -> Option<Account> {
        if self.accounts.is_empty() {
            return None;
        }
        let i = self.who.random_range(0..self.accounts.len());
        let a = self.accounts[i].clone();
        self.history.push(format!("  as {}", a.name));
        Some(a)
    }

    /// A member's forgery (`--mix accounts`, one forged command in two): another
    /// account than the one the row names.
    pub(crate) fn member_forger(&mut self, named: &str) -> Option<Account> {
        if self.accounts.is_empty() || self.who.random_bool(0.5) {
            return None;
        }
        let others: Vec<&Account> = self.accounts.iter().filter(|a| a.name != named).collect();
        let forger = others[self.who.random_range(0..others.len())].clone();
        self.history
            .push(format!("  {} forges a row in {named}'s name", forger.name));
        Some(forger)
    }

    /// `f` made by `who` (this process's own account when `None`); the decision's
    /// tag remembered as that account's.
    pub(crate) fn acting<T>(
        &mut self,
        who: Option<&Account>,
        f: impl FnOnce(&mut World) -> Result<T, SimError>,
    ) -> Result<T, SimError> {
        let _as = who.map(Acting::as_account);
        f(self)
    }
}

/// approvals.md: a decision is "recorded under the operating-system account of the
/// process that makes them […] Neither a flag nor `$USER` changes it": every audit row
/// carrying the tag of a decision an operator made (`op-N`) names the account that
/// made it. `rows`: `(id, actor, reason)` of the audit rows not read yet; `made_by`: each
/// tag's account.
pub(crate) fn a_decision_is_its_accounts(
    rows: &[(i64, String, Option<String>)],
    made_by: &std::collections::BTreeMap<String, String>,
) -> Option<String> {
    rows.iter().find_map(|(id, actor, reason)| {
        let tag = reason.as_deref()?;
        let maker = made_by.get(tag)?;
        (!baton_model::same_actor(actor, maker)).then(|| {
            format!("audit row {id} ({tag}) names `{actor}`, but `{maker}` made that decision")
        })
    })
}

impl World {
    /// [`a_decision_is_its_accounts`] over the audit rows recorded since the last look.
    pub(crate) fn check_accounts(&mut self) -> Result<Option<String>, SimError> {
        if self.made_by.is_empty() {
            return Ok(None);
        }
        let mut stmt = self
            .raw
            .prepare_cached("SELECT id, actor, reason FROM audit WHERE id > ?1 ORDER BY id")?;
        let rows = stmt
            .query_map([self.audit_seen], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<Vec<(i64, String, Option<String>)>, _>>()?;
        drop(stmt);
        if let Some((id, _, _)) = rows.last() {
            self.audit_seen = *id;
        }
        Ok(a_decision_is_its_accounts(&rows, &self.made_by))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decision_recorded_under_another_account_than_its_maker_s_is_reported() {
        let made_by = [("op-1".to_string(), "gmalice".to_string())].into();
        let row =
            |actor: &str, reason: Option<&str>| (7, actor.to_string(), reason.map(Into::into));
        assert_eq!(
            a_decision_is_its_accounts(&[row("GMalice", Some("op-1"))], &made_by),
            None
        );
        assert_eq!(
            a_decision_is_its_accounts(&[row("gmbob", Some("forged-2"))], &made_by),
            None
        );
        assert_eq!(
            a_decision_is_its_accounts(&[row("root", None)], &made_by),
            None
        );
        let broken = a_decision_is_its_accounts(&[row("gmbob", Some("op-1"))], &made_by);
        assert!(
            broken.is_some_and(|d| d.contains("names `gmbob`") && d.contains("`gmalice` made"))
        );
    }
}
