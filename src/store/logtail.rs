//! Reading the end of a step's log file, bounded (a step that printed a gigabyte costs
//! no more than the bytes asked for).

/// The last `max` bytes of a file as lines (the first, partial line dropped when cut).
pub fn read_tail(path: &std::path::Path, max: u64) -> std::io::Result<Vec<String>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    let from = len.saturating_sub(max);
    f.seek(SeekFrom::Start(from))?;
    let mut buf = Vec::with_capacity((len - from) as usize);
    f.take(max).read_to_end(&mut buf)?;
    let mut lines: Vec<String> = buf
        .split(|b| *b == b'\n')
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect();
    if from > 0 && !lines.is_empty() {
        lines.remove(0);
    }
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    Ok(lines)
}

#[cfg(test)]
mod log_file_tests {
    use super::read_tail;

    #[test]
    fn reads_only_the_tail_and_drops_the_cut_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.log");
        std::fs::write(&p, "first\nsecond\nthird\n").unwrap();
        assert_eq!(
            read_tail(&p, 1 << 20).unwrap(),
            ["first", "second", "third"]
        );
        assert_eq!(read_tail(&p, 10).unwrap(), ["third"]);
        assert!(read_tail(&dir.path().join("missing"), 10).is_err());
    }
}
