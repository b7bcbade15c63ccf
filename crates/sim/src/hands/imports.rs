//! Imported workflows in `--mix hands`: a GitHub workflow imported by the real importer
//! (`baton_import::import`), whose first step appends hostile entries to `$GITHUB_ENV`
//! and `$GITHUB_OUTPUT`, run by the real local executor (`baton_exec::spawn`, the job's
//! script by `sh`, its steps by `bash`, as a step of baton runs). The carry is shell
//! code (`crates/import/src/shim/prelude.sh`): no core decides it, so these are real
//! processes, their inputs drawn from the seed. Each step dumps its environment
//! (`env -0`); the cores decide the jobs and hand the job output on
//! (`$BATON_OUTPUT`, read by the executor, to the next job's environment).
use super::Hands;
use crate::{Bug, SimError};
use baton_core::{Core, Effect, Input, RunConfig, SpawnSpec, StepExit};
use baton_model::mask::Masker;
use baton_store::NewRun;
use rand::Rng;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The GitHub workflow: `write` carries what `carry.env`/`carry.out` hold (a step
/// that writes values it was given, with delimiters of its own), `read` is handed
/// them, and job `use` gets `line` as a job output.
const FLOW: &str = r#"on: push
jobs:
  write:
    runs-on: ubuntu-latest
    env:
      KEEP: keep-me
    outputs:
      line: ${{ steps.w.outputs.line }}
    steps:
      - id: w
        run: |
          env -0 > seen-write
          cat carry.env >> "$GITHUB_ENV"
          cat carry.out >> "$GITHUB_OUTPUT"
      - name: read
        env:
          MULTI: ${{ steps.w.outputs.multi }}
          LINE: ${{ steps.w.outputs.line }}
        run: env -0 > seen-read
  use:
    needs: write
    runs-on: ubuntu-latest
    env:
      LINE: ${{ needs.write.outputs.line }}
    steps:
      - run: env -0 > seen-use
"#;

/// What a hostile value is made of: command substitutions, backticks, `;`, quotes,
/// lines that read as entries or as the delimiters of others, workflow commands.
const PIECES: [&str; 16] = [
    "$(touch PWNED-dollar)",
    "`touch PWNED-tick`",
    "x; touch PWNED-semi",
    "a && touch PWNED-and || touch PWNED-or",
    "'\"$(touch PWNED-quoted)\"'",
    "${IFS}$(touch${IFS}PWNED-ifs)",
    "$((6*7)) ${HOME} $0",
    "KEEP=changed-by-a-value",
    "KEEP<<EOF",
    "EOF",
    "ghadelimiter_0000",
    "::set-env name=KEEP::changed",
    "BASH_ENV=$(touch PWNED-bashenv)",
    "\\$(touch PWNED-escaped) \\",
    "%0A%3A; touch PWNED-percent",
    "",
];

/// Names a step may not set (refused by `_bt_env`, each value hostile): a later
/// `bash` would run BASH_ENV's, and baton's own would change what baton reads.
const REFUSED: [&str; 4] = ["BASH_ENV", "PROMPT_COMMAND", "LD_PRELOAD", "BATON_RUN_ID"];

/// The defect of [`Bug::ValueRunAsCode`]: an entry's value pasted into the code that
/// sets it.
const SAFE_SET: &str = r#"*) export "$1=$2" ;;"#;
const PASTED_SET: &str = r#"*) eval "export $1=$2" ;;"#;

pub(crate) struct Imports {
    /// What each imported run's steps saw that they should not have: (run, what).
    pub(crate) broken: Vec<(String, String)>,
    /// Runs whose steps read every carried value as it was written.
    pub(crate) held: u32,
    made: u32,
}

impl Imports {
    pub(crate) fn new() -> Imports {
        Imports {
            broken: Vec::new(),
            held: 0,
            made: 0,
        }
    }
}

/// One carried entry: its name, its value, and whether it is written multi-line.
struct Entry {
    name: String,
    value: String,
    multi: bool,
}

impl Hands {
    /// A hostile value of one to four pieces; `multi`: of several lines.
    fn hostile(&mut self, multi: bool) -> String {
        let n = self.rng.random_range(1..5);
        let pieces: Vec<&str> = (0..n)
            .map(|_| PIECES[self.rng.random_range(0..PIECES.len())])
            .collect();
        pieces.join(if multi { "\n" } else { " " })
    }

    /// The entries of `$GITHUB_ENV` and `$GITHUB_OUTPUT` of one run, drawn by the seed.
    fn entries(&mut self) -> (Vec<Entry>, Vec<Entry>) {
        let mut env = Vec::new();
        for i in 0..self.rng.random_range(1..4) {
            let multi = self.rng.random_bool(0.5);
            let value = self.hostile(multi);
            env.push(Entry {
                name: format!("V{i}"),
                value,
                multi,
            });
        }
        let refused = REFUSED[self.rng.random_range(0..REFUSED.len())];
        let value = self.hostile(false);
        env.push(Entry {
            name: refused.into(),
            value,
            multi: false,
        });
        let line = self.hostile(false);
        let multi = self.hostile(true);
        let out = vec![
            Entry {
                name: "line".into(),
                value: line,
                multi: false,
            },
            Entry {
                name: "multi".into(),
                value: multi,
                multi: true,
            },
        ];
        (env, out)
    }

    /// An imported workflow run whose step carries hostile values to the next step and
    /// the next job; what they saw is checked (`a_carried_value_stays_data`).
    pub(super) fn import_hand(&mut self) -> Result<(), SimError> {
        let n = self.imports.made;
        self.imports.made += 1;
        let run = format!("g{n:03}");
        let dir = self.dir.join("imports").join(&run);
        std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        let (env, out) = self.entries();
        write(&dir.join("carry.env"), &command_file(&env, n))?;
        write(&dir.join("carry.out"), &command_file(&out, n))?;
        let path = dir.join("flow.toml");
        let toml = imported(&path, self.config.bug)?;
        let plan = baton_workflow::load_str(&toml, &path)
            .map_err(|d| SimError::Workflow(d.to_string()))?;
        let plan = std::sync::Arc::new(plan);
        // Its params as `baton run` resolves them (the `github_*` ones default empty).
        let params = baton_workflow::resolve_params(&plan, &[])
            .map_err(|e| SimError::Workflow(e.to_string()))?;
        let cfg = RunConfig {
            run_id: run.clone(),
            operator: "sim".into(),
            params,
            seed: self.config.seed,
            store: Some(self.db.clone()),
            ..RunConfig::default()
        };
        let mut core = Core::new(plan.clone(), cfg);
        let (events, mut fx) = crate::world::runs::split(core.start(self.now));
        let new_run = NewRun {
            id: run.clone(),
            workflow: plan.name.clone(),
            source_path: path.clone(),
            source_text: toml.clone(),
            params_json: "{}".into(),
            operator: "sim".into(),
            started_at: self.now,
            parent: None,
            steps: plan.steps.iter().map(|s| s.id.clone()).collect(),
        };
        self.store.create_started_run(
            &new_run,
            "pid 300 on sim-hands",
            &events,
            &core.state_summary(),
        )?;
        self.children.events += events.len() as u64;
        for _ in 0..4 {
            let spawns: Vec<SpawnSpec> = (fx.into_iter())
                .filter_map(|e| match e {
                    Effect::Spawn(s) => Some(s),
                    _ => None,
                })
                .collect();
            if spawns.is_empty() {
                break;
            }
            fx = Vec::new();
            for s in spawns {
                let exit = self.execute(&run, &core, &plan, &dir, s)?;
                let (events, rest) =
                    crate::world::runs::split(core.handle(Input::StepExited(exit), self.now));
                self.store.commit(&run, &events)?;
                self.children.events += events.len() as u64;
                fx.extend(rest);
            }
        }
        let broken = judge(&dir, &env, &out);
        match &broken {
            None => {
                self.imports.held += 1;
                self.history.push(format!(
                    "  {run}: {} entries carried as data",
                    env.len() + out.len()
                ));
            }
            Some(why) => {
                self.history.push(format!("  {run}: {why}"));
                self.imports.broken.push((run, why.clone()));
            }
        }
        Ok(())
    }

    /// Attempt `s` run by the local executor, as the driver hands it one.
    fn execute(
        &mut self,
        run: &str,
        core: &Core,
        plan: &baton_workflow::Plan,
        dir: &Path,
        s: SpawnSpec,
    ) -> Result<StepExit, SimError> {
        let baton_core::SpawnAction::Shell { command } = s.action else {
            return Err(SimError::Workflow(format!(
                "{run}/{}: the imported job is no shell step",
                s.step_id
            )));
        };
        let job = baton_exec::ShellJob {
            run_id: run.into(),
            step_id: s.step_id.clone(),
            attempt: s.attempt,
            command,
            dir: s.dir,
            env: s.env,
            local_env: s.local_env,
            withheld: plan.withheld_of(s.step),
            log_dir: dir.join("logs"),
            masker: Masker::new(core.masked_values().to_vec()),
            files_dir: None,
            start_here: true,
        };
        let rt = baton_session::runtime()?;
        let done = rt
            .block_on(async {
                Ok::<_, baton_exec::ExecError>(baton_exec::spawn(job).await?.wait().await)
            })
            .map_err(|e| io(dir, std::io::Error::other(e.to_string())))?;
        self.history.push(format!(
            "  {run}/{} ended {:?}, outputs {:?}",
            s.step_id,
            done.outcome,
            done.outputs.iter().map(|(k, _)| k).collect::<Vec<_>>()
        ));
        Ok(StepExit {
            step: s.step,
            attempt: s.attempt,
            outcome: done.outcome,
            duration_ms: 100,
            outputs: done.outputs,
            usage: done.usage,
            stderr_tail: done.stderr_tail,
        })
    }
}

/// `entries` as a step writes them by GitHub's rules: `NAME=value`, or `NAME<<D`, the
/// value's lines, `D`, with a delimiter of the writer's that is no line of the value.
fn command_file(entries: &[Entry], n: u32) -> String {
    let mut text = String::new();
    for e in entries {
        if e.multi {
            let d = format!("ghadelimiter_sim{n:04}");
            text.push_str(&format!("{}<<{d}\n{}\n{d}\n", e.name, e.value));
        } else {
            text.push_str(&format!("{}={}\n", e.name, e.value));
        }
    }
    text
}

/// The workflow as `baton import github` writes it (with [`Bug::ValueRunAsCode`], its
/// carry pasting a value into code), saved at `path`.
fn imported(path: &Path, bug: Option<Bug>) -> Result<String, SimError> {
    let got = baton_import::import(baton_import::Kind::Github, "flow.yml", FLOW)
        .map_err(|e| SimError::Workflow(format!("flow.yml:{}: {}", e.line, e.message)))?;
    let toml = match bug {
        Some(Bug::ValueRunAsCode) if got.toml.contains(SAFE_SET) => {
            got.toml.replace(SAFE_SET, PASTED_SET)
        }
        Some(Bug::ValueRunAsCode) => {
            return Err(SimError::Workflow(format!(
                "the imported script no longer sets a $GITHUB_ENV entry with `{SAFE_SET}`: value-run-as-code has nothing to put back"
            )));
        }
        _ => got.toml,
    };
    write(path, &toml)?;
    Ok(toml)
}

fn write(path: &Path, text: &str) -> Result<(), SimError> {
    std::fs::write(path, text).map_err(|e| io(path, e))
}

fn io(path: &Path, error: std::io::Error) -> SimError {
    SimError::Io {
        path: path.to_path_buf(),
        error,
    }
}

/// An `env -0` dump as a map (a missing dump: empty).
fn dump(path: &Path) -> BTreeMap<String, String> {
    let bytes = std::fs::read(path).unwrap_or_default();
    (bytes.split(|b| *b == 0))
        .filter_map(|kv| {
            let kv = String::from_utf8_lossy(kv);
            let (k, v) = kv.split_once('=')?;
            Some((k.to_string(), v.to_string()))
        })
        .collect()
}

/// Every file named `PWNED*` under `dir`: a value that ran as code.
fn pwned(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if e.file_name().to_string_lossy().starts_with("PWNED") {
                found.push(p);
            }
        }
    }
    found.sort();
    found
}

