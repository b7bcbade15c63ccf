//! A value edited in the operator's own editor (issue 44 point 2): `$EDITOR`, else
//! `$VISUAL`, else `vi`, its command split into words (`code --wait`) and run without a
//! shell, on a private temporary file (0600, removed after) that holds the value. The
//! event loop hands the terminal over first and takes it back after
//! (`event_loop::KeySource`).
use std::io::Write as _;

/// Why an edit in the editor gave nothing; the value in the dialog is left as it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditorError {
    #[error("${var} cannot be read as a command ({value:?}): fix its quoting")]
    BadCommand { var: &'static str, value: String },
    #[error("cannot make a private file to edit the value in: {why}")]
    TempFile { why: String },
    #[error("cannot start the editor `{program}`: {why} (set $EDITOR to one that exists)")]
    Spawn { program: String, why: String },
    #[error("the editor `{program}` {status}: the value is unchanged")]
    Failed { program: String, status: String },
    #[error("cannot read the edited file back: {why}")]
    Read { why: String },
    #[error("the edited file is not UTF-8 text: the value is unchanged")]
    NotUtf8,
    #[error("the terminal could not be handed to the editor and back: {why}")]
    Terminal { why: String },
}

/// The editor's words: the first of `$EDITOR` and `$VISUAL` that is set and not blank,
/// else `vi`. Split as a POSIX shell splits words (`code --wait`, a quoted path with a
/// space), and never given to a shell: the file's path is one more argument.
pub(crate) fn editor_argv(
    var: impl Fn(&str) -> Option<String>,
) -> Result<Vec<String>, EditorError> {
    for name in ["EDITOR", "VISUAL"] {
        let Some(value) = var(name).filter(|v| !v.trim().is_empty()) else {
            continue;
        };
        return match shlex::split(&value) {
            Some(argv) if !argv.is_empty() => Ok(argv),
            _ => Err(EditorError::BadCommand { var: name, value }),
        };
    }
    Ok(vec!["vi".to_string()])
}

/// The value the editor left in the file. Editors end a file with a newline: one is
/// taken off when the value edited had none, so that an edit of `LIMIT 10` gives
/// `LIMIT 1`, not `LIMIT 1\n`. Anything else is kept byte for byte.
pub fn read_back(original: &str, bytes: Vec<u8>) -> Result<String, EditorError> {
    let mut text = String::from_utf8(bytes).map_err(|_| EditorError::NotUtf8)?;
    if !original.ends_with('\n') && text.ends_with('\n') {
        text.pop();
    }
    Ok(text)
}

/// Edit `text` with the editor `argv` in the foreground: a private file written, the
/// editor run on it with the terminal, the file read back and removed (also when the
/// editor fails).
pub(crate) async fn edit(text: &str, argv: &[String]) -> Result<String, EditorError> {
    use std::os::unix::fs::PermissionsExt as _;
    let Some((program, args)) = argv.split_first() else {
        return Err(EditorError::Spawn {
            program: String::new(),
            why: "no command".into(),
        });
    };
    let temp = |e: std::io::Error| EditorError::TempFile { why: e.to_string() };
    // Created 0600 in the temporary directory; said again, in case of a umask-less
    // platform default.
    let mut file = tempfile::Builder::new()
        .prefix("baton-edit-")
        .suffix(".txt")
        .tempfile()
        .map_err(temp)?;
    std::fs::set_permissions(file.path(), std::fs::Permissions::from_mode(0o600)).map_err(temp)?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.flush())
        .map_err(temp)?;
    let status = tokio::process::Command::new(program)
        .args(args)
        .arg(file.path())
        .status()
        .await
        .map_err(|e| EditorError::Spawn {
            program: program.clone(),
            why: e.to_string(),
        })?;
    if !status.success() {
        return Err(EditorError::Failed {
            program: program.clone(),
            status: match status.code() {
                Some(c) => format!("exited with {c}"),
                None => "was killed by a signal".into(),
            },
        });
    }
    // By path: an editor may have written a new file in its place.
    let bytes = std::fs::read(file.path()).map_err(|e| EditorError::Read { why: e.to_string() })?;
    drop(file);
    read_back(text, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_editor_is_editor_then_visual_then_vi_split_into_words() {
        assert_eq!(
            editor_argv(env(&[("EDITOR", "code --wait"), ("VISUAL", "emacs")])),
            Ok(vec!["code".to_string(), "--wait".to_string()])
        );
        assert_eq!(
            editor_argv(env(&[
                ("EDITOR", "  "),
                ("VISUAL", "'/opt/my editor/ed' -n")
            ])),
            Ok(vec!["/opt/my editor/ed".to_string(), "-n".to_string()])
        );
        assert_eq!(editor_argv(env(&[])), Ok(vec!["vi".to_string()]));
        // A value is never shell code: `;` is a word, not a second command.
        assert_eq!(
            editor_argv(env(&[("EDITOR", "vim; rm -rf x")])),
            Ok(vec![
                "vim;".to_string(),
                "rm".to_string(),
                "-rf".to_string(),
                "x".to_string()
            ])
        );
        assert!(matches!(
            editor_argv(env(&[("EDITOR", "vim 'unclosed")])),
            Err(EditorError::BadCommand { var: "EDITOR", .. })
        ));
    }

    #[test]
    fn read_back_takes_off_only_the_editors_final_newline() {
        assert_eq!(
            read_back("LIMIT 10", b"LIMIT 1\n".to_vec()),
            Ok("LIMIT 1".into())
        );
        assert_eq!(read_back("a\n", b"b\n".to_vec()), Ok("b\n".into()));
        assert_eq!(
            read_back("x", b"say \"$HOME\"\n\n".to_vec()),
            Ok("say \"$HOME\"\n".into())
        );
        assert_eq!(read_back("x", vec![0xff, 0xfe]), Err(EditorError::NotUtf8));
    }

    #[tokio::test]
    async fn the_file_is_private_and_gone_after_and_a_failing_editor_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("ed.sh");
        let seen = dir.path().join("seen");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nstat -c '%a %n' \"$2\" > '{}'\nprintf 'new \"$x\"' > \"$2\"\n",
                seen.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let argv = vec![script.display().to_string(), "--wait".to_string()];
        assert_eq!(edit("old", &argv).await, Ok("new \"$x\"".to_string()));
        let seen = std::fs::read_to_string(&seen).unwrap();
        let (mode, path) = seen.trim().split_once(' ').unwrap();
        assert_eq!(mode, "600");
        assert!(!std::path::Path::new(path).exists(), "{path} left behind");
        let failing = vec!["false".to_string()];
        assert!(matches!(
            edit("old", &failing).await,
            Err(EditorError::Failed { .. })
        ));
        let missing = vec!["/nonexistent/editor".to_string()];
        assert!(matches!(
            edit("old", &missing).await,
            Err(EditorError::Spawn { .. })
        ));
    }
}
