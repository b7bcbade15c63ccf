//! Colour themes with semantic roles: one colour per step state, one per
//! severity, the chrome and the health gauge. Built-in themes are embedded from
//! `themes/*.toml`; user themes live in `$XDG_CONFIG_HOME/baton/themes/NAME.toml` and
//! may set only the keys they change (the rest comes from the default theme).
//! `Theme::monochrome()` (for `NO_COLOR`) keeps every state readable by glyph and
//! modifiers alone.
use baton_model::{HealthLabel, Severity, StepState};
use ratatui::style::{Color, Modifier, Style};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use strum::EnumCount;

const BUILTIN: [(&str, &str); 3] = [
    ("default", include_str!("../../../themes/default.toml")),
    ("light", include_str!("../../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../../themes/high-contrast.toml"),
    ),
];

const CHROME_KEYS: [&str; 16] = [
    "fg",
    "bg",
    "dim",
    "border",
    "border_focus",
    "title",
    "accent",
    "selection_fg",
    "selection_bg",
    "tab_active",
    "tab_inactive",
    "key",
    "ok",
    "error",
    "warning",
    "match",
];
const SEVERITY_KEYS: [&str; 4] = ["low", "medium", "high", "critical"];
const GAUGE_KEYS: [&str; 4] = ["healthy", "degraded", "critical", "empty"];
const COLOUR_HELP: &str =
    "a colour name (red, light-blue, dark-gray, …), \"#rrggbb\", an index 0-255, or \"reset\"";

#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    #[error(
        "unknown theme `{name}` (built in: default, light, high-contrast; user themes: {dir}/NAME.toml)"
    )]
    NotFound { name: String, dir: String },
    #[error("cannot read theme file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("theme file {file}: {message}")]
    Invalid { file: String, message: String },
}

/// Semantic styles the views draw with. Fields are public so views read them directly.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub monochrome: bool,
    pub base: Style,
    pub dim: Style,
    pub border: Style,
    pub border_focus: Style,
    pub title: Style,
    pub accent: Style,
    pub selection: Style,
    pub tab_active: Style,
    pub tab_inactive: Style,
    pub key: Style,
    pub ok: Style,
    pub error: Style,
    pub warning: Style,
    pub search_match: Style,
    states: [Style; StepState::COUNT],
    severities: [Style; 4],
    gauge: [Style; 4],
}

impl Theme {
    /// A built-in theme by name, else `$XDG_CONFIG_HOME/baton/themes/NAME.toml`.
    pub fn load(name: &str) -> Result<Theme, ThemeError> {
        Self::load_from(name, &user_theme_dir())
    }

    /// Like `load`, with the user theme directory given (tests, `--theme` with a path).
    pub fn load_from(name: &str, user_dir: &Path) -> Result<Theme, ThemeError> {
        if let Some((_, text)) = BUILTIN.iter().find(|(n, _)| *n == name) {
            return Self::parse(name, &format!("themes/{name}.toml (built in)"), text);
        }
        let valid_name = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        let path = user_dir.join(format!("{name}.toml"));
        if !valid_name || !path.is_file() {
            return Err(ThemeError::NotFound {
                name: name.to_string(),
                dir: user_dir.display().to_string(),
            });
        }
        let text = std::fs::read_to_string(&path).map_err(|source| ThemeError::Read {
            path: path.clone(),
            source,
        })?;
        Self::parse(name, &path.display().to_string(), &text)
    }

    /// The theme to use: `NO_COLOR` (set and not empty) wins over any name.
    pub fn resolve(name: Option<&str>, no_color: bool) -> Result<Theme, ThemeError> {
        if no_color {
            return Ok(Theme::monochrome());
        }
        Theme::load(name.unwrap_or("default"))
    }

    /// Parse a theme file over the default theme. `file` names it in errors.
    pub fn parse(name: &str, file: &str, text: &str) -> Result<Theme, ThemeError> {
        let mut colours = parse_colours(file, BUILTIN[0].1)?;
        colours.extend(parse_colours(file, text)?);
        Ok(Theme::from_colours(name, &colours))
    }

    fn from_colours(name: &str, c: &BTreeMap<String, Color>) -> Theme {
        let get = |k: &str| c.get(k).copied().unwrap_or(Color::Reset);
        let fg = |k: &str| Style::new().fg(get(k));
        let states = std::array::from_fn(|i| {
            let s = StepState::ALL[i];
            let st = fg(&format!("state.{}", s.as_str()));
            match s {
                StepState::Running | StepState::Failed | StepState::CompensationFailed => {
                    st.add_modifier(Modifier::BOLD)
                }
                _ => st,
            }
        });
        Theme {
            name: name.to_string(),
            monochrome: false,
            base: Style::new().fg(get("chrome.fg")).bg(get("chrome.bg")),
            dim: fg("chrome.dim"),
            border: fg("chrome.border"),
            border_focus: fg("chrome.border_focus"),
            title: fg("chrome.title").add_modifier(Modifier::BOLD),
            accent: fg("chrome.accent"),
            selection: Style::new()
                .fg(get("chrome.selection_fg"))
                .bg(get("chrome.selection_bg")),
            tab_active: fg("chrome.tab_active").add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            tab_inactive: fg("chrome.tab_inactive"),
            key: fg("chrome.key").add_modifier(Modifier::BOLD),
            ok: fg("chrome.ok"),
            error: fg("chrome.error").add_modifier(Modifier::BOLD),
            warning: fg("chrome.warning").add_modifier(Modifier::BOLD),
            search_match: fg("chrome.match").add_modifier(Modifier::REVERSED),
            states,
            severities: SEVERITY_KEYS.map(|k| fg(&format!("severity.{k}"))),
            gauge: GAUGE_KEYS.map(|k| fg(&format!("gauge.{k}"))),
        }
    }