/// Names whose values differ between the steps by design: the shell's last
/// argument, and each step's own `$GITHUB_OUTPUT`.
const PER_STEP: [&str; 2] = ["_", "GITHUB_OUTPUT"];

/// What the steps of one run saw against what was carried: `None` when every value
/// arrived as written and nothing else changed.
fn judge(dir: &Path, env: &[Entry], out: &[Entry]) -> Option<String> {
    if let Some(p) = pwned(dir).first() {
        let name = p.file_name().unwrap_or_default().to_string_lossy();
        return Some(format!("a carried value ran as code: it made {name}"));
    }
    let before = dump(&dir.join("seen-write"));
    let read = dump(&dir.join("seen-read"));
    let used = dump(&dir.join("seen-use"));
    if before.is_empty() || read.is_empty() || used.is_empty() {
        return Some(format!(
            "a step did not run (write {}, read {}, use {})",
            !before.is_empty(),
            !read.is_empty(),
            !used.is_empty()
        ));
    }
    let refused = |n: &str| REFUSED.contains(&n);
    let mut expected: BTreeMap<&str, Option<&str>> = BTreeMap::new();
    for e in env {
        let kept = before.get(&e.name).map(String::as_str);
        expected.insert(
            &e.name,
            if refused(&e.name) {
                kept
            } else {
                Some(&e.value)
            },
        );
    }
    let value = |name: &str| {
        out.iter()
            .find(|e| e.name == name)
            .map(|e| e.value.as_str())
    };
    // An output handed on by `${{ steps.ID.outputs.NAME }}` arrives whole, its
    // trailing newlines kept, as GitHub hands it.
    expected.insert("MULTI", value("multi"));
    expected.insert("LINE", value("line"));
    let names = (before.keys()).chain(read.keys()).map(String::as_str);
    for name in names.filter(|n| !PER_STEP.contains(n)) {
        let want = match expected.get(name) {
            Some(w) => *w,
            None => before.get(name).map(String::as_str),
        };
        let got = read.get(name).map(String::as_str);
        if got != want {
            return Some(format!(
                "the step after the carry read {name}={got:?}, where {want:?} was carried or set"
            ));
        }
    }
    if used.get("LINE").map(String::as_str) != value("line") {
        return Some(format!(
            "job `use` read LINE={:?} from job output `line`, which was {:?}",
            used.get("LINE"),
            value("line")
        ));
    }
    let leaked = env
        .iter()
        .find(|e| !refused(&e.name) && used.contains_key(&e.name));
    leaked.map(|e| format!("job `use` has {} from the other job's $GITHUB_ENV", e.name))
}
