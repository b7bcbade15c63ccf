//! `baton-sim`: run scenarios of the deterministic simulator (docs/simulator.md).
//!
//! `baton-sim --seeds N [--from S]` runs seeds S..S+N; `--seed S` runs one and prints
//! its history; `--actions A` sets the actions per scenario; `--bug NAME` puts a known
//! bug back (`racy-admission`, `obey-unproven`, `obey-forged-trigger`,
//! `obey-forged-answer`, `unfenced`, `ignore-replaced`, `unchecked-fork`, `ignore-freeze`); `--mix runs-only` leaves schedules and asks out,
//! `--mix stalls` also stops engines past their lease, `--mix rewrites` keys the store
//! and rewrites finished runs' records, `--mix spawns` cuts a crash after a commit amid
//! the group's spawns. Exit 1 when a promise broke
//! (each broken seed printed with the line that replays it), 2 on bad arguments.
use baton_sim::{Bug, Config, DEFAULT_ACTIONS, Mix};
use std::process::ExitCode;
use std::time::Instant;

struct Args {
    seeds: u64,
    from: u64,
    one: Option<u64>,
    actions: usize,
    bug: Option<Bug>,
    mix: Mix,
}

/// A command line `baton-sim` cannot run (exit 2), each saying what it takes.
#[derive(Debug, thiserror::Error)]
enum ArgError {
    #[error("{flag} needs a value")]
    NoValue { flag: String },
    #[error("{flag} takes a whole number, not `{value}`")]
    NotANumber { flag: String, value: String },
    #[error("--bug takes one of {names}, not `{value}`")]
    UnknownBug { names: String, value: String },
    #[error(
        "--mix takes `all`, `runs-only`, `stalls`, `rewrites`, `spawns`, `remote`, `interleave`, `accounts`, `schedules`, `queues`, `executors`, `serves`, `signed`, `cli` or `hands`, not `{value}`"
    )]
    UnknownMix { value: String },
    #[error(
        "unknown argument `{other}`; use --seeds N [--from S], --seed S, --actions A, --bug NAME, --mix all|runs-only|stalls|rewrites|spawns|remote|interleave|accounts|schedules|queues|executors|serves|signed|cli|hands"
    )]
    Unknown { other: String },
}

fn parse() -> Result<Args, ArgError> {
    let mut a = Args {
        seeds: 100,
        from: 0,
        one: None,
        actions: DEFAULT_ACTIONS,
        bug: None,
        mix: Mix::All,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| ArgError::NoValue { flag: flag.clone() })
        };
        let number = |value: String| {
            value.parse::<u64>().map_err(|_| ArgError::NotANumber {
                flag: flag.clone(),
                value,
            })
        };
        match flag.as_str() {
            "--seeds" => a.seeds = number(value()?)?,
            "--from" => a.from = number(value()?)?,
            "--seed" => a.one = Some(number(value()?)?),
            "--actions" => a.actions = number(value()?)? as usize,
            "--bug" => {
                let value = value()?;
                let names: Vec<&str> = Bug::ALL.iter().map(|b| b.name()).collect();
                a.bug = Some(Bug::parse(&value).ok_or_else(|| ArgError::UnknownBug {
                    names: names.join(", "),
                    value: value.clone(),
                })?);
            }
            "--mix" => {
                let value = value()?;
                a.mix = Mix::parse(&value).ok_or_else(|| ArgError::UnknownMix {
                    value: value.clone(),
                })?;
            }
            other => {
                return Err(ArgError::Unknown {
                    other: other.to_string(),
                });
            }
        }
    }
    Ok(a)
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let seeds: Vec<u64> = match args.one {
        Some(s) => vec![s],
        None => (args.from..args.from + args.seeds).collect(),
    };
    let started = Instant::now();
    let (mut steps, mut events, mut broken) = (0u64, 0u64, 0usize);
    for &seed in &seeds {
        let config = Config {
            seed,
            actions: args.actions,
            bug: args.bug,
            mix: args.mix,
        };
        let outcome = match baton_sim::run(config) {
            Ok(o) => o,
            Err(e) => {
                eprintln!("seed {seed}: the simulation failed: {e}");
                eprintln!("  replay: {}", config.replay_command());
                return ExitCode::from(1);
            }
        };
        // A history piped into `head` stops being read: that ends the replay, quietly.
        if args.one.is_some() && print_history(&outcome.history).is_err() {
            return ExitCode::SUCCESS;
        }
        steps += outcome.steps;
        events += outcome.events;
        if let Some(report) = outcome.report() {
            broken += 1;
            println!("{report}");
        }
        if args.one.is_some() {
            println!("digest {}", outcome.digest);
        }
    }
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    println!(
        "{} scenario(s), {broken} broken; {steps} simulated steps, {events} events; {:.1} scenarios/s, {:.0} steps/s",
        seeds.len(),
        seeds.len() as f64 / secs,
        steps as f64 / secs
    );
    if broken > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// One scenario's history, a line each, to standard output.
fn print_history(lines: &[String]) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for line in lines {
        writeln!(out, "{line}")?;
    }
    out.flush()
}
