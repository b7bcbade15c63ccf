//! `argv(…)` and `is_simple(…)`: a command as the words its program would get, for a
//! gate's policy over shell text (issue 56 point 3). A prefix test over the text is no
//! read-only check: `git status && touch x` starts with `git status`. A command counts
//! as words only when the shell would do nothing to it but split it into words and
//! remove quotes; anything it would act on (run another command, redirect, expand)
//! makes it not simple, and then it has no words at all.

/// Characters a command may not hold anywhere, even quoted, to be simple: operators
/// (`;`, `&`, `|`, `<`, `>`, `(`, `)`), every expansion (`$`, backquote, globs `*?[]`,
/// braces, `~`), a comment (`#`), `!` and `^` (negation and old shells' pipe). Refused
/// even inside quotes: inside `"…"` the shell still expands `$(…)` and backquotes, and a
/// rule is not the place to weigh quoting.
pub const SPECIAL: &str = ";&|<>()$`*?[]{}~#!^";

/// The words of `command` as `sh -c` would pass them to its program, or `None` when
/// the command is not simple: it holds a character of [`SPECIAL`], a newline or any
/// other control character but a tab, an unclosed quote, or no word at all.
pub fn argv(command: &str) -> Option<Vec<String>> {
    let refused = |c: char| SPECIAL.contains(c) || (c.is_control() && c != '\t');
    if command.chars().any(refused) {
        return None;
    }
    shlex::split(command).filter(|w| !w.is_empty())
}

/// Words as one text that splits back into them (`git commit -m 'a b'`): how `argv`'s
/// value reads as text (in `matches`, in a record).
pub fn join(words: &[String]) -> String {
    shlex::try_join(words.iter().map(String::as_str)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Option<Vec<String>> {
        argv(s)
    }

    fn some(w: &[&str]) -> Option<Vec<String>> {
        Some(w.iter().map(|w| w.to_string()).collect())
    }

    #[test]
    fn a_simple_command_is_its_words() {
        assert_eq!(words("git status"), some(&["git", "status"]));
        assert_eq!(words("  git   status  "), some(&["git", "status"]));
        assert_eq!(words("git\tstatus"), some(&["git", "status"]));
        assert_eq!(
            words("git commit -m 'a b' \"c d\" e\\ f"),
            some(&["git", "commit", "-m", "a b", "c d", "e f"])
        );
        assert_eq!(words("A=b git log"), some(&["A=b", "git", "log"]));
    }

    #[test]
    fn anything_the_shell_would_act_on_has_no_words() {
        for c in [
            "git status && touch x",
            "git status; rm -rf /",
            "git status || rm x",
            "git status | sh",
            "git status $(rm x)",
            "git status `rm x`",
            "git status \"$(rm x)\"",
            "git status 'x;y'",
            "git status\nrm x",
            "git status\rrm x",
            "git status > x",
            "git status < x",
            "git status 2>&1",
            "git status &",
            "(rm x)",
            "git status $HOME",
            "ls *",
            "ls ?",
            "ls [ab]",
            "touch {a,b}",
            "ls ~",
            "git status # x",
            "! git status",
            "git status\u{0}",
            "git 'status",
            "",
            "   ",
        ] {
            assert_eq!(argv(c), None, "{c:?}");
        }
    }

    #[test]
    fn joined_words_split_back_into_them() {
        for c in ["git status", "git commit -m 'a b'", "echo \"it's\""] {
            let w = argv(c).unwrap();
            assert_eq!(argv(&join(&w)), Some(w), "{c:?}");
        }
    }
}
