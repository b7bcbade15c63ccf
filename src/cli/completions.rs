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
    let mut cmd = Cli::command();
    clap_complete::generate(a.shell, &mut cmd, "baton", &mut std::io::stdout());
    exit::OK
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
