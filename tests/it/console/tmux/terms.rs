//! Issue 28 point 5: terminals nobody here chose. `TERM=dumb` and a TERM without a
//! terminfo entry refuse the console (and `run` goes headless); `vt100`/`linux` get no
//! colour they cannot show; a non-UTF-8 locale (or `ascii = true`) gets ASCII only; a
//! CJK or emoji workflow name keeps the Runs table's columns; a tab switch leaves
//! nothing behind and Ctrl-L redraws.
use super::*;

fn baton() -> String {
    shell_quote(env!("CARGO_BIN_EXE_baton"))
}

/// `cd ENV && BATON_DB=… XDG_CONFIG_HOME=… USER=carol COLORTERM= `, then `rest`.
fn in_env(env: &Env, rest: &str) -> String {
    format!(
        "cd {} && export BATON_DB={} XDG_CONFIG_HOME={} USER=carol COLORTERM= && {rest}",
        shell_quote(&env.path().to_string_lossy()),
        shell_quote(&env.db().to_string_lossy()),
        shell_quote(&env.config_home().to_string_lossy()),
    )
}

#[test]
fn term_dumb_refuses_the_console_naming_what_works_and_run_goes_headless() {
    let env = Env::new();
    let wf = env.workflow(
        "quick.toml",
        "name = \"quick\"\n[[step]]\nid = \"only\"\nrun = \"echo done-here\"\n",
    );
    let command = in_env(
        &env,
        &format!(
            "TERM=dumb {b} tui ; echo TUI-EXIT=$? ; TERM=no-such-terminal {b} tui ; echo NOINFO-EXIT=$? ; TERM=dumb {b} run {wf} ; echo RUN-EXIT=$? ; sleep 30",
            b = baton(),
            wf = shell_quote(&wf.to_string_lossy())
        ),
    );
    let tmux = Tmux::new(&env, 200, 50, &command);
    let s = tmux.wait_for("all three to end", |s| s.contains("RUN-EXIT="), 30);
    assert!(s.contains("TUI-EXIT=2"), "{s}");
    assert!(s.contains("TERM is dumb"), "{s}");
    for instead in ["--headless", "baton show", "baton logs", "-f"] {
        assert!(s.contains(instead), "names {instead}:\n{s}");
    }
    assert!(s.contains("NOINFO-EXIT=2"), "{s}");
    assert!(
        s.contains("no terminfo entry for TERM=no-such-terminal"),
        "{s}"
    );
    assert!(s.contains("RUN-EXIT=0"), "{s}");
    let runs = env.runs();
    assert_eq!(runs[0]["state"], "succeeded", "{runs}");
}

/// Every SGR sequence in `bytes`: its parameters.
fn sgr_params(bytes: &[u8]) -> Vec<String> {
    let s = String::from_utf8_lossy(bytes);
    let mut out = Vec::new();
    let mut rest = &s[..];
    while let Some(i) = rest.find("\x1b[") {
        rest = &rest[i + 2..];
        let end = rest
            .find(|c: char| ('\x40'..='\x7e').contains(&c))
            .unwrap_or(rest.len());
        if rest[end..].starts_with('m') {
            out.push(rest[..end].to_string());
        }
        rest = &rest[end..];
    }
    out
}

/// The colour codes of SGR parameters: `38;5;N`, `38;2;R;G;B` and 30–37, 90–97 (and
/// their backgrounds) as written.
fn colours(params: &str) -> Vec<String> {
    let p: Vec<&str> = params.split(';').collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            "38" | "48" | "58" if p.get(i + 1) == Some(&"5") => {
                out.push(p[i..(i + 3).min(p.len())].join(";"));
                i += 3;
            }
            "38" | "48" | "58" if p.get(i + 1) == Some(&"2") => {
                out.push(p[i..(i + 5).min(p.len())].join(";"));
                i += 5;
            }
            v => {
                let colour = |n: u32| {
                    [30..=37, 40..=47, 90..=97, 100..=107]
                        .iter()
                        .any(|r| r.contains(&n))
                };
                if v.parse::<u32>().is_ok_and(colour) {
                    out.push(v.to_string());
                }
                i += 1;
            }
        }
    }
    out
}

/// The bytes the console sends on a terminal named `term`, from tmux's `pipe-pane`:
/// the console starts only once the pipe is on.
fn console_bytes(term: &str) -> Vec<u8> {
    let env = Env::new();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/hello.toml");
    let bytes = env.path().join("bytes");
    let go = env.path().join("go");
    let command = in_env(
        &env,
        &format!(
            "while [ ! -e {go} ]; do sleep 0.05; done; TERM={term} {b} run {ex} ; echo RUN-EXIT=$? ; sleep 30",
            go = shell_quote(&go.to_string_lossy()),
            b = baton(),
            ex = shell_quote(example)
        ),
    );
    let tmux = Tmux::new(&env, 100, 30, &command);
    let st = Command::new("tmux")
        .args(["-L", &tmux.socket, "pipe-pane", "-o", "-t", "main"])
        .arg(format!("cat >> {}", shell_quote(&bytes.to_string_lossy())))
        .status()
        .expect("pipe-pane");
    assert!(st.success());
    std::fs::write(&go, "").unwrap();
    // The gate opens: its step's state drawn, colours and all.
    tmux.wait_for(
        "the open gate",
        // At 100 columns the tab line has the short titles (`Gates (1)`).
        |s| s.contains("farewell") && s.contains("Gates (1)"),
        30,
    );
    tmux.keys(&["2"]);
    tmux.wait_for("the approvals tab", |s| s.contains("Open gates"), 10);
    wait_until("the frames in the pipe", Duration::from_secs(10), || {
        let b = std::fs::read(&bytes).unwrap_or_default();
        if String::from_utf8_lossy(&b).contains("Open gates") {
            Ok(b)
        } else {
            Err(format!("{} bytes", b.len()))
        }
    })
}

