//! Issue 75 point 2: artifacts on a group store, as two real OS accounts of one group
//! (`gmalice` made the store, `gmbob` is another member; tests/accounts.sh makes them).
//! The store's artifact directories are made with it (3770: setgid, sticky), every
//! member keeps and reads artifacts, an engine refuses a directory another member
//! made swappable, and a member cannot swap the copy a reader was handed (it lies in
//! the engine account's own state directory, not under the store's).
use super::group_members::{ALICE, BOB, GROUP, Members, all, gid, uid};
use crate::helpers::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// A step that makes `m.bin` holding `body`, and one that reads it into `got`.
fn make_and_read(body: &str) -> String {
    format!(
        r#"
name = "arts"
[[step]]
id = "make"
run = "printf '{body}' > m.bin"
artifacts = {{ model = "m.bin" }}
[[step]]
id = "read"
needs = ["make"]
uses_artifacts = ["make.model"]
run = 'cat "$BATON_ARTIFACT_MAKE_MODEL" > got'
"#
    )
}

/// `sh -c SCRIPT` as `user` of the group: what a member can do to the store's files.
fn sh_as(user: &str, script: &str) -> Output {
    Command::new("setpriv")
        .arg(format!("--reuid={user}"))
        .arg(format!("--regid={GROUP}"))
        .arg("--init-groups")
        .args(["sh", "-c", script])
        .output()
        .expect("setpriv")
}

fn artifacts(m: &Members) -> PathBuf {
    m.db().parent().unwrap().join("artifacts")
}

/// `user` runs `wf` to its end, headless.
fn run_as(m: &Members, user: &str, wf: &Path) -> Output {
    m.baton(user, &["run", wf.to_str().unwrap(), "--headless"])
}

#[test]
fn store_init_makes_the_artifact_directories_and_every_member_keeps_and_reads_artifacts() {
    let Some(m) = Members::new() else {
        return;
    };
    let a = artifacts(&m);
    for d in [a.clone(), a.join("objects"), a.join("stage")] {
        let meta = std::fs::symlink_metadata(&d)
            .unwrap_or_else(|e| panic!("{} not made by store init: {e}", d.display()));
        assert!(meta.is_dir(), "{}", d.display());
        assert_eq!(meta.mode() & 0o7777, 0o3770, "{}", d.display());
        assert_eq!(meta.gid(), gid().as_raw(), "{}", d.display());
    }
    // Alice keeps one; then bob keeps the same content (alice's copy of it stays, in
    // a directory where he cannot replace it) and one of his own, and reads both.
    // Each file a workflow of its own name: one account's two files cannot share one.
    let named = |body: &str, file: &str| {
        make_and_read(body).replacen(
            "name = \"arts\"",
            &format!("name = \"arts-{}\"", file.trim_end_matches(".toml")),
            1,
        )
    };
    let wf = m.write(ALICE, "w.toml", &named("weights", "w.toml"));
    let out = run_as(&m, ALICE, &wf);
    assert!(out.status.success(), "alice: {}", all(&out));
    assert_eq!(
        std::fs::read(m.home(ALICE).join("got")).unwrap(),
        b"weights"
    );
    for (body, name) in [("weights", "same.toml"), ("bobs own", "own.toml")] {
        let wf = m.write(BOB, name, &named(body, name));
        let out = run_as(&m, BOB, &wf);
        assert!(out.status.success(), "bob ({body}): {}", all(&out));
        assert_eq!(
            std::fs::read(m.home(BOB).join("got")).unwrap(),
            body.as_bytes()
        );
    }
    // And alice reads after bob kept one (his fan-out directory is the group's).
    let wf = m.write(ALICE, "w2.toml", &named("bobs own", "w2.toml"));
    let out = run_as(&m, ALICE, &wf);
    assert!(out.status.success(), "alice after bob: {}", all(&out));
}

#[test]
fn an_artifact_directory_another_member_made_swappable_is_refused_naming_it() {
    let Some(m) = Members::new() else {
        return;
    };
    // A store whose artifact directories bob made first (as before `store init` made
    // them): group-writable, not sticky, his.
    let a = artifacts(&m);
    std::fs::remove_dir_all(&a).unwrap();
    let made = sh_as(
        BOB,
        &format!(
            "mkdir -m 2770 {a} {a}/objects {a}/stage && chmod 2770 {a} {a}/objects {a}/stage",
            a = a.display()
        ),
    );
    assert!(made.status.success(), "{}", all(&made));
    let wf = m.write(ALICE, "w.toml", &make_and_read("weights"));
    let out = run_as(&m, ALICE, &wf);
    assert!(!out.status.success(), "alice ran on bob's directories");
    let said = all(&out);
    assert!(
        said.contains(&format!(
            "{} (mode 2770) can be written by others",
            a.display()
        )),
        "{said}"
    );
    assert!(said.contains("chmod 3770"), "{said}");
    assert!(!m.home(ALICE).join("got").exists());
    // Sticky but bob's: still not the store owner's, refused.
    let fixed = sh_as(
        BOB,
        &format!("chmod 3770 {a} {a}/objects {a}/stage", a = a.display()),
    );
    assert!(fixed.status.success(), "{}", all(&fixed));
    let out = run_as(&m, ALICE, &wf);
    let said = all(&out);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains(&format!("{} belongs to {BOB}", a.display())),
        "{said}"
    );
    assert!(said.contains(&format!("store owner's ({ALICE})")), "{said}");
}

