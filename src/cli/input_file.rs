//! `baton approve … --input-file NAME=PATH` and `baton mark … --output-file NAME=PATH`:
//! a value read from a file (a SQL script, a patch, a prompt edited elsewhere),
//! bounded as an output is (1 MiB).
use crate::model::bounds::MAX_INPUT_VALUE;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Why a `--input-file` (`--output-file`) cannot give its value. `flag` names the
/// value's flag, `--input` or `--output`.
#[derive(Debug, thiserror::Error)]
pub enum InputFileError {
    #[error("{flag}-file {name}={}: {source}", path.display())]
    Read {
        flag: &'static str,
        name: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{flag}-file {name}={}: not UTF-8 text; a value is text", path.display())]
    NotText {
        flag: &'static str,
        name: String,
        path: PathBuf,
    },
    #[error(
        "{flag}-file {name}={}: more than {MAX_INPUT_VALUE} bytes (1 MiB, what a step's output holds), the most a value holds; shorten it, or keep the text elsewhere and give where it is",
        path.display()
    )]
    TooLong {
        flag: &'static str,
        name: String,
        path: PathBuf,
    },
    #[error("`{name}` is given by both {flag} and {flag}-file: give it once")]
    Twice { flag: &'static str, name: String },
}

/// The values of `files` (read whole, at most [`MAX_INPUT_VALUE`]) after `given`;
/// `flag` is `--input` or `--output`, as the errors name it.
pub fn merged(
    flag: &'static str,
    given: &[(String, String)],
    files: &[(String, String)],
) -> Result<Vec<(String, String)>, InputFileError> {
    let mut out = given.to_vec();
    for (name, path) in files {
        if given.iter().any(|(k, _)| k == name) {
            return Err(InputFileError::Twice {
                flag,
                name: name.clone(),
            });
        }
        out.push((name.clone(), read(flag, name, Path::new(path))?));
    }
    Ok(out)
}

fn read(flag: &'static str, name: &str, path: &Path) -> Result<String, InputFileError> {
    let (name, path) = (name.to_string(), path.to_path_buf());
    let mut bytes = Vec::new();
    // One byte more than the bound is enough to know it is over.
    let read = std::fs::File::open(&path)
        .and_then(|f| f.take((MAX_INPUT_VALUE + 1) as u64).read_to_end(&mut bytes));
    if let Err(source) = read {
        return Err(InputFileError::Read {
            flag,
            name,
            path,
            source,
        });
    }
    if bytes.len() > MAX_INPUT_VALUE {
        return Err(InputFileError::TooLong { flag, name, path });
    }
    String::from_utf8(bytes).map_err(|_| InputFileError::NotText { flag, name, path })
}