#[test]
fn vt100_gets_no_colour_and_linux_only_its_eight() {
    let vt100 = console_bytes("vt100");
    let all: Vec<String> = sgr_params(&vt100).iter().flat_map(|p| colours(p)).collect();
    assert!(all.is_empty(), "vt100 has no colours in terminfo: {all:?}");

    let linux = console_bytes("linux");
    let all: Vec<String> = sgr_params(&linux).iter().flat_map(|p| colours(p)).collect();
    assert!(!all.is_empty(), "linux shows 8 colours");
    for c in &all {
        let n: Option<u32> = c.parse().ok();
        assert!(
            n.is_some_and(|n| (30..=37).contains(&n) || (40..=47).contains(&n)),
            "not one of the 8 colours: {c} (all: {all:?})"
        );
    }
}

#[test]
fn a_c_locale_or_ascii_in_the_config_draws_only_ascii() {
    for (config, locale) in [("", "LC_ALL= LC_CTYPE= LANG=C"), ("ascii = true\n", "")] {
        let env = Env::new();
        env.config(config);
        let example = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/hello.toml");
        let command = in_env(
            &env,
            &format!(
                "{locale} {b} run {ex} ; echo RUN-EXIT=$? ; sleep 30",
                b = baton(),
                ex = shell_quote(example)
            ),
        );
        let tmux = Tmux::new(&env, 100, 30, &command);
        // The gate's count can show a frame before the step's row takes its waiting
        // glyph (seen with four test threads on a loaded machine): wait for both.
        let s = tmux.wait_for(
            "the open gate and its step waiting",
            |s| s.contains("Gates (1)") && (s.contains("= farewell") || s.contains("=farewell")),
            30,
        );
        assert!(s.is_ascii(), "{config}{locale}: not ASCII:\n{s}");
        assert!(s.contains("+-") && s.contains("|"), "ASCII borders:\n{s}");
        tmux.keys(&["2"]);
        let s = tmux.wait_for("the approvals tab", |s| s.contains("Open gates"), 10);
        assert!(s.is_ascii(), "{s}");
        assert!(s.contains("^v/jk"), "the footer's arrows:\n{s}");
    }
}

/// Display columns of `line` up to byte `i`, as the terminal places them.
fn columns(line: &str, i: usize) -> usize {
    unicode_width::UnicodeWidthStr::width(&line[..i])
}

#[test]
fn a_cjk_or_emoji_workflow_name_keeps_the_runs_table_aligned_and_a_tab_switch_leaves_nothing() {
    let env = Env::new();
    for (file, name) in [
        ("cjk.toml", "リリース本番デプロイ"),
        ("emoji.toml", "deploy 🚀 now"),
        ("plain.toml", "plain"),
    ] {
        let wf = env.workflow(
            file,
            &format!("name = \"{name}\"\n[[step]]\nid = \"only\"\nrun = \"true\"\n"),
        );
        let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let command = in_env(
        &env,
        &format!("{} tui ; echo TUI-EXIT=$? ; sleep 30", baton()),
    );
    let tmux = Tmux::new(&env, 120, 40, &command);
    let s = tmux.wait_for(
        "the three runs",
        |s| s.contains("リリース") && s.contains("🚀") && s.contains("plain"),
        20,
    );
    let rows: Vec<&str> = s
        .lines()
        .filter(|l| l.contains("succeeded") && !l.contains("◆"))
        .collect();
    assert_eq!(rows.len(), 3, "{s}");
    let at = |needle: &str| -> Vec<usize> {
        rows.iter()
            .map(|l| {
                columns(
                    l,
                    l.find(needle).unwrap_or_else(|| panic!("{needle} in {l}")),
                )
            })
            .collect()
    };
    for needle in ["✔ succeeded", "1/1"] {
        let cols = at(needle);
        assert!(
            cols.windows(2).all(|w| w[0] == w[1]),
            "`{needle}` at columns {cols:?}:\n{s}"
        );
    }
    // The open run is the newest (plain): on the Audit tab no other name is left.
    tmux.keys(&["4"]);
    let s = tmux.wait_for("the audit tab", |s| !s.contains("Runs ·"), 10);
    assert!(
        !s.contains("リリース") && !s.contains("🚀"),
        "left behind:\n{s}"
    );

    // Something else writes on the terminal; Ctrl-L draws the whole screen again.
    let tty = Command::new("tmux")
        .args([
            "-L",
            &tmux.socket,
            "display",
            "-p",
            "-t",
            "main",
            "#{pane_tty}",
        ])
        .output()
        .expect("pane_tty");
    let tty = text(&tty.stdout).trim().to_string();
    // Written again until it shows: a frame the console was still drawing (the tab
    // switch's full redraw) may paint over the first write.
    wait_until("the stray output", secs(15), || {
        std::fs::write(&tty, "\x1b[5;5HSTRAY-OUTPUT").is_ok()
            && poll(secs(2), || tmux.screen().contains("STRAY-OUTPUT")).is_ok()
    });
    tmux.keys(&["C-l"]);
    tmux.wait_for("the screen redrawn", |s| !s.contains("STRAY-OUTPUT"), 10);
}
