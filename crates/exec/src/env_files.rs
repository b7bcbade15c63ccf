//! Values too big for a process's environment reach the step through files. Linux
//! refuses (`E2BIG`, "Argument list too long") an environment string `NAME=value`
//! over `MAX_ARG_STRLEN` (32 pages, 131,072 bytes with its NUL), and all of the
//! command line and environment together over `ARG_MAX`. Such a value (an output of up
//! to 1 MiB, an approval input of up to 65,535 characters) is written to a file in the
//! attempt's private (0700) directory instead, removed with it, and the step gets
//! `BATON_FILE_<NAME>` (the file's path) in place of `NAME`.
use std::borrow::Cow;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The longest `NAME=value` string kept in the environment, in bytes (with the NUL,
/// `MAX_ARG_STRLEN` exactly).
pub(crate) const MAX_ENV_STRING: usize = 128 * 1024;
/// What the step's own variables may take of the environment altogether: half of the
/// smallest `ARG_MAX` Linux gives (2 MiB at the default 8 MiB stack), the rest left
/// to baton's own environment and the command line.
pub(crate) const MAX_ENV_TOTAL: usize = 1 << 20;

/// The variable that names the file holding `name`'s value.
pub(crate) fn file_var(name: &str) -> String {
    format!("BATON_FILE_{name}")
}

/// Which of `env`'s variables go through a file (their indices): each whose string is
/// over [`MAX_ENV_STRING`], then the largest ones until the rest fit [`MAX_ENV_TOTAL`].
pub(crate) fn to_files(env: &[(String, String)]) -> Vec<usize> {
    let size = |(k, v): &(String, String)| k.len() + v.len() + 2;
    let mut moved: Vec<usize> = (0..env.len())
        .filter(|&i| size(&env[i]) > MAX_ENV_STRING)
        .collect();
    let mut total: usize = (0..env.len())
        .filter(|i| !moved.contains(i))
        .map(|i| size(&env[i]))
        .sum();
    if total > MAX_ENV_TOTAL {
        let mut rest: Vec<usize> = (0..env.len()).filter(|i| !moved.contains(i)).collect();
        rest.sort_by_key(|&i| std::cmp::Reverse(size(&env[i])));
        for i in rest {
            if total <= MAX_ENV_TOTAL {
                break;
            }
            total -= size(&env[i]);
            moved.push(i);
        }
    }
    moved.sort_unstable();
    moved
}

/// `env` as the process gets it: each variable [`to_files`] picks written to a file
/// (0600) in `dir` and named by `BATON_FILE_<NAME>` instead; `env` itself when none is
/// (most steps: no copy made).
pub(crate) fn place<'a>(
    env: &'a [(String, String)],
    dir: &Path,
) -> std::io::Result<Cow<'a, [(String, String)]>> {
    let moved = to_files(env);
    if moved.is_empty() {
        return Ok(Cow::Borrowed(env));
    }
    let mut out = Vec::with_capacity(env.len());
    for (i, (k, v)) in env.iter().enumerate() {
        if moved.binary_search(&i).is_err() {
            out.push((k.clone(), v.clone()));
            continue;
        }
        let path: PathBuf = dir.join(format!("env.{i}"));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)?;
        f.write_all(v.as_bytes())?;
        out.push((file_var(k), path.display().to_string()));
    }
    Ok(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(k: &str, n: usize) -> (String, String) {
        (k.to_string(), "x".repeat(n))
    }

    #[test]
    fn a_value_over_the_string_bound_goes_to_a_file_and_so_do_the_largest_past_the_total() {
        let env = vec![var("A", 10), var("B", MAX_ENV_STRING), var("C", 100)];
        assert_eq!(to_files(&env), [1], "`B=` and a NUL over the bound");
        let at = MAX_ENV_STRING - 3; // "D=" + value + NUL
        assert!(to_files(&[var("D", at)]).is_empty());
        // Ten values of 120 KiB: each fits, together they do not.
        let env: Vec<_> = (0..10).map(|i| var(&format!("V{i}"), 120 << 10)).collect();
        let moved = to_files(&env);
        let kept: usize = (0..10)
            .filter(|i| !moved.contains(i))
            .map(|i| env[i].1.len() + 4)
            .sum();
        assert!(kept <= MAX_ENV_TOTAL && moved.len() == 2, "{moved:?}");
    }

    #[test]
    fn a_placed_value_is_in_a_private_file_its_variable_names() {
        let dir = tempfile::tempdir().unwrap();
        let big = "y".repeat(200 << 10);
        let env = vec![
            ("SMALL".to_string(), "s".to_string()),
            ("BIG".to_string(), big.clone()),
        ];
        let out = place(&env, dir.path()).unwrap();
        assert_eq!(out[0], ("SMALL".to_string(), "s".to_string()));
        assert_eq!(out[1].0, "BATON_FILE_BIG");
        assert_eq!(std::fs::read_to_string(&out[1].1).unwrap(), big);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out[1].1).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
