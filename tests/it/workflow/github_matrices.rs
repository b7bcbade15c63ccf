//! Issue 42 point 3: two real GitHub Actions matrices whose `include` entries give
//! some cells keys the others lack (tests/fixtures/github/, each file says where it
//! came from), run by the real binary: the cells and the values each reads are the
//! jobs GitHub makes of the same matrix.
use crate::helpers::*;
use std::path::Path;

/// Run a fixture headless to its end; each instance of `step` (id and its `job`
/// output), in instance order.
fn cells(name: &str, step: &str) -> Vec<(String, String)> {
    let env = Env::new();
    let wf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/github")
        .join(name);
    let out = env.run(&["run", wf.to_str().unwrap(), "--headless"]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let show = env.show(&run_id_of(&text(&out.stdout))[..8]);
    assert_eq!(show["state"], "succeeded", "{show:#}");
    let prefix = format!("{step}[");
    show["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["id"].as_str().is_some_and(|id| id.starts_with(&prefix)))
        .map(|s| {
            assert_eq!(s["state"], "succeeded", "{s:#}");
            let id = s["id"].as_str().unwrap().to_string();
            let job = s["outputs"]["job"].as_str().unwrap_or("").to_string();
            (id, job)
        })
        .collect()
}

fn assert_cells(got: Vec<(String, String)>, want: &[(&str, &str)]) {
    let got: Vec<(&str, &str)> = got.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    assert_eq!(got, want);
}

#[test]
fn pytests_matrix_makes_githubs_sixteen_jobs() {
    // One cell per `name`, in the order written, each extended by its include entry
    // (the entry changes no original value); `use_coverage` only where given.
    let job = |name: &str, py: &str, os: &str, tox: &str, cov: bool| {
        let how = if cov {
            format!("tox -e {tox} with coverage")
        } else {
            format!("tox -e {tox}")
        };
        let c = if cov { "true" } else { "" };
        let id = if cov {
            format!("build[{name},{py},{os},{tox},true]")
        } else {
            format!("build[{name},{py},{os},{tox}]")
        };
        (
            id,
            format!("{name}|runs-on {os}|python {py}|{how}|use_coverage=[{c}]"),
        )
    };
    let want = [
        job("windows-py36", "3.6", "windows-latest", "py36-xdist", false),
        job("windows-py37", "3.7", "windows-latest", "py37-numpy", false),
        job(
            "windows-py37-pluggy",
            "3.7",
            "windows-latest",
            "py37-pluggymaster-xdist",
            false,
        ),
        job(
            "windows-py38",
            "3.8",
            "windows-latest",
            "py38-unittestextras",
            true,
        ),
        job("ubuntu-py36", "3.6", "ubuntu-latest", "py36-xdist", false),
        job(
            "ubuntu-py37",
            "3.7",
            "ubuntu-latest",
            "py37-lsof-numpy-pexpect",
            true,
        ),
        job(
            "ubuntu-py37-pluggy",
            "3.7",
            "ubuntu-latest",
            "py37-pluggymaster-xdist",
            false,
        ),
        job(
            "ubuntu-py37-freeze",
            "3.7",
            "ubuntu-latest",
            "py37-freeze",
            false,
        ),
        job("ubuntu-py38", "3.8", "ubuntu-latest", "py38-xdist", false),
        job("ubuntu-py39", "3.9", "ubuntu-latest", "py39-xdist", false),
        job(
            "ubuntu-pypy3",
            "pypy3",
            "ubuntu-latest",
            "pypy3-xdist",
            false,
        ),
        job("macos-py37", "3.7", "macos-latest", "py37-xdist", false),
        job("macos-py38", "3.8", "macos-latest", "py38-xdist", true),
        job("docs", "3.7", "ubuntu-latest", "docs", false),
        job("doctesting", "3.7", "ubuntu-latest", "doctesting", true),
        job("plugins", "3.7", "ubuntu-latest", "plugins", false),
    ];
    let want: Vec<(&str, &str)> = want.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    assert_cells(cells("pytest-main.toml", "build"), &want);
}

#[test]
fn clicks_include_only_matrix_makes_githubs_nine_jobs() {
    // No key to multiply: each include entry is a cell of its own, in order. A cell
    // without `name`, `os` or `tox` reads '' there, so `||` falls back.
    assert_cells(
        cells("click-tests.toml", "tests"),
        &[
            (
                "tests[3.12]",
                "3.12|runs-on ubuntu-latest|python 3.12|tox run -e py3.12",
            ),
            (
                "tests[Windows,3.12,windows-latest]",
                "Windows|runs-on windows-latest|python 3.12|tox run -e py3.12",
            ),
            (
                "tests[Mac,3.12,macos-latest]",
                "Mac|runs-on macos-latest|python 3.12|tox run -e py3.12",
            ),
            (
                "tests[3.11]",
                "3.11|runs-on ubuntu-latest|python 3.11|tox run -e py3.11",
            ),
            (
                "tests[3.10]",
                "3.10|runs-on ubuntu-latest|python 3.10|tox run -e py3.10",
            ),
            (
                "tests[3.9]",
                "3.9|runs-on ubuntu-latest|python 3.9|tox run -e py3.9",
            ),
            (
                "tests[3.8]",
                "3.8|runs-on ubuntu-latest|python 3.8|tox run -e py3.8",
            ),
            (
                "tests[3.7]",
                "3.7|runs-on ubuntu-latest|python 3.7|tox run -e py3.7",
            ),
            (
                "tests[PyPy,pypy-3.10,pypy310]",
                "PyPy|runs-on ubuntu-latest|python pypy-3.10|tox run -e pypy310",
            ),
        ],
    );
}
