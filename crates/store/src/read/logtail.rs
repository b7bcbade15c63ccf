//! Reading the end of a step's log file, bounded (a step that printed a gigabyte costs
//! no more than the bytes asked for).

/// Put before a line whose beginning lies before the bytes read.
pub const CUT_LINE_MARKER: &str = "[… earlier part of this line not shown] ";

/// The last `max` bytes of a file as lines. When the window starts inside a line, that
/// partial line is dropped, unless it is all there is (one line longer than `max`):
/// then it is kept, after [`CUT_LINE_MARKER`], rather than showing nothing.
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
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    if from > 0 && !lines.is_empty() {
        if lines.len() == 1 {
            lines[0].insert_str(0, CUT_LINE_MARKER);
        } else {
            lines.remove(0);
        }
    }
    Ok(lines)
}

#[cfg(test)]
mod log_file_tests {
    use super::{CUT_LINE_MARKER, read_tail};

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

    #[test]
    fn a_line_longer_than_the_window_is_shown_cut_with_a_marker() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.log");
        let mut huge = "a".repeat(100);
        huge.push_str(&"z".repeat(50));
        for ending in ["\n", ""] {
            std::fs::write(&p, format!("{huge}{ending}")).unwrap();
            let lines = read_tail(&p, 60).unwrap();
            assert_eq!(lines.len(), 1, "{lines:?}");
            assert_eq!(
                lines[0],
                format!(
                    "{CUT_LINE_MARKER}{}{}",
                    "a".repeat(60 - 50 - ending.len()),
                    "z".repeat(50)
                )
            );
        }
        // Earlier whole lines in the window: the cut one is dropped as before.
        std::fs::write(&p, format!("{huge}\nlast\n")).unwrap();
        assert_eq!(read_tail(&p, 60).unwrap(), ["last"]);
    }
}
