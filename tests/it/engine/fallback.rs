//! Issue 25 point 3: a step's `fallback`, run by the real binary: alternatives tried in
//! order once the step's retries are used, the serving one's outputs read downstream,
//! every attempt on record with its alternative, one gate over all of them, and a
//! kill -9 during an alternative resumed in the same order.
use crate::helpers::*;
use std::path::Path;

/// `ask` runs `$MODEL` (pro, then pro-1.5, then flash): a model fails while it is
/// listed in `down`; each attempt appends `attempt alternative model` to `ledger`.
const ROUTER: &str = r#"
name = "router"
[params]
down = { type = "string", default = "pro" }

[[step]]
id = "prep"
run = 'echo prep >> ledger'

[[step]]
id = "ask"
needs = ["prep"]
run = '''
echo "$BATON_ATTEMPT $BATON_ALTERNATIVE $MODEL" >> ledger
case ",$DOWN," in *",$MODEL,"*) exit 1 ;; esac
echo "model=$MODEL" >> "$BATON_OUTPUT"
'''
env = { MODEL = "pro", DOWN = "${{ params.down }}" }
outputs = { model = {} }
fallback = [
  { env = { MODEL = "pro-1.5" }, retry = { attempts = 2, delay = "100ms" } },
  { env = { MODEL = "flash" } },
]

[[step]]
id = "use"
needs = ["ask"]
run = 'echo "used $USED" >> ledger'
env = { USED = "${{ steps.ask.outputs.model }}" }
"#;

fn ledger(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("ledger"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn run_router(env: &Env, down: &str) -> (Option<i32>, String, serde_json::Value) {
    let wf = env.workflow("router.toml", ROUTER);
    let out = env.run(&[
        "run",
        wf.to_str().unwrap(),
        "--headless",
        "--param",
        &format!("down={down}"),
    ]);
    let stdout = text(&out.stdout);
    let id = run_id_of(&stdout);
    let show = env.show(&id);
    (out.status.code(), id, show)
}

#[test]
fn the_first_alternative_fails_and_the_second_serves_its_outputs_downstream() {
    let env = Env::new();
    let (code, id, show) = run_router(&env, "pro");
    assert_eq!(code, Some(0));
    assert_eq!(step_state(&show, "ask").as_deref(), Some("succeeded"));
    assert_eq!(step_field(&show, "ask", "alternative"), 1);
    assert_eq!(step_field(&show, "ask", "outputs")["model"], "pro-1.5");
    assert_eq!(
        step_field(&show, "ask", "fallback"),
        serde_json::json!(["MODEL=pro-1.5, 2 attempts", "MODEL=flash"])
    );
    assert_eq!(
        ledger(env.path()),
        ["prep", "1 0 pro", "2 1 pro-1.5", "used pro-1.5"]
    );
    // `show` and the audit say which alternative served.
    let out = env.run(&["show", &id]);
    let shown = text(&out.stdout);
    assert!(
        shown.contains(
            "fallbacks:\n  ask: served by alternative 1 of 2: MODEL=pro-1.5, 2 attempts\n"
        ),
        "{shown}"
    );
    let audit = text(&env.run(&["audit", &id]).stdout);
    let fallback_row = audit.lines().find(|l| l.contains(" fallback "));
    let words: Vec<&str> = fallback_row.unwrap_or("").split_whitespace().collect();
    assert_eq!(
        words.get(2..),
        Some(&["engine", "fallback", "ask", "exited", "with", "code", "1"][..]),
        "{audit}"
    );
    assert!(
        audit.contains("served by a fallback: ask by alternative 1"),
        "{audit}"
    );
}

#[test]
fn every_alternative_failing_fails_the_step_with_each_attempt_on_record() {
    let env = Env::new();
    let (code, _, show) = run_router(&env, "pro,pro-1.5,flash");
    assert_eq!(code, Some(1));
    assert_eq!(step_state(&show, "ask").as_deref(), Some("failed"));
    assert_eq!(step_state(&show, "use").as_deref(), Some("upstream_failed"));
    assert_eq!(step_field(&show, "ask", "attempts"), 4);
    // Retries per alternative: pro once, pro-1.5 twice, flash once, in that order.
    assert_eq!(
        ledger(env.path()),
        ["prep", "1 0 pro", "2 1 pro-1.5", "3 1 pro-1.5", "4 2 flash"]
    );
    let ran: Vec<(String, String)> = show["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["step"] == "ask")
        .map(|e| {
            let c = &e["context"];
            (
                c["attempt"].as_str().unwrap_or("").to_string(),
                c["alternative"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = [("1", "0"), ("2", "1"), ("3", "1"), ("4", "2")]
        .iter()
        .map(|(a, k)| (a.to_string(), k.to_string()))
        .collect();
    assert_eq!(ran, want);
}

#[test]
fn a_gate_is_asked_once_before_the_first_attempt() {
    let env = Env::new();
    let gated = ROUTER.replace(
        "outputs = { model = {} }",
        "outputs = { model = {} }\ngate = { prompt = \"ask the models?\" }",
    );
    let wf = env.workflow("router.toml", &gated);
    let (child, id) = env.spawn_until(&wf, "ask", "waiting_approval");
    assert_eq!(
        ledger(env.path()),
        ["prep"],
        "nothing ran before the approval"
    );
    let out = env.run(&["approve", &id, "ask", "--reason", "go"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let done = wait_child(child, 30);
    assert_eq!(done.status.code(), Some(0), "{}", text(&done.stdout));
    let show = env.show(&id);
    assert_eq!(step_field(&show, "ask", "alternative"), 1);
    let audit = text(&env.run(&["audit", &id]).stdout);
    assert_eq!(audit.matches("gate_opened").count(), 1, "{audit}");
    assert_eq!(audit.matches(" approved ").count(), 1, "{audit}");
    assert!(!audit.contains("voided"), "{audit}");
}

#[test]
fn kill_dash_nine_during_an_alternative_resumes_it_in_the_same_order() {
    let env = Env::new();
    // pro-1.5 hangs until the test says it was resumed; then it fails, and flash serves.
    let hanging = ROUTER.replace(
        "case \",$DOWN,\"",
        "if [ \"$MODEL\" = pro-1.5 ] && [ ! -f resumed ]; then touch started; sleep 60; fi\ncase \",$DOWN,\"",
    );
    let wf = env.workflow("router.toml", &hanging);
    let mut child = env.spawn(&[
        "run",
        wf.to_str().unwrap(),
        "--headless",
        "--param",
        "down=pro,pro-1.5",
    ]);
    let id = env.wait_run_id();
    let started = env.path().join("started");
    wait_until("pro-1.5 to start", secs(20), || started.exists());
    let _ = child.kill(); // SIGKILL: the engine dies while alternative 1 runs
    let _ = child.wait();
    std::fs::write(env.path().join("resumed"), "").unwrap();
    let out = env.run(&["resume", &id, "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let show = env.show(&id);
    assert_eq!(step_state(&show, "ask").as_deref(), Some("succeeded"));
    assert_eq!(step_field(&show, "ask", "alternative"), 2);
    assert_eq!(step_field(&show, "ask", "outputs")["model"], "flash");
    // prep and pro (a failed attempt) ran once; alternative 1 ran again (its re-run
    // after the crash counts among its 2 attempts, as any step's does), then 2.
    assert_eq!(
        ledger(env.path()),
        [
            "prep",
            "1 0 pro",
            "2 1 pro-1.5",
            "3 1 pro-1.5",
            "4 2 flash",
            "used flash"
        ]
    );
}
