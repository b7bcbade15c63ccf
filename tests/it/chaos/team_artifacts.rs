//! Issue 77 point 3: artifacts on the group store, with real processes and accounts.
//! `gmalice` runs `model` (its `train` keeps a file of random bytes, its `evaluate` is
//! handed it and writes the digest of what it read), and now and then `gmbob`, another
//! member of the group, races the store's artifact directory: renames `artifacts/`
//! away whole, puts a copy of his own in its place with every file replaced by `EVIL
//! MODEL`, waits, and puts the store's back. Its engines are signalled with the
//! others'. Checked: what every reader read is the file its run kept, by its digest
//! (`baton show --json`), never his bytes.
use super::checks::Verdict;
use super::team::{ALICE, BOB, GROUP, owned};
use super::world::{Campaign, MAX_ENGINES, What};
use crate::helpers::*;
use sha2::Digest;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `model`: `train` keeps `m.bin`; `evaluate`, handed it, waits a moment (a member may
/// race meanwhile) and writes the digest of what it reads to `reads/RUN.ATTEMPT.PID`.
fn flow(reads: &Path) -> String {
    format!(
        r#"name = "model"

[[step]]
id = "train"
run = "head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > m.bin; sleep 0.3"
artifacts = {{ model = "m.bin" }}

[[step]]
id = "evaluate"
needs = ["train"]
uses_artifacts = ["train.model"]
run = '''
sleep 0.4
sha256sum "$BATON_ARTIFACT_TRAIN_MODEL" | cut -c1-64 > "{reads}/$BATON_RUN_ID.$BATON_ATTEMPT.$$"
'''
"#,
        reads = reads.display()
    )
}

/// What the races are made of: `gmalice`'s `model.toml` and the readers' digests.
pub(super) struct Models {
    flow: PathBuf,
    reads: PathBuf,
    /// Where `gmbob` notes each race he made (his home).
    raced: PathBuf,
    pub started: usize,
    pub held_back: usize,
    pub races: usize,
}

impl Models {
    fn new(team_root: &Path) -> Result<Models, String> {
        let home = team_root.join(ALICE);
        let reads = home.join("reads");
        std::fs::create_dir_all(&reads).map_err(|e| e.to_string())?;
        owned(&reads, ALICE, 0o755)?;
        let flow_path = home.join("model.toml");
        std::fs::write(&flow_path, flow(&reads)).map_err(|e| e.to_string())?;
        owned(&flow_path, ALICE, 0o644)?;
        Ok(Models {
            flow: flow_path,
            reads,
            raced: team_root.join(BOB),
            started: 0,
            held_back: 0,
            races: 0,
        })
    }
}

/// `gmbob`'s race: the store's `artifacts/` renamed away, a copy of his in its place
/// with every file `EVIL MODEL`, then the store's put back (each step may fail: a
/// member cannot do all of it at every moment; what he did is noted).
fn race_script(srv: &Path, n: usize, raced: &Path) -> String {
    format!(
        r#"a='{a}'; away="$a.away.{n}"
sleep 0.$(( $$ % 9 ))
mv "$a" "$away" 2>/dev/null || exit 0
mkdir "$a" && cp -R "$away/." "$a/" 2>/dev/null
find "$a" -type f -exec sh -c 'printf "EVIL MODEL" > "$1"' _ {{}} \; 2>/dev/null
touch '{raced}/raced.{n}'
sleep 1.5
rm -rf "$a" && mv "$away" "$a""#,
        a = srv.join("artifacts").display(),
        raced = raced.display()
    )
}

impl Campaign {
    /// A run of `model` as `gmalice` (one at a time: its steps share their
    /// directory), and `gmbob`'s race when `race`.
    pub(super) fn model(&mut self, race: bool) {
        let busy = self.engines() >= MAX_ENGINES;
        let Some(t) = &self.team else { return };
        if self.models.is_none() {
            match Models::new(&t.root) {
                Ok(m) => self.models = Some(m),
                Err(e) => {
                    self.team_missing = Some(format!("the model's files ({e})"));
                    return;
                }
            }
        }
        let going = t
            .rows(&["runs", "--json"])
            .iter()
            .any(|r| r["workflow"] == "model" && !super::acts::final_state(&r["state"]));
        let Some(m) = self.models.as_mut() else {
            return;
        };
        if going || busy {
            m.held_back += 1;
            return;
        }
        m.started += 1;
        let flow = m.flow.to_string_lossy().into_owned();
        let run = t.cmd(ALICE, &["run", &flow, "--headless"]);
        let racer = race.then(|| {
            m.races += 1;
            let srv = t.db.parent().unwrap_or(Path::new("/")).to_path_buf();
            let mut c = Command::new("setpriv");
            as_other_account(&mut c)
                .arg(format!("--reuid={BOB}"))
                .arg(format!("--regid={GROUP}"))
                .arg("--init-groups")
                .args(["sh", "-c", &race_script(&srv, m.races, &m.raced)]);
            c
        });
        self.spawn_cmd(run, What::Run);
        if let Some(c) = racer {
            self.spawn_cmd(c, What::Cli);
        }
    }
}

/// docs/workflow/artifacts.md: the reader's copy "cannot change after its check": the
/// digest of what every `evaluate` read at the path it was handed is the digest its
/// run's `train` kept (`baton show --json`, as `gmalice`), never `gmbob`'s bytes.
pub(super) fn a_reader_reads_what_was_checked(c: &Campaign) -> Verdict {
    let mut v = Verdict::new(
        "a_reader_reads_what_was_checked",
        "docs/workflow/artifacts.md: the reader's copy cannot change after its check: a reader reads the file its run kept",
    );
    let (Some(t), Some(m)) = (&c.team, &c.models) else {
        v.checked = format!(
            "not tried: {}",
            c.team_missing.as_deref().unwrap_or("no run of model")
        );
        return v;
    };
    let evil = hex::encode(sha2::Sha256::digest(b"EVIL MODEL"));
    let mut reads = 0;
    let entries = std::fs::read_dir(&m.reads).map(|d| d.flatten().collect::<Vec<_>>());
    for e in entries.unwrap_or_default() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(run) = name.split('.').next() else {
            continue;
        };
        let read = std::fs::read_to_string(e.path()).unwrap_or_default();
        let read = read.trim();
        reads += 1;
        let out = t.cmd(ALICE, &["show", run, "--json"]).output();
        let shown: serde_json::Value = out
            .ok()
            .and_then(|o| serde_json::from_slice(&o.stdout).ok())
            .unwrap_or_default();
        let kept = shown["steps"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["id"] == "train"))
            .and_then(|s| s["artifacts"].as_array()?.first()?["sha256"].as_str())
            .map(str::to_string);
        if read == evil || kept.as_deref() != Some(read) {
            v.broken.push(format!(
                "{run}/evaluate ({name}) read sha256 {read}; its train kept {kept:?}"
            ));
        }
    }
    let raced = std::fs::read_dir(&m.raced)
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("raced."))
                .count()
        })
        .unwrap_or(0);
    v.checked = format!(
        "{reads} reads of {} runs of model ({} held back: one at a time), {raced} of {} races made by {BOB}",
        m.started, m.held_back, m.races
    );
    v
}
