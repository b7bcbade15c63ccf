//! The console's keys as docs/keys.md lists them: one table per place, made from the
//! default bindings (as `?` is), so the page says what each key does where, as the
//! console does it. A test keeps the page equal to it, and the keys docs/console.md
//! and docs/commands.md name in their prose bound where they say.
use super::Keymap;

/// The page's opening, above the tables.
const HEAD: &str = "# Keys\n\nEvery key of the console, by where it acts, as `?` lists them (config.toml's `[keys]`\nmoves them: [configuration.md](configuration.md#keys)). Made from the keymap:\n`BATON_UPDATE_DOCS=1 cargo test -p baton-console keys_doc` writes this page again.\n";

/// Every place's keys as Markdown: a heading and a `| keys | what |` table each.
pub(crate) fn keys_markdown(keys: &Keymap) -> String {
    let mut out = String::new();
    for (title, rows) in keys.help_sections(|_, _| true) {
        if rows.is_empty() {
            continue;
        }
        out.push_str(&format!("\n**{title}**\n\n| keys | what |\n|---|---|\n"));
        for (k, what, _) in rows {
            out.push_str(&format!("| `{}` | {} |\n", cell(&k), cell(what)));
        }
    }
    out
}

/// A table cell's text: a `|` would end the cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// The whole of docs/keys.md.
pub(crate) fn keys_page(keys: &Keymap) -> String {
    format!("{HEAD}{}", keys_markdown(keys))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(name: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../docs")
            .join(name)
    }

    /// Issue 76 point 7: docs/keys.md is the keymap's, whatever changed in either.
    #[test]
    fn keys_doc_lists_every_key_as_the_keymap_binds_it() {
        let page = std::fs::read_to_string(doc("keys.md")).unwrap_or_default();
        let made = keys_page(&Keymap::defaults());
        if page == made {
            return;
        }
        if std::env::var_os("BATON_UPDATE_DOCS").is_some() {
            std::fs::write(doc("keys.md"), made).expect("write docs/keys.md");
            return;
        }
        panic!(
            "docs/keys.md differs from the keymap: run `BATON_UPDATE_DOCS=1 cargo test -p baton-console keys_doc` and review the diff"
        );
    }

    /// Issue 76 point 7 (docs/commands.md said `R` where the key is `f`): a key the
    /// prose of docs/console.md and docs/commands.md places in a tab (`` `f` in Runs
    /// and DAG``, `` `F` on a step in the console's DAG``) is bound there, or
    /// everywhere.
    #[test]
    fn keys_doc_prose_places_each_key_where_the_keymap_binds_it() {
        use crate::app::Tab;
        use crate::keymap::Context;
        let tabs = "DAG|Runs|Waiting|Approvals|Errors|Audit|Schedules|Timeline";
        let placed = regex::Regex::new(&format!(
            r"`([A-Za-z0-9?/:@!])`[^`]{{0,30}}?\b(?:in|on) (?:the )?(?:console's )?((?:{tabs})(?:(?:, | and | or )(?:{tabs}))*)\b"
        ))
        .expect("the pattern");
        let keys = Keymap::defaults();
        let bound = |ctx: Context, key: &str| {
            keys.bound()
                .iter()
                .any(|b| b.context == ctx && b.label.split(['/', ' ']).any(|k| k == key))
        };
        let mut checked = 0;
        let mut wrong = Vec::new();
        for name in ["console.md", "commands.md"] {
            let text = std::fs::read_to_string(doc(name)).expect("the page");
            let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
            for m in placed.captures_iter(&text) {
                for tab in m[2]
                    .split([',', ' '])
                    .filter(|t| !t.is_empty() && *t != "and" && *t != "or")
                {
                    let Some(t) = Tab::ALL.iter().find(|t| t.title().starts_with(tab)) else {
                        continue;
                    };
                    checked += 1;
                    if !bound(Context::Tab(*t), &m[1]) && !bound(Context::Global, &m[1]) {
                        wrong.push(format!("{name}: `{}` in {tab}: «{}»", &m[1], &m[0]));
                    }
                }
            }
        }
        assert!(
            checked >= 8,
            "the pattern still finds the pages' keys: {checked}"
        );
        assert!(
            wrong.is_empty(),
            "keys the keymap does not bind there:\n{}",
            wrong.join("\n")
        );
    }
}
