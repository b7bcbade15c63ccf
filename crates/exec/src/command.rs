//! How a step's `run` string is started: exec'd directly when it is a plain word list,
//! otherwise through `sh -c`. Direct exec saves a shell per step and has the same
//! meaning, because a plain word list means the same to `sh`.

/// The program and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    Direct { program: String, args: Vec<String> },
    Shell { script: String },
}

/// Words that `sh` gives a meaning that exec does not (builtins without a binary,
/// reserved words): such a command goes through the shell.
const SHELL_WORDS: &[&str] = &[
    ".", ":", "alias", "bg", "break", "case", "cd", "command", "continue", "do", "done", "elif",
    "else", "esac", "eval", "exec", "exit", "export", "fc", "fg", "fi", "for", "function",
    "getopts", "hash", "if", "in", "jobs", "local", "read", "readonly", "return", "select", "set",
    "shift", "source", "then", "time", "times", "trap", "type", "ulimit", "umask", "unalias",
    "unset", "until", "wait", "while",
];

fn plain_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_./=:,+@%-".contains(c) || c == ' '
}

impl Invocation {
    pub fn of(command: &str) -> Invocation {
        let mut words = command.split(' ').filter(|w| !w.is_empty());
        let direct = command.chars().all(plain_char)
            && words
                .next()
                // `A=b cmd` is an assignment to sh; a program name never has `=`.
                .is_some_and(|first| !first.contains('=') && !SHELL_WORDS.contains(&first));
        if direct {
            let mut words = command
                .split(' ')
                .filter(|w| !w.is_empty())
                .map(String::from);
            if let Some(program) = words.next() {
                return Invocation::Direct {
                    program,
                    args: words.collect(),
                };
            }
        }
        Invocation::Shell {
            script: command.to_string(),
        }
    }

    pub fn program(&self) -> &str {
        match self {
            Invocation::Direct { program, .. } => program,
            Invocation::Shell { .. } => "sh",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn direct(program: &str, args: &[&str]) -> Invocation {
        Invocation::Direct {
            program: program.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
        }
    }

    #[test]
    fn plain_word_lists_are_execed_directly() {
        assert_eq!(Invocation::of("true"), direct("true", &[]));
        assert_eq!(
            Invocation::of("make  -j2 build/all.o key=v a@b:c,d+e%f"),
            direct("make", &["-j2", "build/all.o", "key=v", "a@b:c,d+e%f"])
        );
        assert_eq!(Invocation::of("./deploy.sh"), direct("./deploy.sh", &[]));
    }

    #[test]
    fn anything_with_shell_meaning_goes_through_sh() {
        for cmd in [
            "echo \"$X\"",
            "echo $HOME",
            "ls *.rs",
            "a && b",
            "a | b",
            "a > f",
            "a; b",
            "echo 'x'",
            "sleep 1000 & wait",
            "cd /tmp",
            "exit 3",
            "A=b env",
            "echo ~",
            "echo `id`",
            "a\tb",
            "a\nb",
            "",
            "   ",
        ] {
            assert_eq!(
                Invocation::of(cmd),
                Invocation::Shell {
                    script: cmd.to_string()
                },
                "{cmd:?}"
            );
        }
    }
}
