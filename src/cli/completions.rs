//! `baton completions SHELL` and `baton man`: generated from the same clap definition as
//! the parser, so they never drift from the commands and options that exist.
use super::{Cli, exit};
use clap::{Args, CommandFactory};
use clap_complete::Shell;
use std::path::PathBuf;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  baton completions bash > ~/.local/share/bash-completion/completions/baton\n  baton completions zsh > ~/.zfunc/_baton\n  baton completions fish > ~/.config/fish/completions/baton.fish"
)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  baton man | man -l -\n  baton man --out ~/.local/share/man/man1   # baton.1 and one page per subcommand"
)]
pub struct ManArgs {
    /// Write baton.1 and baton-SUBCOMMAND.1 into this directory instead of printing
    /// baton.1 to standard output.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn completions(a: &CompletionsArgs) -> i32 {
    let mut cmd = offered(&Cli::command());
    let mut out = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "baton", &mut out);
    out.extend_from_slice(ids_hook(a.shell).as_bytes());
    // As clap wrote it before: a script, not data to sanitise; a closed pipe is not a failure.
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), &out);
    exit::OK
}

/// Appended to clap's script: where the parser wants a run or a step id, the ids come
/// from the store (`baton __complete`, which exits 1 anywhere else, and then clap's
/// own completion answers).
fn ids_hook(shell: Shell) -> &'static str {
    match shell {
        Shell::Bash => {
            r#"
# Run and step ids from the store.
_baton_ids() {
    local ids
    if ids=$("${COMP_WORDS[0]}" __complete -- "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null); then
        local IFS=$'
'
        COMPREPLY=($(compgen -W "$ids" -- "${COMP_WORDS[COMP_CWORD]}"))
        return 0
    fi
    _baton "$@"
}
complete -F _baton_ids -o nosort -o bashdefault -o default baton
"#
        }
        Shell::Zsh => {
            r#"
# Run and step ids from the store (when this script is sourced).
_baton_ids() {
    local out
    if out=$(${words[1]} __complete -- "${(@)words[2,CURRENT]}" 2>/dev/null); then
        local -a ids
        ids=(${(f)out})
        compadd -a ids
        return 0
    fi
    _baton "$@"
}
(( $+functions[compdef] )) && compdef _baton_ids baton
"#
        }
        Shell::Fish => {
            r#"
# Run and step ids from the store.
complete -c baton -f -a '(baton __complete -- (commandline -opc)[2..-1] (commandline -ct) 2>/dev/null)'
"#
        }
        _ => "",
    }
}

/// The command as completions offer it: without hidden options (a refused
/// `--operator`) or hidden subcommands, which the generators would list otherwise.
fn offered(cmd: &clap::Command) -> clap::Command {
    let mut out = clap::Command::new(cmd.get_name().to_string())
        .visible_aliases(cmd.get_visible_aliases().map(str::to_string))
        .disable_help_subcommand(true);
    if let Some(about) = cmd.get_about() {
        out = out.about(about.clone());
    }
    if let Some(v) = cmd.get_version() {
        out = out.version(v.to_string());
    }
    let kept: Vec<&clap::Arg> = cmd.get_arguments().filter(|a| !a.is_hide_set()).collect();
    let ids: Vec<&str> = kept.iter().map(|a| a.get_id().as_str()).collect();
    out = out.args(kept.iter().map(|a| (*a).clone()));
    for g in cmd.get_groups() {
        let members: Vec<&clap::Id> = g
            .get_args()
            .filter(|id| ids.contains(&id.as_str()))
            .collect();
        out = out.group(
            clap::ArgGroup::new(g.get_id())
                .args(members)
                .multiple(g.clone().is_multiple()),
        );
    }
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        out = out.subcommand(offered(sub));
    }
    out
}

pub fn man(a: &ManArgs) -> i32 {
    let cmd = Cli::command();
    let Some(dir) = &a.out else {
        return match clap_mangen::Man::new(cmd).render(&mut std::io::stdout()) {
            Ok(()) => exit::OK,
            Err(e) => {
                crate::stdio::errln!("error: cannot write the man page: {e}");
                exit::FAILED
            }
        };
    };
    if let Err(e) = std::fs::create_dir_all(dir) {
        crate::stdio::errln!("error: cannot create {}: {e}", dir.display());
        return exit::FAILED;
    }
    match clap_mangen::generate_to(cmd, dir) {
        Ok(()) => {
            crate::stdio::outln!("man pages written to {}", dir.display());
            exit::OK
        }
        Err(e) => {
            crate::stdio::errln!("error: cannot write man pages into {}: {e}", dir.display());
            exit::FAILED
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every option and argument of every command says what it is for (`--help`, the
    /// man pages and the completions all show it).
    /// A refused or internal option is never offered (`--operator` is hidden: the
    /// account running baton decides, never a typed name).
    #[test]
    fn completions_offer_no_hidden_option() {
        let mut cmd = offered(&Cli::command());
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cmd, "baton", &mut buf);
            let script = String::from_utf8_lossy(&buf);
            assert!(
                !script.contains("--operator") && !script.contains("-l operator"),
                "{shell}: {script}"
            );
            assert!(
                script.contains("readonly"),
                "{shell}: what is offered stays"
            );
        }
    }

    #[test]
    fn every_argument_of_every_command_has_help_text() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if matches!(id, "help" | "version") {
                    continue;
                }
                if arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "baton", &mut missing);
        assert!(missing.is_empty(), "no help text: {missing:#?}");
    }
}
