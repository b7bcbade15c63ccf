//! The job script's functions (`prelude.sh`) run by `dash` and `bash`: GitHub's rules for
//! `$GITHUB_ENV`, `$GITHUB_OUTPUT` and `$GITHUB_PATH`, and values that stay data.
use super::PRELUDE;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A directory of this test's own, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new() -> Dir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let d = std::env::temp_dir().join(format!(
            "baton-shim-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The prelude then `body`, by `shell`, in `dir`: exit code, stdout, stderr.
fn run(shell: &str, dir: &Dir, body: &str) -> (i32, String, String) {
    let o = Command::new(shell)
        .arg("-c")
        .arg(format!("{PRELUDE}\n{body}"))
        .current_dir(&dir.0)
        .env("TMPDIR", &dir.0)
        // cargo sets it for tests; the scripts check it is not set by a step.
        .env_remove("LD_LIBRARY_PATH")
        .env("BATON_OUTPUT", dir.0.join("baton-output"))
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

const SHELLS: [&str; 2] = ["dash", "bash"];

fn have(shell: &str) -> bool {
    Command::new(shell).arg("-c").arg("true").status().is_ok()
}

#[test]
fn a_command_file_is_read_by_githubs_rules() {
    for sh in SHELLS.into_iter().filter(|s| have(s)) {
        let d = Dir::new();
        std::fs::write(
            d.0.join("f"),
            "A=1\n\nB=x=y<<z\nC<<EOF\nl1\nD=2\n\nEOF\nE<<X=Y\nv\nX=Y\nF<<E\nE\nG=last",
        )
        .unwrap();
        let (code, out, err) = run(
            sh,
            &d,
            "show() { printf '[%s]=[%s]\\n' \"$1\" \"$2\"; }\n_bt_read f show F; echo \"rc=$?\"",
        );
        assert_eq!(code, 0, "{sh}: {err}");
        assert_eq!(
            out, "[A]=[1]\n[B]=[x=y<<z]\n[C]=[l1\nD=2\n]\n[E]=[v]\n[F]=[]\n[G]=[last]\nrc=0\n",
            "{sh}: {err}"
        );
        assert_eq!(err, "", "{sh}");
    }
}

#[test]
fn a_line_of_neither_form_or_an_unclosed_delimiter_fails() {
    for sh in SHELLS.into_iter().filter(|s| have(s)) {
        let d = Dir::new();
        std::fs::write(
            d.0.join("f"),
            "A=1\nCrash $(touch PWNED)\nB<<EOF\nnever closed\n",
        )
        .unwrap();
        let (_, out, err) = run(
            sh,
            &d,
            "show() { printf '[%s]=[%s]\\n' \"$1\" \"$2\"; }\n_bt_read f show '$GITHUB_ENV'; echo \"rc=$?\"",
        );
        assert_eq!(out, "[A]=[1]\nrc=1\n", "{sh}: {err}");
        assert!(
            err.contains(
                "$GITHUB_ENV: a line neither NAME=value nor NAME<<DELIMITER: Crash $(touch PWNED)"
            ),
            "{sh}: {err}"
        );
        assert!(err.contains("B<<EOF is never closed"), "{sh}: {err}");
        assert!(!d.0.join("PWNED").exists());
    }
}

#[test]
fn names_that_change_how_a_shell_or_loader_runs_are_refused_and_values_stay_data() {
    for sh in SHELLS.into_iter().filter(|s| have(s)) {
        let d = Dir::new();
        let body = r#"
printf '%s\n' 'TITLE=Crash' 'BASH_ENV=$(touch PWNED1)' 'ENV=$(touch PWNED2)' 'LD_PRELOAD=/x.so' \
  'LD_LIBRARY_PATH=/x' 'SHELLOPTS=xtrace' 'PS4=$(touch PWNED3)' 'IFS=x' 'NODE_OPTIONS=--require /x' \
  'BASH_FUNC_f%%=() { touch PWNED4; }' 'PERL5OPT=-d' '_bt_gh=/' 'BATON_OUTPUT=/etc/passwd' \
  '1A=x' 'a b=c' 'OK=$(touch PWNED5) `touch PWNED6` ;x' 'M<<EOF' 'one' 'BASH_ENV=$(touch PWNED7)' 'EOF' \
  > "$GITHUB_ENV"
: > out; _bt_carry out; echo "rc=$?"
bash -c 'printf "[%s]\n" "$TITLE" "$OK" "$M"'
printf '[%s]\n' "$(printenv BASH_ENV ENV LD_PRELOAD LD_LIBRARY_PATH SHELLOPTS PS4 IFS NODE_OPTIONS PERL5OPT)"
printf '[%s]\n' "$_bt_gh" "${LD_LIBRARY_PATH-unset}" "${BATON_OUTPUT}"
"#;
        let (code, out, err) = run(sh, &d, body);
        assert_eq!(code, 0, "{sh}: {err}");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "rc=0", "{sh}: {out}{err}");
        assert_eq!(lines[1], "[Crash]");
        assert_eq!(lines[2], "[$(touch PWNED5) `touch PWNED6` ;x]");
        assert_eq!(lines[3..5], ["[one", "BASH_ENV=$(touch PWNED7)]"]);
        assert_eq!(lines[5], "[]", "{sh}: {out}");
        assert!(lines[6].contains("baton-shim-"), "{sh}: {out}");
        assert_eq!(lines[7], "[unset]");
        assert!(lines[8].ends_with("baton-output]"), "{sh}: {out}");
        for name in [
            "BASH_ENV",
            "ENV",
            "LD_PRELOAD",
            "LD_LIBRARY_PATH",
            "SHELLOPTS",
            "PS4",
            "IFS",
            "NODE_OPTIONS",
            "BASH_FUNC_f%%",
            "PERL5OPT",
        ] {
            assert!(
                err.contains(&format!(
                    "$GITHUB_ENV: {name} refused: it changes how a shell, a loader or an interpreter runs"
                )),
                "{sh}: {name}: {err}"
            );
        }
        assert!(err.contains("_bt_gh refused: baton's own"), "{err}");
        assert!(err.contains("BATON_OUTPUT refused: baton's own"), "{err}");
        assert!(err.contains("1A refused: not a variable name"), "{err}");
        assert!(err.contains("a b refused: not a variable name"), "{err}");
        let pwned: Vec<_> = std::fs::read_dir(&d.0)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("PWNED"))
            .collect();
        assert!(pwned.is_empty(), "{sh}: {pwned:?}");
    }
}

