//! Issue 78 point 3: GitHub's `::error::` and `::warning::` workflow commands an
//! imported step prints become error records of the step (`show --json`'s `errors[]`),
//! with their `file`, `line` and `title`, masked by `::add-mask::`, sanitised and
//! bounded; `::notice::` stays a line of the log, as GitHub shows it apart.
use crate::helpers::*;

const WORKFLOW: &str = r#"on: workflow_dispatch
jobs:
  lint:
    runs-on: ubuntu-latest
    steps:
      - id: check
        run: |
          echo '::add-mask::hunter2'
          echo '::error file=src/a.rs,line=3,title=Bad call::unused hunter2%0Asecond line'
          printf '::warning::deprecated \033[2J thing\n'
          echo '::notice::fyi'
          for i in $(seq 1 30); do echo "::warning::w$i"; done
          exit 1
"#;

#[test]
fn error_and_warning_commands_become_the_step_s_error_records() {
    let env = Env::new();
    std::fs::write(env.path().join("lint.yml"), WORKFLOW).unwrap();
    let o = env.run(&["import", "github", "lint.yml", "-o", "lint.toml"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = env.run(&["run", "lint.toml", "--headless"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let show = env.show(&run_id_of(&text(&out.stdout)));
    let errors = show["errors"].as_array().unwrap();
    let reported: Vec<&serde_json::Value> =
        errors.iter().filter(|e| e["kind"] == "reported").collect();
    // 1 error, 31 warnings: at most 20 kept, the rest counted.
    assert_eq!(reported.len(), 20, "{errors:#?}");
    let e = reported[0];
    assert_eq!(e["step"], "lint");
    assert_eq!(e["severity"], "medium");
    assert_eq!(e["message"], "unused *** ⏎ second line", "{e:#}");
    assert_eq!(e["context"]["file"], "src/a.rs");
    assert_eq!(e["context"]["line"], "3");
    assert_eq!(e["context"]["title"], "Bad call");
    let w = reported[1];
    assert_eq!(w["severity"], "low");
    let msg = w["message"].as_str().unwrap();
    assert!(
        msg.starts_with("deprecated") && msg.ends_with("thing"),
        "{msg:?}"
    );
    assert!(!msg.contains('\u{1b}'), "{msg:?}");
    assert_eq!(
        reported[19]["context"]["reports_not_kept"], "12",
        "{errors:#?}"
    );
    assert!(!reported.iter().any(|r| r["message"] == "fyi"));
    assert!(!serde_json::to_string(&show).unwrap().contains("hunter2"));
    // The step's exit still decides: the run failed on its exit code, also recorded.
    assert!(
        errors.iter().any(|e| e["kind"] == "exit_nonzero"),
        "{errors:#?}"
    );
    // `baton show` lists them.
    let shown = env.run(&["show", show["id"].as_str().unwrap()]);
    assert!(
        text(&shown.stdout).contains("unused *** ⏎ second line"),
        "{}",
        text(&shown.stdout)
    );
}
