//! Run and step ids for shell completion: `baton __complete -- WORDS…` (hidden), which
//! the scripts `baton completions SHELL` prints call at each tab press. Which id the
//! word under the cursor is comes from the same clap definition as the parser
//! ([`wanted`], pure); the candidates come from the store. Exit 1 (and nothing printed)
//! where no id is wanted, so the script falls back to clap's own completion.
use super::{Cli, exit};
use clap::{Args, CommandFactory};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct CompleteArgs {
    /// The words after `baton` up to the cursor; the last is the one being completed.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub words: Vec<String>,
}

/// What the word under the cursor is.
#[derive(Debug, Clone, PartialEq)]
pub enum Wanted {
    /// A run id; `also`: the subcommands that may stand there too (`audit <TAB>`).
    Run { also: Vec<String> },
    /// A step id of the run typed before it.
    Step { run: String },
}

/// The words typed (`words`, the last under the cursor) → what to offer, and the
/// `--db` given among them. Options are skipped with their values, as the parser would.
pub fn wanted(cmd: &clap::Command, words: &[String]) -> (Option<Wanted>, Option<PathBuf>) {
    let Some((current, before)) = words.split_last() else {
        return (None, None);
    };
    let mut cmd = cmd;
    let mut positionals: Vec<&str> = Vec::new();
    let mut db = None;
    let mut it = before.iter();
    while let Some(w) = it.next() {
        if w == "--" {
            positionals.extend(it.by_ref().map(String::as_str));
            break;
        }
        if let Some(long) = w.strip_prefix("--") {
            if let Some((name, value)) = long.split_once('=') {
                if name == "db" {
                    db = Some(PathBuf::from(value));
                }
                continue;
            }
            let takes = cmd
                .get_arguments()
                .find(|a| a.get_long() == Some(long))
                .is_some_and(|a| a.get_action().takes_values());
            if takes {
                let Some(v) = it.next() else {
                    // The word under the cursor is this option's value.
                    return (None, db);
                };
                if long == "db" {
                    db = Some(PathBuf::from(v));
                }
            }
            continue;
        }
        if w.len() > 1 && w.starts_with('-') {
            // `-x VALUE`, or `-xVALUE` (the value in the same word).
            let c = w.chars().nth(1);
            let takes = cmd
                .get_arguments()
                .find(|a| a.get_short() == c)
                .is_some_and(|a| a.get_action().takes_values());
            if takes && w.chars().count() == 2 && it.next().is_none() {
                return (None, db);
            }
            continue;
        }
        if positionals.is_empty()
            && let Some(sub) = cmd.find_subcommand(w)
        {
            cmd = sub;
            continue;
        }
        positionals.push(w);
    }
    if current.starts_with('-') {
        return (None, db);
    }
    let mut args: Vec<&clap::Arg> = cmd.get_positionals().collect();
    args.sort_by_key(|a| a.get_index());
    // A trailing list (`runs rm RUN…`) takes every word after the ones before it.
    let here = args.get(positionals.len()).or_else(|| {
        args.last()
            .filter(|a| a.get_num_args().is_some_and(|n| n.max_values() > 1))
    });
    let Some(arg) = here else {
        return (None, db);
    };
    let wanted = match arg.get_id().as_str() {
        "run" | "runs" => Some(Wanted::Run {
            also: if positionals.is_empty() {
                cmd.get_subcommands()
                    .filter(|s| !s.is_hide_set())
                    .map(|s| s.get_name().to_string())
                    .collect()
            } else {
                Vec::new()
            },
        }),
        "step" => args
            .iter()
            .position(|a| a.get_id() == "run")
            .and_then(|i| positionals.get(i))
            .map(|run| Wanted::Step {
                run: run.to_string(),
            }),
        _ => None,
    };
    (wanted, db)
}

/// The parser's definition with its defaults filled in (how many values each
/// positional takes is only known then).
fn built() -> clap::Command {
    let mut cmd = Cli::command();
    cmd.build();
    cmd
}

pub fn complete(a: &CompleteArgs) -> i32 {
    let (Some(wanted), db) = wanted(&built(), &a.words) else {
        return exit::FAILED;
    };
    let current = a.words.last().map_or("", String::as_str);
    // No store, or a run that is not there: nothing to offer, and no error on the
    // user's command line.
    let Ok(store) = crate::store::Store::open_read_only(&crate::session::db_path(db.as_deref()))
    else {
        return exit::FAILED;
    };
    let ids = match &wanted {
        Wanted::Run { also } => store.completion_runs(current).map(|mut ids| {
            ids.extend(also.iter().filter(|s| s.starts_with(current)).cloned());
            ids
        }),
        Wanted::Step { run } => store.completion_steps(run),
    };
    match ids {
        Ok(ids) => {
            for id in ids {
                crate::stdio::outln!("{id}");
            }
            exit::OK
        }
        Err(e) => {
            if std::env::var_os("BATON_COMPLETE_DEBUG").is_some() {
                crate::stdio::errln!("{e}");
            }
            exit::FAILED
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(line: &str) -> (Option<Wanted>, Option<PathBuf>) {
        let mut words: Vec<String> = line.split(' ').map(str::to_string).collect();
        if line.ends_with(' ') {
            words.pop();
            words.push(String::new());
        }
        wanted(&built(), &words)
    }

    fn run() -> Option<Wanted> {
        Some(Wanted::Run { also: Vec::new() })
    }

    #[test]
    fn the_word_under_the_cursor_is_a_run_or_a_step_as_the_parser_reads_it() {
        assert_eq!(w("show ").0, run());
        assert_eq!(w("show 01j").0, run());
        assert_eq!(w("show --json 01j").0, run());
        assert_eq!(
            w("logs 01abc ").0,
            Some(Wanted::Step {
                run: "01abc".into()
            })
        );
        assert_eq!(
            w("approve --db /tmp/s.db 01abc dep").0,
            Some(Wanted::Step {
                run: "01abc".into()
            })
        );
        assert_eq!(
            w("approve --db /tmp/s.db 01abc dep").1,
            Some("/tmp/s.db".into())
        );
        assert_eq!(w("retry --db=/x.db 01abc ").1, Some("/x.db".into()));
        assert_eq!(
            w("mark 01abc ").0,
            Some(Wanted::Step {
                run: "01abc".into()
            })
        );
        assert_eq!(w("cancel ").0, run());
        assert_eq!(w("resume ").0, run());
        assert_eq!(w("runs rm 01a 01b ").0, run());
        // `audit <TAB>`: a run, or one of its subcommands.
        match w("audit ").0 {
            Some(Wanted::Run { also }) => assert!(also.contains(&"verify".to_string())),
            other => panic!("{other:?}"),
        }
        assert_eq!(w("audit verify ").0, run());
    }

    #[test]
    fn no_id_is_wanted_for_options_commands_or_files() {
        assert_eq!(w("").0, None);
        assert_eq!(w("sh").0, None);
        assert_eq!(w("show --").0, None);
        assert_eq!(w("show --db ").0, None);
        assert_eq!(w("run ").0, None);
        assert_eq!(w("show 01abc extra ").0, None);
    }
}