    /// No colours at all: states differ by glyph, and by bold/dim/reverse where it matters.
    pub fn monochrome() -> Theme {
        let plain = Style::new();
        let bold = plain.add_modifier(Modifier::BOLD);
        let dim = plain.add_modifier(Modifier::DIM);
        let states = std::array::from_fn(|i| match StepState::ALL[i] {
            StepState::Running | StepState::WaitingApproval => bold,
            StepState::Failed | StepState::Rejected | StepState::CompensationFailed => {
                bold.add_modifier(Modifier::UNDERLINED)
            }
            StepState::UpstreamFailed => plain.add_modifier(Modifier::UNDERLINED),
            StepState::Skipped | StepState::Cancelled | StepState::Pending => dim,
            _ => plain,
        });
        Theme {
            name: "monochrome".into(),
            monochrome: true,
            base: plain,
            dim,
            border: plain,
            border_focus: bold,
            title: bold,
            accent: bold,
            selection: plain.add_modifier(Modifier::REVERSED),
            tab_active: bold.add_modifier(Modifier::REVERSED),
            tab_inactive: plain,
            key: bold,
            ok: plain,
            error: bold,
            warning: bold,
            search_match: plain.add_modifier(Modifier::REVERSED | Modifier::UNDERLINED),
            states,
            severities: [dim, plain, bold, bold.add_modifier(Modifier::REVERSED)],
            gauge: [plain, plain, bold, dim],
        }
    }

    pub fn state(&self, s: StepState) -> Style {
        let i = StepState::ALL.iter().position(|x| *x == s).unwrap_or(0);
        self.states[i]
    }

    pub fn severity(&self, s: Severity) -> Style {
        self.severities[s as usize]
    }

    /// The filled part of the health gauge for a label.
    pub fn gauge(&self, l: HealthLabel) -> Style {
        self.gauge[l as usize]
    }

    pub fn gauge_empty(&self) -> Style {
        self.gauge[3]
    }

    pub fn border_for(&self, focused: bool) -> Style {
        if focused {
            self.border_focus
        } else {
            self.border
        }
    }
}

/// `$XDG_CONFIG_HOME/baton/themes`, else `~/.config/baton/themes`.
pub(crate) fn user_theme_dir() -> PathBuf {
    baton_link::config::dir().join("themes")
}