#[test]
fn github_path_takes_one_absolute_directory_a_line() {
    for sh in SHELLS.into_iter().filter(|s| have(s)) {
        let d = Dir::new();
        let body = r#"
mkdir -p tools && printf '#!/bin/sh\necho from-tools\n' > tools/hello && chmod +x tools/hello
printf '%s\n' "$PWD/tools" '.' 'bin' '/a:/b' '' > "$GITHUB_PATH"
: > out; _bt_carry out
hello
case $PATH in "$PWD/tools:"*) echo first ;; esac
case ":$PATH:" in *:.:*|*:bin:*|*:/a:*) echo leaked ;; esac
"#;
        let (_, out, err) = run(sh, &d, body);
        assert_eq!(out, "from-tools\nfirst\n", "{sh}: {err}");
        assert!(
            err.contains("$GITHUB_PATH: . refused: not an absolute directory"),
            "{err}"
        );
        assert!(err.contains("$GITHUB_PATH: bin refused"), "{err}");
        assert!(
            err.contains("$GITHUB_PATH: /a:/b refused: one directory a line"),
            "{err}"
        );
    }
}

#[test]
fn outputs_are_read_whole_and_a_job_output_is_one_line() {
    for sh in SHELLS.into_iter().filter(|s| have(s)) {
        let d = Dir::new();
        let body = r#"
printf '%s\n' 'v=1' 'multi<<END' 'a b' 'c=d' 'END' 'v=2' 'x=$(touch PWNED)' > o
for k in v multi x none; do _bt_find o "$k"; printf '[%s]\n' "$_bt_got"; done
_bt_find missing v; printf '[%s]\n' "$_bt_got"
_bt_output job_v o v; _bt_output job_multi o multi; _bt_output job_none o none
cat "$BATON_OUTPUT"
"#;
        let (_, out, err) = run(sh, &d, body);
        assert_eq!(
            out, "[2]\n[a b\nc=d]\n[$(touch PWNED)]\n[]\n[]\njob_v=2\n",
            "{sh}: {err}"
        );
        assert!(
            err.contains("job output job_multi is not set"),
            "{sh}: {err}"
        );
        assert!(!d.0.join("PWNED").exists());
    }
}