const SLOW_READER: &str = r#"
name = "arts"
[[step]]
id = "make"
run = "printf 'GOOD MODEL' > m.bin"
artifacts = { model = "m.bin" }
[[step]]
id = "read"
needs = ["make"]
uses_artifacts = ["make.model"]
run = '''
printf '%s' "$BATON_ARTIFACT_MAKE_MODEL" > handed.tmp && mv handed.tmp handed
i=0; while [ ! -f go ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
cat "$BATON_ARTIFACT_MAKE_MODEL" > got
'''
"#;

#[test]
fn a_member_cannot_swap_the_copy_a_reader_was_handed() {
    let Some(m) = Members::new() else {
        return;
    };
    // Bob first makes `artifacts/stage` his own, group-writable, as a member could
    // while no engine had made it: refused, it is the store's (alice's, sticky).
    let stage = artifacts(&m).join("stage");
    let first = sh_as(
        BOB,
        &format!(
            "if [ -d {s} ]; then mv {s} {s}.old; fi; mkdir -p {s} && chmod 2770 {s}",
            s = stage.display()
        ),
    );
    assert!(!first.status.success(), "bob made the stage directory his");
    let wf = m.write(ALICE, "w.toml", SLOW_READER);
    let engine = m.spawn(ALICE, &["run", wf.to_str().unwrap(), "--headless"]);
    let handed = m.home(ALICE).join("handed");
    let path = wait_until("the reader's path", Duration::from_secs(60), || {
        std::fs::read_to_string(&handed).map_err(|e| e.to_string())
    });
    let copy = PathBuf::from(&path);
    // In alice's own state directory, not under the store's (which any member writes).
    let own = m.home(ALICE).join("state/baton/stage");
    assert!(copy.starts_with(&own), "{path}");
    assert!(!copy.starts_with(m.db().parent().unwrap()), "{path}");
    let sha_dir = copy.parent().unwrap();
    let run_dir = sha_dir.parent().unwrap();
    // The copy's directories are alice's alone.
    for d in [sha_dir, run_dir] {
        let meta = std::fs::metadata(d).unwrap();
        assert_eq!(
            (meta.uid(), meta.mode() & 0o777),
            (uid(ALICE).as_raw(), 0o700),
            "{}",
            d.display()
        );
    }
    // Bob: move the copy (or a directory above it) away and put his bytes there.
    let evil = m.write(BOB, "evil", "EVIL MODEL");
    let tries = [
        format!(
            "mv {c} {c}.away && cp {e} {c}",
            c = copy.display(),
            e = evil.display()
        ),
        format!(
            "mv {r} {r}.away && mkdir -p {s} && cp {e} {c}",
            r = run_dir.display(),
            s = sha_dir.display(),
            c = copy.display(),
            e = evil.display()
        ),
        format!(
            "mv {st} {st}.away && mkdir -p {s} && cp {e} {c}",
            st = run_dir.parent().unwrap().display(),
            s = sha_dir.display(),
            c = copy.display(),
            e = evil.display()
        ),
        format!("cp {e} {c}", e = evil.display(), c = copy.display()),
        format!("mv {o} {o}.away", o = m.home(ALICE).join("state").display()),
    ];
    for t in &tries {
        let out = sh_as(BOB, t);
        assert!(!out.status.success(), "bob's `{t}` went through");
    }
    // Bob renames the store's `artifacts/` as a whole (the store's directory is the
    // group's, not sticky: this goes through) and builds his tree in its place, his
    // bytes where the store's stage would hold this copy: the reader never opens it.
    let a = artifacts(&m);
    let fake = a
        .join("stage")
        .join(run_dir.file_name().unwrap())
        .join(sha_dir.file_name().unwrap());
    let swap = format!(
        "mv {a} {a}.away && mkdir -p {f} && cp {e} {f}/{n}",
        a = a.display(),
        f = fake.display(),
        e = evil.display(),
        n = copy.file_name().unwrap().to_string_lossy()
    );
    let out = sh_as(BOB, &swap);
    assert!(out.status.success(), "bob's `{swap}`: {}", all(&out));
    let go = m.home(ALICE).join("go");
    std::fs::write(&go, "").unwrap();
    std::fs::set_permissions(&go, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = engine.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", all(&out));
    assert_eq!(
        std::fs::read(m.home(ALICE).join("got")).unwrap(),
        b"GOOD MODEL"
    );
    assert_eq!(
        std::fs::read(fake.join(copy.file_name().unwrap())).unwrap(),
        b"EVIL MODEL"
    );
    // Bob puts the store's tree back; `runs rm` removes alice's copies with the run.
    let back = format!("mv {a} {a}.evil && mv {a}.away {a}", a = a.display());
    let out = sh_as(BOB, &back);
    assert!(out.status.success(), "bob's `{back}`: {}", all(&out));
    let run = run_dir.file_name().unwrap().to_str().unwrap();
    let rm = m.baton(ALICE, &["runs", "rm", run, "--yes"]);
    assert!(rm.status.success(), "{}", all(&rm));
    assert!(!run_dir.exists(), "{} left", run_dir.display());
}
