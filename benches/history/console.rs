//! `baton tui` in tmux: the first full frame, CPU while idle, and the latency of keys
//! from the key sent to the changed screen (capture-pane with its colours, so a moved
//! selection counts as a change).
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

pub(crate) const KEY_TAB: usize = 0;
pub(crate) const KEY_J: usize = 1;
pub(crate) const KEY_FILTER: usize = 2;
/// Presses of each key measured.
const PRESSES: usize = 20;
const IDLE: Duration = Duration::from_secs(5);

pub(crate) struct Measured {
    /// Median of three launches (the first warms the page cache).
    pub first_frame: Duration,
    /// Share of one core used while nothing happens.
    pub idle_cpu: f64,
    /// (median, p95) per key kind.
    pub keys: [(Duration, Duration); 3],
}

struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(baton: &Path, db: &Path) -> Tmux {
        // One server per launch: a server just killed may still hold its socket.
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let socket = format!("baton-history-bench-{}-{n}", std::process::id());
        let command = format!(
            "BATON_DB='{}' USER=bench exec '{}' tui",
            db.display(),
            baton.display()
        );
        let st = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-s",
                "main",
            ])
            .args(["-x", "160", "-y", "45", &command])
            .status()
            .expect("tmux must be installed");
        assert!(st.success(), "tmux new-session");
        Tmux { socket }
    }
    fn tmux(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket]);
        c
    }
    fn screen(&self) -> String {
        let out = self
            .tmux()
            .args(["capture-pane", "-p", "-e", "-t", "main"])
            .output()
            .expect("capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
    fn key(&self, key: &str) {
        let st = self
            .tmux()
            .args(["send-keys", "-t", "main", key])
            .status()
            .expect("send-keys");
        assert!(st.success());
    }
    fn pid(&self) -> i32 {
        let out = self
            .tmux()
            .args(["display-message", "-p", "-t", "main", "#{pane_pid}"])
            .output()
            .expect("display-message");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("pane pid")
    }
    /// Poll the screen until `pred` holds (30 s at most): the time it took and the screen.
    fn until(&self, what: &str, pred: impl Fn(&str) -> bool) -> (Duration, String) {
        let t0 = Instant::now();
        loop {
            let s = self.screen();
            if pred(&s) {
                return (t0.elapsed(), s);
            }
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "console: no {what} in 30 s:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    /// Send `key` and wait for the screen to change from `before`: the latency.
    fn press(&self, key: &str, before: &str) -> (Duration, String) {
        let t0 = Instant::now();
        self.key(key);
        let (_, s) = self.until(&format!("change after {key}"), |s| s != before);
        (t0.elapsed(), s)
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux().arg("kill-server").status();
    }
}

/// `baton tui` opens on the Runs tab: its title and the newest run's row drawn (on a
/// large store, the newest page while the rest is read: `Runs · 500 so far, …`).
fn full_frame(s: &str) -> bool {
    s.contains(" Runs · ") && s.contains("nightly-etl")
}

fn cpu_ticks(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("proc stat");
    // Fields after the command's closing parenthesis: utime and stime are 12th and 13th.
    let rest = &stat[stat.rfind(')').expect("stat") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    f[11].parse::<u64>().unwrap_or(0) + f[12].parse::<u64>().unwrap_or(0)
}

fn quantiles(mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    let p95 = ((v.len() as f64 * 0.95).ceil() as usize).clamp(1, v.len()) - 1;
    (v[v.len() / 2], v[p95])
}

pub(crate) fn measure(baton: &Path, db: &Path) -> Measured {
    let mut frames = Vec::new();
    for _ in 0..3 {
        let t0 = Instant::now();
        let t = Tmux::start(baton, db);
        t.until("first full frame", full_frame);
        frames.push(t0.elapsed());
    }
    frames.sort();
    let t = Tmux::start(baton, db);
    let (_, mut screen) = t.until("first full frame", full_frame);
    // Idle: settled for a second, then CPU over IDLE.
    std::thread::sleep(Duration::from_secs(1));
    let pid = t.pid();
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let before = cpu_ticks(pid);
    std::thread::sleep(IDLE);
    let idle_cpu = (cpu_ticks(pid) - before) as f64 / hz / IDLE.as_secs_f64();

    // From Runs to the DAG and back: ends on Runs, then down the list.
    let mut tab = Vec::new();
    for i in 0..PRESSES {
        let (d, s) = t.press(if i % 2 == 0 { "1" } else { "5" }, &screen);
        tab.push(d);
        screen = s;
    }
    let mut j = Vec::new();
    for _ in 0..PRESSES {
        let (d, s) = t.press("j", &screen);
        j.push(d);
        screen = s;
    }
    (_, screen) = t.press("/", &screen);
    let mut filter = Vec::new();
    for c in "nightlyreleasebackupxyz".chars().take(PRESSES) {
        let (d, s) = t.press(&c.to_string(), &screen);
        filter.push(d);
        screen = s;
    }
    Measured {
        first_frame: frames[1],
        idle_cpu,
        keys: [quantiles(tab), quantiles(j), quantiles(filter)],
    }
}