#[test]
fn a_templated_shell_is_split_into_words_never_evaluated() {
    for sh in SHELLS.into_iter().filter(|s| have(s)) {
        let d = Dir::new();
        let body = r#"
printf 'echo "ran $0"\n' > s
_bt_shell '' 'sh -e {0}' s
_bt_shell '' 'sh' s
_bt_shell '' 'sh -c "echo {0}"; touch PWNED #' s
_bt_shell '' '$(touch PWNED) {0}' s
_bt_shell 5s 'sh' s
"#;
        let (_, out, err) = run(sh, &d, body);
        assert!(out.starts_with("ran s\nran s\n"), "{sh}: {out}{err}");
        assert!(out.ends_with("ran s\n"), "{sh}: {out}{err}");
        assert!(!d.0.join("PWNED").exists(), "{sh}: {out}{err}");
    }
}

/// A step of `script` running `body` with bash.
/// A job's script of `steps` run by `sh` in `d`, as the engine runs it (`$TMPDIR` and
/// `$BATON_OUTPUT` in the step's directory), with `env` besides.
fn job_command(d: &Dir, steps: &[super::ShimStep], env: &[(&str, &str)]) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(super::script(&[], steps, &[]))
        .current_dir(&d.0)
        .env("TMPDIR", &d.0)
        .env("BATON_OUTPUT", d.0.join("baton-output"))
        .envs(env.iter().copied());
    c
}

fn run_step(id: &str, body: &str, continue_on_error: bool) -> super::ShimStep {
    let continue_on_error = if continue_on_error { "1" } else { "0" }.to_string();
    super::ShimStep {
        title: id.into(),
        id: Some(id.into()),
        guard: super::Guard::Success,
        test: None,
        action: super::Action::Run {
            body: body.into(),
            shell: super::Shell::Line(super::shell_line(Some("bash"))),
        },
        dir: None,
        env: vec![],
        continue_on_error,
        timeout_min: None,
    }
}

/// GitHub's workflow commands (docs.github.com, "Workflow commands for GitHub
/// Actions"): `::set-output` sets a step output, `::set-env`/`::add-path` only with
/// ACTIONS_ALLOW_UNSECURE_COMMANDS=true (else the step fails), `::add-mask::` masks a
/// value in later lines, `::error` reaches stderr, `::stop-commands::` suspends them; a
/// step's outcome and conclusion are read by later steps (`steps.ID.outcome`).
#[test]
fn workflow_commands_and_step_outcomes_follow_githubs_rules() {
    use super::{EnvFrom, Piece, Word};
    let d = Dir::new();
    let sh_word = |w: String| EnvFrom::Word(Word(vec![Piece::Sh(w)]));
    let mut last = run_step(
        "d",
        "printf '[%s]\\n' \"$Z\" \"$X\" \"${FOO-unset}\" \"$BO\" \"$BC\" \"$AO\" \"$EO\"",
        false,
    );
    last.env = vec![
        ("Z".into(), sh_word(super::output_word("a", "zoo"))),
        ("X".into(), sh_word(super::output_word("c", "x"))),
        ("BO".into(), sh_word(super::state_word("b", "outcome"))),
        ("BC".into(), sh_word(super::state_word("b", "conclusion"))),
        ("AO".into(), sh_word(super::state_word("a", "outcome"))),
        ("EO".into(), sh_word(super::state_word("e", "outcome"))),
    ];
    let mut e = run_step("e", "exit 3", false);
    e.guard = super::Guard::Failure;
    let steps = vec![
        run_step(
            "a",
            "echo '::set-output name=zoo::z%0Aar'; echo '::add-mask::s3cret'; echo 'the s3cret is out'",
            false,
        ),
        run_step("b", "echo '::set-env name=FOO::bar'", true),
        run_step(
            "c",
            "echo '::stop-commands::tok'; echo '::set-output name=x::no'; echo '::tok::'; echo '::error file=a.rs,line=3::bad $(touch PWNED)'; echo '::add-path::/zip'",
            true,
        ),
        e,
        last,
    ];
    let o = job_command(&d, &steps, &[("ACTIONS_ALLOW_UNSECURE_COMMANDS", "false")])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert!(out.contains("the *** is out\n"), "{out}{err}");
    assert!(!out.contains("s3cret"), "{out}");
    assert!(out.contains("::set-output name=x::no\n"), "{out}");
    assert!(
        out.ends_with("[z\nar]\n[]\n[unset]\n[failure]\n[success]\n[success]\n[skipped]\n"),
        "{out}{err}"
    );
    assert!(err.contains("the `set-env` command is disabled"), "{err}");
    assert!(err.contains("the `add-path` command is disabled"), "{err}");
    assert!(err.contains("Error: a.rs:3: bad $(touch PWNED)"), "{err}");
    // As the step's error record: a line of $BATON_OUTPUT the core reads.
    let bo = std::fs::read_to_string(d.0.join("baton-output")).unwrap();
    assert!(
        bo.contains("::error file=a.rs,line=3::bad $(touch PWNED)\n"),
        "{bo}"
    );
    assert!(!d.0.join("PWNED").exists());
}

