//! A terminal-state checker: what a terminal reading some output would be told beyond
//! its text and colours.

/// Every effect `bytes` would have on a terminal other than showing text: an escape
/// sequence other than SGR (`ESC [ … m`), a C0 control other than `\n` and `\t`, DEL,
/// a C1 control, a bidi control, and a line that ends with a colour still set (it
/// would colour the next line). Empty: the output only shows text.
pub(crate) fn terminal_effects(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut out = Vec::new();
    let mut styled = false;
    let mut line = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => {
                if chars.peek() != Some(&'[') {
                    out.push(format!("line {line}: ESC {:?}", chars.peek()));
                    continue;
                }
                chars.next();
                let mut params = String::new();
                let mut end = None;
                for p in chars.by_ref() {
                    if p.is_ascii_digit() || p == ';' || p == ':' {
                        params.push(p);
                    } else {
                        end = Some(p);
                        break;
                    }
                }
                match end {
                    Some('m') => {
                        styled = params.split([';', ':']).any(|p| !p.is_empty() && p != "0")
                    }
                    other => out.push(format!("line {line}: CSI {params} {other:?}")),
                }
            }
            '\n' => {
                if styled {
                    out.push(format!("line {line} ends with a colour set"));
                }
                line += 1;
            }
            '\t' => {}
            c if c.is_control() => out.push(format!("line {line}: control U+{:04X}", c as u32)),
            '\u{061C}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}' => {
                out.push(format!("line {line}: bidi control U+{:04X}", c as u32))
            }
            _ => {}
        }
    }
    if styled && !text.ends_with('\n') {
        out.push(format!("line {line} (the last) ends with a colour set"));
    }
    out
}

/// The text `bytes` shows in a colour (SGR other than the default), each run of it
/// on its own line: what a colour left open by a value would reach.
pub(crate) fn coloured_text(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let (mut out, mut run, mut styled) = (Vec::new(), String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            chars.next();
            let mut params = String::new();
            for p in chars.by_ref() {
                if p == 'm' {
                    break;
                }
                params.push(p);
            }
            if !run.is_empty() {
                out.push(std::mem::take(&mut run));
            }
            styled = params.split([';', ':']).any(|p| !p.is_empty() && p != "0");
        } else if styled && c != '\n' {
            run.push(c);
        } else if c == '\n' && !run.is_empty() {
            out.push(std::mem::take(&mut run));
        }
    }
    if !run.is_empty() {
        out.push(run);
    }
    out
}

#[test]
fn the_checker_sees_what_a_terminal_would_do() {
    assert_eq!(
        coloured_text(b"a \x1b[0;31mred\x1b[0m b\n\x1b[0;30;40mnext\x1b[0m\n"),
        ["red", "next"]
    );
    assert!(terminal_effects(b"plain\n\x1b[0;32mgreen\x1b[0m\n").is_empty());
    assert_eq!(terminal_effects(b"a\x1b[2Jb").len(), 1);
    assert_eq!(
        terminal_effects(b"\x1b]0;title\x07").len(),
        2,
        "OSC and BEL"
    );
    assert_eq!(terminal_effects("\u{202e}x\u{9b}".as_bytes()).len(), 2);
    assert_eq!(
        terminal_effects(b"x\x1b[30;40m\nnext\n"),
        [
            "line 1 ends with a colour set",
            "line 2 ends with a colour set"
        ]
    );
}
