//! The steps' own stamps (`workflows::script`): one file per process of an attempt,
//! `RUN.STEP.ATTEMPT.PID`, holding `start NS WHERE` and, unless it was killed with
//! SIGKILL, `end NS HOW`. Parsed here (pure, but for reading the directory).
use std::path::Path;

/// One process of one attempt, as it stamped itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Stamp {
    pub run: String,
    pub step: String,
    pub attempt: u32,
    pub pid: u32,
    /// Nanoseconds since the epoch.
    pub start: i64,
    /// `local`, `ssh`, `sge` or `slurm`.
    pub place: String,
    /// When it ended and how (`exit`, `signal`): `None` when killed with SIGKILL.
    pub end: Option<(i64, String)>,
}

impl Stamp {
    /// `run step attempt N (pid P, where)` for evidence.
    pub(super) fn name(&self) -> String {
        format!(
            "{} {} attempt {} (pid {}, {})",
            self.run, self.step, self.attempt, self.pid, self.place
        )
    }

    /// Its start in milliseconds since the epoch (the store's resolution), rounded down.
    pub(super) fn start_ms(&self) -> i64 {
        self.start.div_euclid(1_000_000)
    }
}

/// A stamp file's name and text as a stamp; why not, for a file that is not one.
pub(super) fn parse(name: &str, text: &str) -> Result<Stamp, String> {
    let bad = |why: &str| format!("stamp file {name}: {why}: {text:?}");
    let parts: Vec<&str> = name.split('.').collect();
    let [run, step, attempt, pid] = parts[..] else {
        return Err(bad("its name is not RUN.STEP.ATTEMPT.PID"));
    };
    let mut start = None;
    let mut end = None;
    for line in text.lines() {
        let words: Vec<&str> = line.split(' ').collect();
        match words[..] {
            ["start", at, place] => {
                start = Some((at.parse::<i64>().map_err(|_| bad("a time"))?, place))
            }
            ["end", at, how] => {
                end = Some((
                    at.parse::<i64>().map_err(|_| bad("a time"))?,
                    how.to_string(),
                ))
            }
            _ => return Err(bad("a line is neither `start NS WHERE` nor `end NS HOW`")),
        }
    }
    let (start, place) = start.ok_or_else(|| bad("no start"))?;
    Ok(Stamp {
        run: run.to_string(),
        step: step.to_string(),
        attempt: attempt.parse().map_err(|_| bad("an attempt number"))?,
        pid: pid.parse().map_err(|_| bad("a pid"))?,
        start,
        place: place.to_string(),
        end,
    })
}

/// Every stamp in `dir`, oldest start first.
pub(super) fn read(dir: &Path) -> Result<Vec<Stamp>, String> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for e in entries {
        let e = e.map_err(|e| format!("{}: {e}", dir.display()))?;
        let name = e.file_name().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(e.path()).map_err(|e| format!("{name}: {e}"))?;
        out.push(parse(&name, &text)?);
    }
    out.sort_by_key(|s| s.start);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_file_reads_back_with_and_without_its_end() {
        let s = parse(
            "01abc.ship.2.4242",
            "start 1700000000123456789 ssh\nend 1700000001000000000 signal\n",
        )
        .unwrap();
        assert_eq!(
            (s.run.as_str(), s.step.as_str(), s.attempt, s.pid),
            ("01abc", "ship", 2, 4242)
        );
        assert_eq!(s.start_ms(), 1_700_000_000_123);
        assert_eq!(s.end, Some((1_700_000_001_000_000_000, "signal".into())));
        let killed = parse("01abc.ship.1.7", "start 5 local\n").unwrap();
        assert_eq!(killed.end, None);
        assert!(parse("01abc.ship.1.7", "").is_err(), "no start");
        assert!(
            parse("01abc.ship.7", "start 5 local\n").is_err(),
            "a name of three parts"
        );
        assert!(parse("01abc.ship.1.7", "begin 5\n").is_err());
    }
}
