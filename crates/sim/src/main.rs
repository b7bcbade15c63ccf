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

fn parse() -> Result<Args, String> {
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
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        let number = |v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{flag} takes a whole number, not `{v}`"))
        };
        match flag.as_str() {
            "--seeds" => a.seeds = number(value()?)?,
            "--from" => a.from = number(value()?)?,
            "--seed" => a.one = Some(number(value()?)?),
            "--actions" => a.actions = number(value()?)? as usize,
            "--bug" => {
                let v = value()?;
                let names: Vec<&str> = Bug::ALL.iter().map(|b| b.name()).collect();
                a.bug = Some(Bug::parse(&v).ok_or(format!(
                    "--bug takes one of {}, not `{v}`",
                    names.join(", ")
                ))?);
            }
            "--mix" => {
                let v = value()?;
                a.mix = Mix::parse(&v).ok_or(format!(
                    "--mix takes `all`, `runs-only`, `stalls`, `rewrites`, `spawns`, `remote`, `interleave`, `accounts`, `schedules`, `queues`, `executors`, `serves`, `signed`, `cli` or `hands`, not `{v}`"
                ))?;
            }
            other => {
                return Err(format!(
                    "unknown argument `{other}`; use --seeds N [--from S], --seed S, --actions A, --bug NAME, --mix all|runs-only|stalls|rewrites|spawns|remote|interleave|accounts|schedules|queues|executors|serves|signed|cli|hands"
                ));
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
