//! `baton approve … --input-file NAME=PATH`: an input's value read from a file (a SQL
//! script, a patch, a prompt edited elsewhere), bounded as an output is (1 MiB).
use crate::model::bounds::MAX_INPUT_VALUE;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Why an `--input-file` cannot give its value.
#[derive(Debug, thiserror::Error)]
pub enum InputFileError {
    #[error("--input-file {name}={}: {source}", path.display())]
    Read {
        name: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("--input-file {name}={}: not UTF-8 text; an input is text", path.display())]
    NotText { name: String, path: PathBuf },
    #[error(
        "--input-file {name}={}: more than {MAX_INPUT_VALUE} bytes (1 MiB, what a step's output holds), the most an input holds; shorten it, or keep the text elsewhere and give where it is",
        path.display()
    )]
    TooLong { name: String, path: PathBuf },
    #[error("input `{name}` is given by both --input and --input-file: give it once")]
    Twice { name: String },
}

/// The values of `files` (read whole, at most [`MAX_INPUT_VALUE`]) after `given`.
pub fn merged(
    given: &[(String, String)],
    files: &[(String, String)],
) -> Result<Vec<(String, String)>, InputFileError> {
    let mut out = given.to_vec();
    for (name, path) in files {
        if given.iter().any(|(k, _)| k == name) {
            return Err(InputFileError::Twice { name: name.clone() });
        }
        out.push((name.clone(), read(name, Path::new(path))?));
    }
    Ok(out)
}

fn read(name: &str, path: &Path) -> Result<String, InputFileError> {
    let what = || (name.to_string(), path.to_path_buf());
    let file = std::fs::File::open(path).map_err(|source| InputFileError::Read {
        name: what().0,
        path: what().1,
        source,
    })?;
    // One byte more than the bound is enough to know it is over.
    let mut bytes = Vec::new();
    file.take((MAX_INPUT_VALUE + 1) as u64)
        .read_to_end(&mut bytes)
        .map_err(|source| InputFileError::Read {
            name: what().0,
            path: what().1,
            source,
        })?;
    if bytes.len() > MAX_INPUT_VALUE {
        return Err(InputFileError::TooLong {
            name: what().0,
            path: what().1,
        });
    }
    String::from_utf8(bytes).map_err(|_| InputFileError::NotText {
        name: what().0,
        path: what().1,
    })
}
