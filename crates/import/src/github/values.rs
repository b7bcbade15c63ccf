//! `${{ … }}` in a step's `run:` body, `env`, `working-directory`, `shell`, `if`,
//! `continue-on-error` and `timeout-minutes`: decided in the job's script, as data.
//! GitHub pastes the value into the text; here every piece becomes a shell word that
//! computes it (`"$(…)"` over quoted literals and variables), so a value is compared,
//! chosen or handed on, and never read as code.
use super::{Ctx, Place, Reader};
use crate::expr::{self, E, NameError, Names};
use crate::out::Step;
use crate::shim::{self, Piece, Word};

/// GitHub's context names the script holds as variables of its own (set by the
/// prelude from the `github_*` params or the machine: `shim/prelude.sh`).
fn script_var(p: &[String]) -> Option<String> {
    let [head, x] = p else { return None };
    let known = match head.as_str() {
        "github" => [
            "workspace",
            "actor",
            "sha",
            "ref",
            "ref_name",
            "ref_type",
            "event_name",
            "event_path",
            "run_id",
            "run_number",
            "run_attempt",
            "repository",
            "repository_owner",
            "server_url",
            "api_url",
        ]
        .contains(&x.as_str()),
        "runner" => ["os", "arch", "temp", "name"].contains(&x.as_str()),
        _ => false,
    };
    known.then(|| format!("{}_{}", head.to_ascii_uppercase(), x.to_ascii_uppercase()))
}

