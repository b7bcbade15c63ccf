//! Issue 75 points 4 and 5: what an imported workflow reads from outside stays data and
//! stays bounded. A step's `$GITHUB_ENV`, `$GITHUB_OUTPUT` and `$GITHUB_PATH` are read by
//! GitHub's rules, a name that changes how a shell or loader runs is refused in the
//! step's log, a `${{ }}` in `working-directory`/`shell`/`defaults.run` travels as data,
//! and a YAML file of nested aliases is refused before it is built.
use crate::helpers::*;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Stdio;

/// `baton ARGS` in `env`, its address space capped at 1 GiB: an import that builds
/// what nested aliases describe fails on allocation instead of taking the machine.
fn capped(env: &Env, args: &[&str]) -> std::process::Output {
    let mut c = env.cmd();
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        c.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 1 << 30,
                rlim_max: 1 << 30,
            };
            libc::setrlimit(libc::RLIMIT_AS, &lim);
            Ok(())
        });
    }
    c.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    wait_child(c.spawn().unwrap(), 30)
}

/// Any file named PWNED* under `dir`: proof that a value ran as code.
fn pwned(dir: &Path) -> Vec<String> {
    let mut found = vec![];
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if e.file_name().to_string_lossy().starts_with("PWNED") {
                found.push(p.display().to_string());
            }
        }
    }
    found
}

#[test]
fn billion_laughs_yaml_is_refused_at_once_with_exit_2_and_its_line() {
    let env = Env::new();
    // 342 bytes: nine levels of nine aliases, 9^9 nodes once resolved.
    let mut t = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for (l, p) in ["b", "c", "d", "e", "f", "g", "h", "i"]
        .iter()
        .zip("abcdefgh".chars())
    {
        t.push_str(&format!(
            "{l}: &{l} [{}]\n",
            vec![format!("*{p}"); 9].join(",")
        ));
    }
    std::fs::write(env.path().join("laughs.yml"), &t).unwrap();
    for kind in ["github", "dagu"] {
        let started = std::time::Instant::now();
        let o = capped(&env, &["import", kind, "laughs.yml"]);
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{kind}: {err}");
        // The sixth anchor is the one whose copies cross the bound.
        assert!(
            err.starts_with("laughs.yml:6:") && err.contains("more than 500000 nodes"),
            "{kind}: {err}"
        );
        assert!(err.contains("hint:"), "{err}");
        assert!(o.stdout.is_empty());
        assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
    }
}

const HOSTILE: &str = r#"on: push
jobs:
  hostile:
    runs-on: ubuntu-latest
    steps:
      - name: write
        id: w
        env:
          TITLE: "Crash\nBASH_ENV=$(touch PWNED-title)"
        run: |
          echo "TITLE=$TITLE" >> "$GITHUB_ENV"
          echo 'BASH_ENV=$(touch PWNED-line)' >> "$GITHUB_ENV"
          echo 'ENV=$(touch PWNED-env)' >> "$GITHUB_ENV"
          echo "LD_PRELOAD=$PWD/evil.so" >> "$GITHUB_ENV"
          printf '%s\n' 'NOTES<<EOF' 'line one' 'BASH_ENV=$(touch PWNED-notes)' '  two $HOME' 'EOF' >> "$GITHUB_ENV"
          mkdir -p tools && printf '#!/bin/sh\necho from-tools\n' > tools/hello && chmod +x tools/hello
          echo "$PWD/tools" >> "$GITHUB_PATH"
          echo "." >> "$GITHUB_PATH"
          printf '%s\n' 'multi<<END' 'a b' 'c=d' 'END' >> "$GITHUB_OUTPUT"
      - name: read
        env:
          MULTI: ${{ steps.w.outputs.multi }}
        run: |
          printf 'TITLE=[%s]\n' "$TITLE"
          printf 'NOTES=[%s]\n' "$NOTES"
          printf 'MULTI=[%s]\n' "$MULTI"
          hello
          echo "bash_env=[${BASH_ENV-unset}] env=[${ENV-unset}] ld=[${LD_PRELOAD-unset}]"
"#;

#[test]
fn a_hostile_github_env_stays_data_and_shell_changing_names_are_refused_in_the_log() {
    let env = Env::new();
    std::fs::write(env.path().join("hostile.yml"), HOSTILE).unwrap();
    let o = env.run(&["import", "github", "hostile.yml", "-o", "hostile.toml"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = env.run(&["run", "hostile.toml", "--headless"]);
    let id = run_id_of(&text(&out.stdout));
    let logs = text(&env.run(&["logs", &id, "hostile"]).stdout);
    assert_eq!(pwned(env.path()), Vec::<String>::new(), "{logs}");
    assert_eq!(out.status.code(), Some(0), "{logs}");
    assert!(logs.contains("TITLE=[Crash]"), "{logs}");
    // The multi-line values arrive whole, nothing in them read as a name or as code.
    assert!(
        logs.contains("NOTES=[line one\nBASH_ENV=$(touch PWNED-notes)\n  two $HOME]"),
        "{logs}"
    );
    assert!(logs.contains("MULTI=[a b\nc=d]"), "{logs}");
    assert!(logs.contains("from-tools"), "{logs}");
    assert!(
        logs.contains("bash_env=[unset] env=[unset] ld=[unset]"),
        "{logs}"
    );
    for name in ["BASH_ENV", "ENV", "LD_PRELOAD"] {
        assert!(
            logs.contains(&format!("$GITHUB_ENV: {name} refused")),
            "{name}: {logs}"
        );
    }
    assert!(logs.contains("$GITHUB_PATH: . refused"), "{logs}");
}

const TEMPLATED_PLACES: &str = r#"on:
  workflow_dispatch:
    inputs:
      dir:
        default: sub
      sh:
        default: bash
defaults:
  run:
    working-directory: ${{ inputs.dir }}
jobs:
  places:
    runs-on: ubuntu-latest
    steps:
      - run: mkdir -p 'd $(touch PWNED-param)/in' sub/in
        working-directory: .
      - run: echo "here=[$PWD]"
        shell: ${{ inputs.sh }} -e {0}
      - run: echo "inner=[$PWD]"
        working-directory: ${{ inputs.dir }}/in
"#;

#[test]
fn templates_in_working_directory_shell_and_defaults_travel_as_data() {
    let env = Env::new();
    std::fs::write(env.path().join("places.yml"), TEMPLATED_PLACES).unwrap();
    let o = env.run(&["import", "github", "places.yml", "-o", "places.toml"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let v = env.run(&["validate", "places.toml"]);
    assert_eq!(v.status.code(), Some(0), "{}", text(&v.stderr));
    let out = env.run(&[
        "run",
        "places.toml",
        "--headless",
        "--param",
        "dir=d $(touch PWNED-param)",
    ]);
    let id = run_id_of(&text(&out.stdout));
    let logs = text(&env.run(&["logs", &id, "places"]).stdout);
    assert_eq!(pwned(env.path()), Vec::<String>::new(), "{logs}");
    assert_eq!(out.status.code(), Some(0), "{logs}");
    assert!(
        logs.contains("here=[") && logs.contains("/d $(touch PWNED-param)]"),
        "{logs}"
    );
    assert!(logs.contains("/d $(touch PWNED-param)/in]"), "{logs}");
}