/// A step that leaves a process behind holding its output (`server &`) ends when its
/// command ends, as on GitHub: the reader of its workflow commands stops at the line
/// the script writes after the command, not when every holder has closed the pipe.
#[test]
fn a_step_leaving_a_process_behind_ends_with_its_command() {
    let d = Dir::new();
    let steps = vec![run_step("a", "sleep 20 & printf 'partial'", false)];
    let mut child = job_command(&d, &steps, &[])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the step did not end with its command"
        );
        std::thread::yield_now();
    };
    assert_eq!(status.code(), Some(0));
}

/// `${{ steps.ID.outputs.KEY }}` is the value whole, its trailing newlines kept as
/// GitHub keeps them (the value of `::set-output name=foo::{%0A  "hello": "world"%0A}%0A`,
/// edwardgeorge/gha-echo-output's README at 9efe5ad4, ends with a newline); an output
/// never written, or of a step that never ran, is empty, whatever the environment holds.
#[test]
fn an_output_keeps_its_trailing_newlines() {
    use super::{EnvFrom, Piece, Word};
    let d = Dir::new();
    let sh_word = |w: String| EnvFrom::Word(Word(vec![Piece::Sh(w)]));
    let mut last = run_step("c", "printf '[%s]' \"$V\" \"$W\" \"$N\" \"$S\"", false);
    last.env = vec![
        ("V".into(), sh_word(super::output_word("a", "foo"))),
        ("W".into(), sh_word(super::output_word("a", "two"))),
        ("N".into(), sh_word(super::output_word("a", "none"))),
        ("S".into(), sh_word(super::output_word("b", "x"))),
    ];
    let mut b = run_step("b", "echo '::set-output name=x::y'", false);
    b.guard = super::Guard::Failure;
    let steps = vec![
        run_step(
            "a",
            "echo '::set-output name=foo::{%0A  \"hello\": \"world\"%0A}%0A'; printf 'two<<E\\nx\\n\\n\\nE\\n' >> \"$GITHUB_OUTPUT\"",
            false,
        ),
        b,
        last,
    ];
    let script = super::script(&[], &steps, &[]);
    let var = script
        .lines()
        .find_map(|l| l.strip_suffix("=").filter(|v| v.starts_with("_bt_o_")))
        .unwrap()
        .to_string();
    let o = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .current_dir(&d.0)
        .env("TMPDIR", &d.0)
        .env(&var, "from-outside")
        .env("BATON_OUTPUT", d.0.join("baton-output"))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert_eq!(
        out,
        "[{\n  \"hello\": \"world\"\n}\n][x\n\n][][]\n",
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A body's text that looks like an output variable of the script names no file the
/// script reads unless it is one the import writes: a step's file part is letters,
/// digits, `_` and `-` only.
#[test]
fn only_an_output_variable_the_import_writes_is_read() {
    let hex = |s: &str| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
    let ok = format!("_bt_o_{}_{}", hex("a-1"), hex("k y"));
    let bad = format!("_bt_o_{}_{}", hex("a\"; touch PWNED; \""), hex("k"));
    assert_eq!(
        super::output_refs(&format!("x {ok} {bad} \"${{{ok}}}\"")),
        [("a-1".to_string(), "k y".to_string())]
    );
}

/// A `::set-output` read while the step is half-way through its own `$GITHUB_OUTPUT`
/// entry never lands inside it: the step waits until the command was read, then
/// closes its entry, and both outputs keep their values (GitHub's runner reads the
/// file at the step's end, the commands as they come).
#[test]
fn a_workflow_command_never_lands_inside_an_entry_the_step_is_writing() {
    use super::{EnvFrom, Piece, Word};
    let d = Dir::new();
    let sh_word = |w: String| EnvFrom::Word(Word(vec![Piece::Sh(w)]));
    let mut last = run_step("c", "printf '[%s]' \"$K\" \"$T\"", false);
    last.env = vec![
        ("K".into(), sh_word(super::output_word("a", "k"))),
        ("T".into(), sh_word(super::output_word("a", "two"))),
    ];
    // Bounded wait: the command is read into one of the two files, whichever it goes to.
    let body = "printf 'two<<E\\nx\\n' >> \"$GITHUB_OUTPUT\"; echo '::set-output name=k::v'; \
                i=0; until grep -qs '^k<<' \"$GITHUB_OUTPUT\" \"$GITHUB_OUTPUT.cmd\" || [ $i -ge 1000 ]; do i=$((i+1)); sleep 0.01; done; \
                printf 'y\\nE\\n' >> \"$GITHUB_OUTPUT\"";
    let steps = vec![run_step("a", body, false), last];
    let o = job_command(&d, &steps, &[]).output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert_eq!(out, "[v][x\ny]\n", "{}", String::from_utf8_lossy(&o.stderr));
}

/// A step that removes its own `$GITHUB_OUTPUT` keeps what its `::set-output` commands
/// set, as GitHub's runner keeps them.
#[test]
fn a_step_that_removes_its_output_file_keeps_its_commands_outputs() {
    use super::{EnvFrom, Piece, Word};
    let d = Dir::new();
    let mut last = run_step("c", "printf '[%s]' \"$K\"", false);
    last.env = vec![(
        "K".into(),
        EnvFrom::Word(Word(vec![Piece::Sh(super::output_word("a", "k"))])),
    )];
    let body = "echo '::set-output name=k::v'; rm -f \"$GITHUB_OUTPUT\"";
    let steps = vec![run_step("a", body, false), last];
    let o = job_command(&d, &steps, &[]).output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert_eq!(out, "[v]\n", "{}", String::from_utf8_lossy(&o.stderr));
}

/// Text compared as GitHub compares it (actions/languageservices, expressions/src/
/// result.ts: exactly, ignoring case), over values each with its `x` after it: a
/// trailing newline is part of the value; and `timeout-minutes` read as GitHub reads a
/// text as a number (JavaScript's `Number`: the blanks and newlines around it ignored).
#[test]
fn comparisons_keep_trailing_newlines_and_a_timeout_reads_as_a_number() {
    for sh in SHELLS.into_iter().filter(|s| have(s)) {
        let d = Dir::new();
        let body = r#"
nl='
'
t() { if "$@"; then printf 1; else printf 0; fi; }
t _bt_eq "a${nl}x" "Ax"; t _bt_eq "a${nl}x" "A${nl}x"; t _bt_eq "x" "x"
t _bt_has startswith "Refs/tags/v1x" "refs/tags/x"; t _bt_has endswith "abc${nl}x" "cx"
t _bt_has contains "a*bx" "*x"; t _bt_has contains "abx" "*x"; t _bt_has endswith "abcx" "x"
printf '|%s|%s|%s|%s|%s|' "$(_bt_to "5${nl}")" "$(_bt_to " 08 ")" "$(_bt_to "5x")" "$(_bt_to "")" "$(_bt_to "1.5")"
"#;
        let (code, out, err) = run(sh, &d, body);
        assert_eq!(code, 0, "{sh}: {err}");
        assert_eq!(out, "01110101|300s|480s||||", "{sh}: {err}");
    }
}
