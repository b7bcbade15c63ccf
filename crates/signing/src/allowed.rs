//! The OpenSSH allowed-signers file (`ssh-keygen(1)`, ALLOWED SIGNERS), the list git
//! uses for signed commits: one key a line, `principals [options] keytype base64
//! [comment]`; blank lines and `#` lines are ignored.
//!
//! Written here because no well-kept crate parses it: `ssh-key` reads the key part
//! (`keytype base64 comment`, which is the `authorized_keys` key syntax) and does the
//! cryptography; this file only splits the line around it. Pure: the text comes in,
//! the signers or the first problem (with its line) go out.
//!
//! What baton accepts of the format, and why:
//! - principals are matched exactly (compared as approver names are: trimmed,
//!   case-insensitively); patterns (`*`, `?`, `!`) are refused, because a gate's
//!   `approvers` must name the people who decide, not a domain;
//! - `namespaces="…"` is honoured (a pattern-list; the key counts only for signatures
//!   whose namespace, always `baton`, matches it);
//! - `cert-authority`, `valid-after` and `valid-before` are refused with a load error
//!   that says so: baton does not verify certificates, and a key's validity period
//!   would make a recorded approval's validity depend on the clock of whoever verifies.
use ssh_key::PublicKey;
use ssh_key::public::KeyData;

/// One line of the file: a key and the principals it may sign as.
#[derive(Debug, Clone, PartialEq)]
pub struct SignerEntry {
    pub principals: Vec<String>,
    /// `namespaces="…"`, a pattern-list; `None`: any namespace.
    pub namespaces: Option<String>,
    pub key: PublicKey,
    /// 1-based line in the file.
    pub line: usize,
}

/// A parsed allowed-signers file, with its text (recorded with each run).
#[derive(Debug, Clone, PartialEq)]
pub struct AllowedSigners {
    text: String,
    entries: Vec<SignerEntry>,
}

/// A line that is not a valid allowed-signers entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct SignersError {
    pub line: usize,
    pub message: LineError,
}

/// What is wrong with an allowed-signers line, and what would be right.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("no key after the principals")]
    NoKey,
    #[error("not a public key (expected `keytype base64 [comment]`, as in a .pub file): {0}")]
    NotAKey(String),
    #[error("an empty principal (two commas, or a comma at an end)")]
    EmptyPrincipal,
    #[error(
        "principal `{0}` is a pattern; baton matches principals exactly: list each approver's principal"
    )]
    Pattern(String),
    #[error("`namespaces` is empty")]
    EmptyNamespaces,
    #[error(
        "`cert-authority` is not supported: baton verifies plain keys, not certificates; list each approver's key"
    )]
    CertAuthority,
    #[error(
        "`{0}` is not supported: remove the option (and remove a key from the file when it should stop counting)"
    )]
    Validity(String),
    #[error("unknown option `{0}` (an allowed-signers line takes `namespaces=\"…\"`)")]
    UnknownOption(String),
    #[error("unterminated quote in `{0}`")]
    Unterminated(String),
}

impl AllowedSigners {
    /// Parse the file's text; the first bad line is an error.
    pub fn parse(text: &str) -> Result<AllowedSigners, SignersError> {
        let mut entries = Vec::new();
        for (n, raw) in text.lines().enumerate() {
            let line = n + 1;
            let l = raw.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            entries.push(parse_line(l, line).map_err(|message| SignersError { line, message })?);
        }
        Ok(AllowedSigners {
            text: text.to_string(),
            entries,
        })
    }

    /// The file as it was read (recorded with the run).
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn entries(&self) -> &[SignerEntry] {
        &self.entries
    }

    /// Whether any line names `principal`.
    pub fn has_principal(&self, principal: &str) -> bool {
        self.entries
            .iter()
            .any(|e| e.principals.iter().any(|p| same_principal(p, principal)))
    }

    /// The principals `key` may sign as in `namespace`, in file order, each once.
    pub fn principals_of(&self, key: &KeyData, namespace: &str) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for e in &self.entries {
            if e.key.key_data() != key
                || e.namespaces
                    .as_deref()
                    .is_some_and(|n| !pattern_list_matches(n, namespace))
            {
                continue;
            }
            for p in &e.principals {
                if !out.iter().any(|o| same_principal(o, p)) {
                    out.push(p);
                }
            }
        }
        out
    }
}

/// The operating-system account a principal stands for: the part before its first
/// `@` (`alice@example.com` and `alice` are account `alice`). What a self-approval rule
/// compares with the run's starter; list each key under its holder's account name.
pub fn principal_account(principal: &str) -> &str {
    principal.split('@').next().unwrap_or(principal)
}

/// Principals compare as account names do (see `model::same_actor`).
pub(crate) fn same_principal(a: &str, b: &str) -> bool {
    baton_model::same_actor(a, b)
}

fn parse_line(l: &str, line: usize) -> Result<SignerEntry, LineError> {
    let (principals, rest) = split_field(l);
    let principals = parse_principals(principals)?;
    let rest = rest.trim_start();
    if rest.is_empty() {
        return Err(LineError::NoKey);
    }
    // The options field is present exactly when the next word is not a key type.
    let (options, key_text) = if starts_with_key_type(rest) {
        (None, rest)
    } else {
        let (opts, after) = split_field(rest);
        (Some(opts), after.trim_start())
    };
    let namespaces = match options {
        Some(o) => parse_options(o)?,
        None => None,
    };
    if key_text.is_empty() {
        return Err(LineError::NoKey);
    }
    let key = PublicKey::from_openssh(key_text).map_err(|e| LineError::NotAKey(e.to_string()))?;
    Ok(SignerEntry {
        principals,
        namespaces,
        key,
        line,
    })
}

