//! Generate a large layered DAG workflow (and optionally the equivalent Makefile, the
//! `make -j2` baseline of docs/architecture.md, "Performance budgets").
//!
//!   cargo run --example gen_dag -- --layers 10 --width 100 [--cmd true|--builtin noop] \
//!       [--makefile PATH] > dag.toml
//!
//! Every node of layer k > 0 needs 2 nodes of layer k-1 (itself and its right
//! neighbour, wrapping around), so the graph is connected but not complete.
use std::fmt::Write as _;
use std::process::ExitCode;

struct Opts {
    layers: usize,
    width: usize,
    action: Action,
    makefile: Option<String>,
}

enum Action {
    Cmd(String),
    Builtin(String),
}

fn usage() -> &'static str {
    "usage: gen_dag --layers N --width N [--cmd CMD | --builtin noop|sleep|fail] [--makefile PATH]"
}

/// A command line this generator cannot take; each says the usage.
#[derive(Debug, thiserror::Error)]
enum UsageError {
    #[error("{usage}", usage = usage())]
    Help,
    #[error("{0} needs a value; {usage}", usage = usage())]
    NeedsValue(String),
    #[error("{0} takes a whole number")]
    NotANumber(&'static str),
    #[error("unknown argument {0}; {usage}", usage = usage())]
    Unknown(String),
    #[error("--layers and --width must be at least 1")]
    Zero,
}

fn parse(args: &[String]) -> Result<Opts, UsageError> {
    let mut o = Opts {
        layers: 10,
        width: 100,
        action: Action::Cmd("true".into()),
        makefile: None,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| UsageError::NeedsValue(a.clone()))
        };
        match a.as_str() {
            "--layers" => {
                o.layers = value()?
                    .parse()
                    .map_err(|_| UsageError::NotANumber("--layers"))?
            }
            "--width" => {
                o.width = value()?
                    .parse()
                    .map_err(|_| UsageError::NotANumber("--width"))?
            }
            "--cmd" => o.action = Action::Cmd(value()?),
            "--builtin" => o.action = Action::Builtin(value()?),
            "--makefile" => o.makefile = Some(value()?),
            "-h" | "--help" => return Err(UsageError::Help),
            other => return Err(UsageError::Unknown(other.to_string())),
        }
    }
    if o.layers == 0 || o.width == 0 {
        return Err(UsageError::Zero);
    }
    Ok(o)
}

fn id(layer: usize, i: usize) -> String {
    format!("l{layer}-n{i}")
}

fn needs(o: &Opts, layer: usize, i: usize) -> Vec<String> {
    if layer == 0 {
        return Vec::new();
    }
    let mut n = vec![id(layer - 1, i)];
    if o.width > 1 {
        n.push(id(layer - 1, (i + 1) % o.width));
    }
    n
}

fn workflow(o: &Opts) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "name = \"dag-{}x{}\"\ndescription = \"generated layered DAG: {} layers of {} steps\"\n",
        o.layers, o.width, o.layers, o.width
    );
    for layer in 0..o.layers {
        for i in 0..o.width {
            let _ = writeln!(out, "[[step]]\nid = \"{}\"", id(layer, i));
            let n = needs(o, layer, i);
            if !n.is_empty() {
                let quoted: Vec<String> = n.iter().map(|x| format!("\"{x}\"")).collect();
                let _ = writeln!(out, "needs = [{}]", quoted.join(", "));
            }
            match &o.action {
                Action::Cmd(c) => {
                    let _ = writeln!(out, "run = {}", toml_string(c));
                }
                Action::Builtin(b) => {
                    let _ = writeln!(out, "uses = \"builtin.{b}\"");
                    if b == "sleep" {
                        let _ = writeln!(out, "with = {{ DURATION = \"10ms\" }}");
                    }
                }
            }
            out.push('\n');
        }
    }
    out
}

fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn makefile(o: &Opts) -> String {
    let cmd = match &o.action {
        Action::Cmd(c) => c.replace('$', "$$"),
        Action::Builtin(_) => "true".into(),
    };
    let last: Vec<String> = (0..o.width).map(|i| id(o.layers - 1, i)).collect();
    let mut out = format!(
        ".PHONY: all {}\nall: {}\n\n",
        last.join(" "),
        last.join(" ")
    );
    for layer in 0..o.layers {
        for i in 0..o.width {
            let _ = writeln!(
                out,
                "{}: {}\n\t@{cmd}\n",
                id(layer, i),
                needs(o, layer, i).join(" ")
            );
        }
    }
    out
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let o = match parse(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    if let Some(path) = &o.makefile
        && let Err(e) = std::fs::write(path, makefile(&o))
    {
        eprintln!("cannot write {path}: {e}");
        return ExitCode::from(2);
    }
    print!("{}", workflow(&o));
    ExitCode::SUCCESS
}
