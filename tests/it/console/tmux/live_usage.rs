//! Issue 43 point 2 on the real console: the header shows a running step's usage as
//! it is written (not when the step ends), with its pace and the time left to the
//! ceiling, and the ceiling reached (the step frozen at it).
use super::*;

const WF: &str = r#"
name = "live"
budget = { tokens = 1000 }
[[step]]
id = "agent"
run = '''
echo tokens=600 >> "$BATON_USAGE"
while [ ! -f go ]; do sleep 0.02; done
echo tokens=600 >> "$BATON_USAGE"
while [ ! -f end ]; do sleep 0.02; done
'''
"#;

#[test]
fn the_header_shows_usage_as_it_is_written_and_the_ceiling() {
    let env = Env::new();
    let wf = env.workflow("live.toml", WF);
    let t = Tmux::running(&env, &wf, 160, 30);
    t.wait_for(
        "600 of 1000 tokens, and the pace, while agent runs",
        |s| s.contains("600/1000 tok") && s.contains("tok/min,") && s.contains("left"),
        30,
    );
    std::fs::write(env.path().join("go"), "").unwrap();
    t.wait_for(
        "the ceiling reached",
        |s| s.contains("1200/1000 tok") && s.contains("at the ceiling"),
        30,
    );
    let run = env.wait_run_id();
    let show = env.show(&run);
    assert_eq!(
        step_field(&show, "agent", "hold")["budget"],
        true,
        "{show:#}"
    );
    let out = env.run(&["cancel", &run]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}
