//! Issue 79 point 3: what a finished run reads as (`events`, `events --json`, `show`,
//! `show --json`, `runs --json`, `audit verify`) stays byte for byte what it was while
//! the store's write path changes. A fixed workflow (a chain at `max_parallel = 1`, so
//! the order of its events is fixed) runs through the real binary; what varies with the
//! clock and the machine (times, the run's id, its directory, its seed, rates) is put
//! in fixed words, and the rest is compared with the snapshot taken before.
use crate::helpers::*;
use serde_json::Value;

const WF: &str = r#"name = "reads"
max_parallel = 1
[[step]]
id = "a"
run = "echo hello"
[[step]]
id = "b"
needs = ["a"]
run = 'echo "x=42" >> "$BATON_OUTPUT"'
[[step]]
id = "c"
needs = ["b"]
run = 'echo "got $X"; exit 3'
env = { X = "${{ steps.b.outputs.x }}" }
"#;

/// Keys whose values follow the clock or the machine, not the run's history.
const VARYING: &[&str] = &[
    "at",
    "seed",
    "started_at",
    "started_at_ms",
    "finished_at_ms",
    "finished_at",
    "duration_ms",
    "finished_per_sec",
    "p50_ms",
    "p95_ms",
    "pid",
    "pgid",
    "created_at",
    "updated_at",
];

fn fix_json(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                if VARYING.contains(&k.as_str()) && !val.is_null() {
                    *val = Value::String(format!("<{k}>"));
                } else {
                    fix_json(val);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(fix_json),
        _ => {}
    }
}

/// The run's id, the env's directory, the operator (the OS account running the test),
/// the attempts' random directories and what the clock measures, in fixed words.
fn fix_text(s: &str, run: &str, dir: &str, operator: &str) -> String {
    let s = s.replace(run, "<run>").replace(dir, "<dir>");
    let operator = format!(r"\b{}\b", regex::escape(operator));
    let words = [
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "<time>"),
        (r"\b\d\d:\d\d:\d\d\b", "<hms>"),
        (r"<run>-[0-9a-f]{8}/[0-9a-f]{32}", "<run>-<dir>"),
        (r"\b\d+(\.\d+)? ?ms\b", "<ms>"),
        // A step slowed past a second on a loaded machine reads `1.2s`.
        (r"\b\d+\.\ds\b", "<ms>"),
        // A table pads a cell to its column's widest duration: `5ms` and `12ms` differ.
        (r"<ms> {2,}", "<ms>  "),
        (r"\b\d+(\.\d+)? finished/s", "<rate> finished/s"),
        (operator.as_str(), "<operator>"),
    ];
    words.iter().fold(s, |s, (pattern, word)| {
        let re = regex::Regex::new(pattern).unwrap();
        re.replace_all(&s, *word).into_owned()
    })
}

fn read(env: &Env, args: &[&str]) -> String {
    let out = env.run(args);
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    text(&out.stdout)
}

fn json_lines(s: &str) -> String {
    s.lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            fix_json(&mut v);
            v.to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn json_doc(s: &str) -> String {
    let mut v: Value = serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"));
    fix_json(&mut v);
    serde_json::to_string_pretty(&v).unwrap()
}

#[test]
fn a_fixed_run_reads_byte_for_byte_as_before() {
    let env = Env::new();
    let wf = env.workflow("reads.toml", WF);
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let run = run_id_of(&text(&out.stdout));
    let dir = env.path().to_string_lossy().into_owned();
    let operator = env.show(&run)["operator"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(!operator.is_empty(), "the run names its operator");
    let reads = [
        ("events", read(&env, &["events", &run])),
        (
            "events --json",
            json_lines(&read(&env, &["events", &run, "--json"])),
        ),
        ("show", read(&env, &["show", &run])),
        (
            "show --json",
            json_doc(&read(&env, &["show", &run, "--json"])),
        ),
        ("runs --json", json_doc(&read(&env, &["runs", "--json"]))),
        ("audit verify", read(&env, &["audit", "verify"])),
    ];
    let all = reads
        .iter()
        .map(|(name, body)| {
            format!(
                "=== baton {name}\n{}\n",
                fix_text(body, &run, &dir, &operator)
            )
        })
        .collect::<String>();
    insta::assert_snapshot!(all);
}