/// A field ends at the first blank outside double quotes.
fn split_field(s: &str) -> (&str, &str) {
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => return (&s[..i], &s[i..]),
            _ => {}
        }
    }
    (s, "")
}

fn starts_with_key_type(s: &str) -> bool {
    let word = s.split_whitespace().next().unwrap_or("");
    word.starts_with("ssh-")
        || word.starts_with("ecdsa-sha2-")
        || word.starts_with("sk-")
        || word.starts_with("rsa-sha2-")
}

fn parse_principals(field: &str) -> Result<Vec<String>, LineError> {
    let field = field.trim_matches('"');
    let mut out = Vec::new();
    for p in field.split(',') {
        let p = p.trim();
        if p.is_empty() {
            return Err(LineError::EmptyPrincipal);
        }
        if p.contains(['*', '?', '!']) {
            return Err(LineError::Pattern(p.to_string()));
        }
        out.push(p.to_string());
    }
    Ok(out)
}

/// Comma-separated `name[=value]`, values possibly double-quoted; returns `namespaces`.
fn parse_options(field: &str) -> Result<Option<String>, LineError> {
    let mut namespaces = None;
    for opt in split_options(field) {
        let (name, value) = match opt.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (opt, None),
        };
        match (name.to_ascii_lowercase().as_str(), value) {
            ("namespaces", Some(v)) => {
                let v = unquote(v)?;
                if v.trim().is_empty() {
                    return Err(LineError::EmptyNamespaces);
                }
                namespaces = Some(v.to_string());
            }
            ("cert-authority", _) => {
                return Err(LineError::CertAuthority);
            }
            (n @ ("valid-after" | "valid-before"), _) => {
                return Err(LineError::Validity(n.to_string()));
            }
            (other, _) => {
                return Err(LineError::UnknownOption(other.to_string()));
            }
        }
    }
    Ok(namespaces)
}

fn split_options(field: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (i, c) in field.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&field[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&field[start..]);
    out
}

fn unquote(v: &str) -> Result<&str, LineError> {
    match v.strip_prefix('"') {
        Some(inner) => inner
            .strip_suffix('"')
            .ok_or_else(|| LineError::Unterminated(v.to_string())),
        None => Ok(v),
    }
}

/// An ssh_config(5) pattern-list: comma-separated patterns with `*` and `?`; a `!`
/// pattern that matches excludes. Matches when some positive pattern matches and no
/// negated one does.
fn pattern_list_matches(list: &str, s: &str) -> bool {
    let mut matched = false;
    for p in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match p.strip_prefix('!') {
            Some(neg) if glob(neg.as_bytes(), s.as_bytes()) => return false,
            Some(_) => {}
            None if glob(p.as_bytes(), s.as_bytes()) => matched = true,
            None => {}
        }
    }
    matched
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => glob(&p[1..], s) || (!s.is_empty() && glob(p, &s[1..])),
        (Some(b'?'), Some(_)) => glob(&p[1..], &s[1..]),
        (Some(a), Some(b)) if a == b => glob(&p[1..], &s[1..]),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIObQ3CUmxnTVCDKZd2xLghtbDqUktFxA4TFVx03CJIlh";

    #[test]
    fn lines_with_and_without_options_and_comments() {
        let text = format!(
            "# who may approve\n\nalice@example.com,Bob {ED} alice's laptop\ncarol namespaces=\"git,baton\" {ED}\ndave namespaces=\"file\" {ED}\n"
        );
        let s = AllowedSigners::parse(&text).unwrap();
        assert_eq!(s.entries().len(), 3);
        assert_eq!(s.entries()[0].line, 3);
        assert!(s.has_principal("bob") && s.has_principal("carol") && !s.has_principal("eve"));
        let key = s.entries()[0].key.key_data().clone();
        // dave's line is for another namespace: his principal does not come with the key.
        assert_eq!(
            s.principals_of(&key, "baton"),
            vec!["alice@example.com", "Bob", "carol"]
        );
        assert_eq!(s.text(), text);
    }

    #[test]
    fn bad_lines_name_their_line_and_what_is_wrong() {
        let cases = [
            (format!("*@example.com {ED}"), "pattern"),
            (format!("alice cert-authority {ED}"), "cert-authority"),
            (
                format!("alice valid-before=\"20300101\" {ED}"),
                "valid-before",
            ),
            (format!("alice restrict {ED}"), "unknown option"),
            (
                "alice ssh-ed25519 AAAAnotbase64!".to_string(),
                "not a public key",
            ),
            ("alice".to_string(), "no key"),
            (format!("alice,,bob {ED}"), "empty principal"),
        ];
        for (line, want) in cases {
            let e = AllowedSigners::parse(&format!("# head\n{line}\n")).unwrap_err();
            assert_eq!(e.line, 2, "{line}");
            assert!(e.message.to_string().contains(want), "{line}: {e}");
        }
    }

    #[test]
    fn namespace_pattern_lists() {
        assert!(pattern_list_matches("baton", "baton"));
        assert!(pattern_list_matches("git,b*", "baton"));
        assert!(pattern_list_matches("*,!file", "baton"));
        assert!(!pattern_list_matches("*,!bat?n", "baton"));
        assert!(!pattern_list_matches("file", "baton"));
    }
}