/// Whether `k` is a shell variable's name.
fn var_name(k: &str) -> bool {
    k.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// How the script reads names for step `n`: a variable of its own, a step's file, or
/// a variable of the baton step's `env` set by a template (`S3_T1`).
pub(super) struct ScriptNames<'s, 'a> {
    pub n: usize,
    pub step: &'s mut Step,
    pub c: &'s mut Ctx<'a>,
    pub line: usize,
}

impl ScriptNames<'_, '_> {
    /// The shell word of name `p`.
    pub(super) fn word(&mut self, p: &[String]) -> Result<String, NameError> {
        if let Some((first, named)) = p.split_first()
            && first == expr::TO_JSON
        {
            return self.json_word(named);
        }
        match p {
            [s, id, o, key] if s == "steps" && o == "outputs" => Ok(shim::output_word(id, key)),
            [s, id, w] if s == "steps" && (w == "outcome" || w == "conclusion") => {
                Ok(shim::state_word(id, w))
            }
            [e, k] if e == "env" && var_name(k) => Ok(format!("\"${{{k}}}\"")),
            [s, k] if s == "secrets" && var_name(k) => {
                if !self.c.secrets.contains(k) {
                    self.c.secrets.push(k.clone());
                }
                Ok(format!("\"${{{k}}}\""))
            }
            _ => {
                if let Some(v) = script_var(p) {
                    return Ok(format!("\"${{{v}}}\""));
                }
                let needs = self.step.needs.clone();
                let mut r = Reader {
                    c: self.c,
                    place: Place::StepEnv,
                    needs,
                    line: self.line,
                };
                let name = r.name(p)?;
                let t = format!("${{{{ {name} }}}}");
                let prefix = format!("S{}_T", self.n);
                if let Some((v, _)) = self
                    .step
                    .env
                    .iter()
                    .find(|(k, v)| k.starts_with(&prefix) && *v == t)
                {
                    return Ok(format!("\"${{{v}}}\""));
                }
                self.c.script_vars += 1;
                let var = format!("S{}_T{}", self.n, self.c.script_vars);
                self.step
                    .env
                    .push((var.clone(), format!("${{{{ {name} }}}}")));
                Ok(format!("\"${{{var}}}\""))
            }
        }
    }
}

impl ScriptNames<'_, '_> {
    /// `toJSON(p)`, as GitHub writes it: a boolean or number input bare, a text (an
    /// output, a result, an `env` or `secrets` value, another input, a `github.*` or
    /// `runner.*` value the script holds) as a JSON string (`_bt_json`); a whole
    /// context or a matrix value by `context_json`. Another object (`runner`,
    /// `github`) has none here.
    fn json_word(&mut self, p: &[String]) -> Result<String, NameError> {
        if let Some(w) = self.context_json(p) {
            return w;
        }
        let text = match p {
            [i, x] if i == "inputs" && self.c.bare.contains(x) => {
                return self.word(p);
            }
            [i, _] if i == "inputs" || i == "env" || i == "secrets" => true,
            [s, _, o, _] if (s == "steps" || s == "needs") && o == "outputs" => true,
            [s, _, w] if s == "steps" && (w == "outcome" || w == "conclusion") => true,
            [n, _, r] if n == "needs" && r == "result" => true,
            _ => script_var(p).is_some(),
        };
        if !text {
            return Err(NameError::NoCounterpart {
                path: format!("toJSON({})", p.join(".")),
            });
        }
        Ok(format!("\"$(_bt_json {})\"", self.word(p)?))
    }
}

/// A text with `${{ … }}` pieces as a [`Word`] the script computes, for step `n`'s
/// `what` (`working-directory`, `env X`, …), each piece reported once. A piece that
/// cannot be computed (`toJSON`, `hashFiles`, a name baton has not) is empty, reported.
pub(super) fn script_word(
    text: &str,
    (n, what): (usize, &str),
    step: &mut Step,
    c: &mut Ctx,
    line: usize,
) -> Word {
    let mut w = Word::default();
    let mut rest = text;
    while let Some(i) = rest.find("${{") {
        let Some(j) = rest[i..].find("}}") else { break };
        if i > 0 {
            w.0.push(Piece::Lit(rest[..i].to_string()));
        }
        let piece = &rest[i..i + j + 2];
        rest = &rest[i + j + 2..];
        let place = if n == 0 {
            format!("`{piece}` in {what}")
        } else {
            format!("step {n}: `{piece}` in {what}")
        };
        match piece_of(piece, n, step, c, line) {
            Ok(p) => {
                c.report.note(
                    line,
                    place,
                    "decided in the job's script and handed over as data: GitHub pastes the text",
                );
                w.0.push(p);
            }
            Err(why) => c.report.note(line, place, format!("left empty: {why}")),
        }
    }
    if !rest.is_empty() || w.0.is_empty() {
        // An unclosed `${{` stays text, defused for baton's loader.
        w.0.push(Piece::Lit(rest.replace("${{", "$ {{")));
    }
    w
}

/// One `${{ … }}` of a text: `a || b` (`c && 'x' || 'y'`) a value the script sets
/// before the word is read, byte for byte (`Piece::Value`), anything else a word.
fn piece_of(
    piece: &str,
    n: usize,
    step: &mut Step,
    c: &mut Ctx,
    line: usize,
) -> Result<Piece, expr::ExprError> {
    let e = expr::parse(piece)?;
    if !matches!(e, E::Bin("&&" | "||", ..)) {
        return Ok(Piece::Sh(expr_word(&e, n, step, c, line)?));
    }
    let cmds = {
        let mut names = ScriptNames { n, step, c, line };
        expr::emit(&e, &mut |p: &[String]| names.word(p))?
    };
    c.script_vars += 1;
    Ok(Piece::Value {
        var: format!("_bt_x{n}_{}", c.script_vars),
        cmds,
    })
}

/// One `${{ … }}` as a shell word holding its value byte for byte with an `x` after it
/// (`expr::word_x`), for a place that only reads it.
pub(super) fn piece_word_x(
    piece: &str,
    n: usize,
    step: &mut Step,
    c: &mut Ctx,
    line: usize,
) -> Result<String, expr::ExprError> {
    let e = expr::parse(piece)?;
    let mut names = ScriptNames { n, step, c, line };
    expr::word_x(&e, &mut |p: &[String]| names.word(p))
}

/// An expression's value as a shell word, for step `n`.
pub(super) fn expr_word(
    e: &E,
    n: usize,
    step: &mut Step,
    c: &mut Ctx,
    line: usize,
) -> Result<String, expr::ExprError> {
    let mut names = ScriptNames { n, step, c, line };
    expr::word(e, &mut |p: &[String]| names.word(p))
}

/// An expression as a shell test, for step `n` (a step's `if`).
pub(super) fn expr_test(
    e: &E,
    n: usize,
    step: &mut Step,
    c: &mut Ctx,
    line: usize,
) -> Result<String, expr::ExprError> {
    let mut names = ScriptNames { n, step, c, line };
    expr::to_shell(e, &mut |p: &[String]| names.word(p))
}