/// `section.key` → colour, with every key and value checked.
fn parse_colours(file: &str, text: &str) -> Result<BTreeMap<String, Color>, ThemeError> {
    let invalid = |message: String| ThemeError::Invalid {
        file: file.to_string(),
        message,
    };
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| invalid(format!("not valid TOML: {}", e.message())))?;
    let state_keys: Vec<&str> = StepState::ALL.iter().map(|s| s.as_str()).collect();
    let mut out = BTreeMap::new();
    for (section, value) in &table {
        let allowed: &[&str] = match section.as_str() {
            "chrome" => &CHROME_KEYS,
            "state" => &state_keys,
            "severity" => &SEVERITY_KEYS,
            "gauge" => &GAUGE_KEYS,
            _ => {
                return Err(invalid(format!(
                    "unknown section `[{section}]` (allowed: [chrome], [state], [severity], [gauge])"
                )));
            }
        };
        let Some(entries) = value.as_table() else {
            return Err(invalid(format!(
                "`{section}` must be a table `[{section}]`"
            )));
        };
        for (key, v) in entries {
            if !allowed.contains(&key.as_str()) {
                return Err(invalid(format!(
                    "unknown key `{section}.{key}` (allowed in [{section}]: {})",
                    allowed.join(", ")
                )));
            }
            let colour = v
                .as_str()
                .and_then(|s| Color::from_str(s).ok())
                .ok_or_else(|| {
                    invalid(format!(
                        "`{section}.{key}` = {v} is not a colour (allowed: {COLOUR_HELP})"
                    ))
                })?;
            out.insert(format!("{section}.{key}"), colour);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_themes_load_and_differ() {
        let d = Theme::load("default").unwrap();
        let l = Theme::load("light").unwrap();
        let h = Theme::load("high-contrast").unwrap();
        assert_ne!(d.state(StepState::Running), l.state(StepState::Running));
        assert_eq!(h.base.bg, Some(Color::Rgb(0, 0, 0)));
        assert_eq!(
            d.state(StepState::Succeeded).fg,
            Some(Color::Rgb(0x3c, 0xc8, 0x3c))
        );
    }

    #[test]
    fn every_builtin_sets_every_key() {
        let state_keys = StepState::ALL.len();
        for (name, text) in BUILTIN {
            let c = parse_colours(name, text).unwrap();
            assert_eq!(
                c.len(),
                CHROME_KEYS.len() + state_keys + SEVERITY_KEYS.len() + GAUGE_KEYS.len(),
                "{name}"
            );
        }
    }

    #[test]
    fn user_theme_overrides_some_keys_and_bad_keys_are_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("mine.toml"),
            "[state]\nrunning = \"#112233\"\n",
        )
        .unwrap();
        let t = Theme::load_from("mine", dir.path()).unwrap();
        assert_eq!(
            t.state(StepState::Running).fg,
            Some(Color::Rgb(0x11, 0x22, 0x33))
        );
        assert_eq!(
            t.state(StepState::Succeeded).fg,
            Some(Color::Rgb(0x3c, 0xc8, 0x3c))
        );

        std::fs::write(dir.path().join("bad.toml"), "[state]\nrunnin = \"red\"\n").unwrap();
        let e = Theme::load_from("bad", dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("bad.toml") && e.contains("state.runnin") && e.contains("running"),
            "{e}"
        );

        std::fs::write(
            dir.path().join("bad2.toml"),
            "[gauge]\nhealthy = \"blurple\"\n",
        )
        .unwrap();
        let e = Theme::load_from("bad2", dir.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains("gauge.healthy") && e.contains("#rrggbb"), "{e}");

        let e = Theme::load_from("nope", dir.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown theme `nope`"), "{e}");
        assert!(Theme::load_from("../etc/passwd", dir.path()).is_err());
    }

    #[test]
    fn monochrome_has_no_colours_but_distinguishes_failure() {
        let m = Theme::resolve(Some("light"), true).unwrap();
        assert!(m.monochrome);
        for &s in StepState::ALL {
            assert_eq!(m.state(s).fg, None);
        }
        assert_ne!(m.state(StepState::Failed), m.state(StepState::Succeeded));
    }

    /// WCAG 2 relative luminance of an sRGB colour.
    fn luminance(c: Color) -> Option<f64> {
        let Color::Rgb(r, g, b) = c else { return None };
        let lin = |v: u8| {
            let v = f64::from(v) / 255.0;
            if v <= 0.04045 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        Some(0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b))
    }

    fn contrast(a: Color, b: Color) -> Option<f64> {
        let (la, lb) = (luminance(a)?, luminance(b)?);
        Some((la.max(lb) + 0.05) / (la.min(lb) + 0.05))
    }

    #[test]
    fn contrast_of_black_on_white_is_21() {
        let r = contrast(Color::Rgb(0, 0, 0), Color::Rgb(255, 255, 255)).unwrap();
        assert!((r - 21.0).abs() < 1e-9, "{r}");
        assert!(
            contrast(Color::Green, Color::Black).is_none(),
            "named colours have no fixed value"
        );
    }

    /// Every text role of every built-in theme is RGB and reads at WCAG AA (4.5:1)
    /// against the theme's background (the selection against its own background); the
    /// health gauge, a graphic, at 3:1.
    #[test]
    fn every_builtin_theme_has_rgb_text_with_wcag_aa_contrast() {
        let text_roles = [
            "chrome.fg",
            "chrome.dim",
            "chrome.title",
            "chrome.accent",
            "chrome.tab_active",
            "chrome.tab_inactive",
            "chrome.key",
            "chrome.ok",
            "chrome.error",
            "chrome.warning",
            "chrome.match",
        ];
        for (name, text) in BUILTIN {
            let c = parse_colours(name, text).unwrap();
            let bg = c["chrome.bg"];
            let mut failures = Vec::new();
            let mut check = |role: String, fg: Color, bg: Color, min: f64| match contrast(fg, bg) {
                Some(r) if r >= min => {}
                Some(r) => failures.push(format!("{role}: {r:.2}:1 < {min}:1")),
                None => failures.push(format!("{role}: not RGB ({fg:?} on {bg:?})")),
            };
            let roles = text_roles
                .iter()
                .map(|r| r.to_string())
                .chain(
                    StepState::ALL
                        .iter()
                        .map(|s| format!("state.{}", s.as_str())),
                )
                .chain(SEVERITY_KEYS.iter().map(|k| format!("severity.{k}")));
            for role in roles {
                check(role.clone(), c[&role], bg, 4.5);
            }
            check(
                "chrome.selection_fg".into(),
                c["chrome.selection_fg"],
                c["chrome.selection_bg"],
                4.5,
            );
            for k in ["healthy", "degraded", "critical"] {
                check(format!("gauge.{k}"), c[&format!("gauge.{k}")], bg, 3.0);
            }
            assert!(
                failures.is_empty(),
                "theme {name}:\n{}",
                failures.join("\n")
            );
        }
    }
}
