//! The minimal durable executor of issue 62 point 4, the reference baton is set against:
//! it runs the same DAG (`dag.needs`: one line per step, the indices of its needs) at
//! `-j2`, starting `true` for each step as baton starts a step (`support/start.rs`), and commits two rows to a SQLite WAL store per
//! step, each before its effect: a step's start before its process exists, its end
//! before anything that needs it starts. Transitions of one wake-up share a commit, as
//! baton's do. No output capture, no events, no hashes, no projection: the floor of a
//! durable executor on this machine.
//!
//! Run by `benches/user_way.rs` as `<bench> --min-durable dag.needs`, with the store at
//! `$HOME/min-durable.db` (the disk baton's store is on).
use std::collections::HashMap;
use std::path::Path;

/// `needs` as `dag.needs` holds them.
pub(crate) fn write_needs(dir: &Path, needs: &[Vec<usize>]) {
    let text: String = needs
        .iter()
        .map(|n| {
            let line: Vec<String> = n.iter().map(usize::to_string).collect();
            line.join(" ") + "\n"
        })
        .collect();
    std::fs::write(dir.join("dag.needs"), text).expect("write dag.needs");
}

pub(crate) fn read_needs(path: &Path) -> Vec<Vec<usize>> {
    std::fs::read_to_string(path)
        .expect("read dag.needs")
        .lines()
        .map(|l| {
            l.split_whitespace()
                .map(|n| n.parse().expect("a step index"))
                .collect()
        })
        .collect()
}

/// Which steps of a DAG may start: those whose needs have all ended.
pub(crate) struct Dag {
    waiting: Vec<usize>,
    dependants: Vec<Vec<usize>>,
    /// The steps free to start, the next one last.
    pub(crate) ready: Vec<usize>,
    done: usize,
}

impl Dag {
    pub(crate) fn new(needs: &[Vec<usize>]) -> Self {
        let waiting: Vec<usize> = needs.iter().map(Vec::len).collect();
        let mut dependants: Vec<Vec<usize>> = vec![Vec::new(); needs.len()];
        for (i, n) in needs.iter().enumerate() {
            for &d in n {
                dependants[d].push(i);
            }
        }
        let ready = (0..needs.len())
            .filter(|&i| waiting[i] == 0)
            .rev()
            .collect();
        Dag {
            waiting,
            dependants,
            ready,
            done: 0,
        }
    }

    /// Step `s` has ended: the steps it was the last need of are ready.
    pub(crate) fn done(&mut self, s: usize) {
        self.done += 1;
        for &d in &self.dependants[s] {
            self.waiting[d] -= 1;
            if self.waiting[d] == 0 {
                self.ready.push(d);
            }
        }
    }

    pub(crate) fn all_done(&self) -> bool {
        self.done == self.waiting.len()
    }
}

/// Run the DAG in `needs_file` at `jobs` at once; the store in `$HOME`.
pub(crate) fn run(needs_file: &Path, jobs: usize) {
    let needs = read_needs(needs_file);
    let home = std::env::var_os("HOME").expect("HOME");
    let db_path = Path::new(&home).join("min-durable.db");
    let _ = std::fs::remove_file(&db_path);
    let mut db = rusqlite::Connection::open(&db_path).expect("open the store");
    db.pragma_update(None, "journal_mode", "WAL").expect("WAL");
    db.pragma_update(None, "synchronous", "NORMAL")
        .expect("synchronous");
    db.execute(
        "CREATE TABLE IF NOT EXISTS t (step INTEGER, what INTEGER, at INTEGER)",
        [],
    )
    .expect("create the table");
    let mut dag = Dag::new(&needs);
    let mut running: HashMap<libc::pid_t, usize> = HashMap::new();
    let mut at = 0i64;
    while !dag.all_done() {
        // Starts: committed (one transaction for the wake-up's), then spawned.
        let mut starting = Vec::new();
        while running.len() + starting.len() < jobs {
            match dag.ready.pop() {
                Some(s) => starting.push(s),
                None => break,
            }
        }
        if !starting.is_empty() {
            commit(&mut db, &starting, 0, &mut at);
            for s in starting {
                // Its end is waited for by pid (`waitpid` below): no pidfd kept.
                let (pid, _) = super::start::start_true(1, 2);
                running.insert(pid, s);
            }
        }
        // An end (and any others already there): committed before what needs them.
        let mut ended = Vec::new();
        let mut status = 0;
        // SAFETY: waits for any child of this process, writing into a local.
        let pid = unsafe { libc::waitpid(-1, &mut status, 0) };
        assert!(pid > 0, "waitpid failed");
        ended.extend(running.remove(&pid));
        loop {
            // SAFETY: as above, without blocking.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if pid <= 0 {
                break;
            }
            ended.extend(running.remove(&pid));
        }
        commit(&mut db, &ended, 1, &mut at);
        for s in ended {
            dag.done(s);
        }
    }
}

fn commit(db: &mut rusqlite::Connection, steps: &[usize], what: i64, at: &mut i64) {
    let tx = db.transaction().expect("begin");
    {
        let mut insert = tx
            .prepare_cached("INSERT INTO t (step, what, at) VALUES (?1, ?2, ?3)")
            .expect("prepare");
        for &s in steps {
            *at += 1;
            insert.execute((s as i64, what, *at)).expect("insert");
        }
    }
    tx.commit().expect("commit");
}
