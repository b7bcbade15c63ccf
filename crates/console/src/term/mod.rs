//! The terminal the console is drawn on, as it is rather than as we would like it: whether
//! it can hold a console at all (`TERM=dumb`, no terminfo entry), how many colours it
//! shows (`palette`: every colour maps down through one function) and whether its
//! locale takes UTF-8 (`ascii`: ASCII glyphs and borders otherwise). The decisions are
//! pure functions of what the environment says; `Caps::detect` reads it.
pub(crate) mod ascii;
pub(crate) mod palette;

use baton_link::config::{Colors, Config};

/// How many colours the console uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ColorDepth {
    /// None: the monochrome theme (states by glyph and bold/underline/reverse).
    Mono,
    Eight,
    Sixteen,
    Ansi256,
    TrueColor,
}

impl From<Colors> for ColorDepth {
    fn from(c: Colors) -> ColorDepth {
        match c {
            Colors::Eight => ColorDepth::Eight,
            Colors::Sixteen => ColorDepth::Sixteen,
            Colors::Ansi256 => ColorDepth::Ansi256,
            Colors::TrueColor => ColorDepth::TrueColor,
        }
    }
}

/// What the console may send: how many colours, and whether only ASCII.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    pub color: ColorDepth,
    pub ascii: bool,
}

impl Default for Caps {
    /// Everything (tests, benchmarks, screenshots).
    fn default() -> Caps {
        Caps {
            color: ColorDepth::TrueColor,
            ascii: false,
        }
    }
}

/// What the environment says about the terminal, read once (`TermEnv::read`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TermEnv {
    pub term: Option<String>,
    pub colorterm: Option<String>,
    pub lc_all: Option<String>,
    pub lc_ctype: Option<String>,
    pub lang: Option<String>,
    /// TERM's terminfo entry: `None` when there is none on this host.
    pub terminfo: Option<Terminfo>,
}

/// The parts of a terminfo entry the console reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Terminfo {
    /// `colors` (`max_colors`); absent: none.
    pub colors: Option<i32>,
    /// The `RGB` or `Tc` flag: direct colour.
    pub direct: bool,
}

/// Why the console cannot open on this terminal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unusable {
    #[error("TERM is {0}: this terminal cannot move the cursor, so the console cannot draw on it")]
    Dumb(String),
    #[error(
        "no terminfo entry for TERM={0} on this host: install it, or set TERM to one it has (e.g. TERM=xterm-256color)"
    )]
    NoTerminfo(String),
}

impl Unusable {
    /// What works instead, for the message that refuses the console.
    pub const INSTEAD: &'static str = "without a console: `baton run --headless WORKFLOW`, `baton runs`, `baton show RUN`, `baton logs RUN STEP -f`";
}

impl TermEnv {
    /// The process's environment and TERM's terminfo entry.
    pub fn read() -> TermEnv {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let term = var("TERM");
        let terminfo = term.as_deref().and_then(|t| {
            let db = terminfo::Database::from_name(t).ok()?;
            let flag = |name: &str| matches!(db.raw(name), Some(terminfo::Value::True));
            Some(Terminfo {
                colors: db.get::<terminfo::capability::MaxColors>().map(i32::from),
                direct: flag("RGB") || flag("Tc"),
            })
        });
        TermEnv {
            term,
            colorterm: var("COLORTERM"),
            lc_all: var("LC_ALL"),
            lc_ctype: var("LC_CTYPE"),
            lang: var("LANG"),
            terminfo,
        }
    }

    /// Whether a console can be drawn here: TERM names a terminal with a terminfo entry
    /// (an unset TERM is a dumb one).
    pub fn usable(&self) -> Result<(), Unusable> {
        match self.term.as_deref() {
            None => Err(Unusable::Dumb("not set".into())),
            Some("dumb") => Err(Unusable::Dumb("dumb".into())),
            Some(t) if self.terminfo.is_none() => Err(Unusable::NoTerminfo(t.to_string())),
            Some(_) => Ok(()),
        }
    }

    /// The colours to use: the config's `color` when set, else `COLORTERM=truecolor`
    /// (or `24bit`), else what terminfo's `colors` offers (its `RGB`/`Tc` flag: direct).
    pub fn color_depth(&self, setting: Option<Colors>) -> ColorDepth {
        if let Some(c) = setting {
            return c.into();
        }
        if matches!(self.colorterm.as_deref(), Some("truecolor" | "24bit")) {
            return ColorDepth::TrueColor;
        }
        let Some(info) = self.terminfo else {
            return ColorDepth::Mono;
        };
        if info.direct {
            return ColorDepth::TrueColor;
        }
        match info.colors.unwrap_or(0) {
            n if n >= 1 << 24 => ColorDepth::TrueColor,
            n if n >= 256 => ColorDepth::Ansi256,
            n if n >= 16 => ColorDepth::Sixteen,
            n if n >= 8 => ColorDepth::Eight,
            _ => ColorDepth::Mono,
        }
    }

    /// Whether the locale's character set is UTF-8: the first of `LC_ALL`, `LC_CTYPE`,
    /// `LANG` that is set decides (none set is the C locale: ASCII), as for `setlocale`.
    pub fn utf8(&self) -> bool {
        let locale = [&self.lc_all, &self.lc_ctype, &self.lang]
            .into_iter()
            .find_map(|v| v.as_deref());
        locale.is_some_and(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("utf-8") || l.contains("utf8")
        })
    }

    /// What the console may send here, with the config's `color` and `ascii`.
    pub fn caps(&self, config: &Config) -> Caps {
        Caps {
            color: self.color_depth(config.color),
            ascii: config.ascii || !self.utf8(),
        }
    }
}

#[cfg(test)]
mod tests;
