use super::*;

fn env(term: Option<&str>, colors: Option<i32>) -> TermEnv {
    TermEnv {
        term: term.map(str::to_string),
        terminfo: term.filter(|t| *t != "dumb").map(|_| Terminfo {
            colors,
            direct: false,
        }),
        lang: Some("en_US.UTF-8".into()),
        ..TermEnv::default()
    }
}

#[test]
fn dumb_unset_and_unknown_terminals_cannot_hold_a_console() {
    assert!(matches!(
        env(Some("dumb"), None).usable(),
        Err(Unusable::Dumb(_))
    ));
    assert!(matches!(env(None, None).usable(), Err(Unusable::Dumb(_))));
    let mut kitty = env(Some("xterm-kitty"), Some(256));
    kitty.terminfo = None;
    let e = kitty.usable().unwrap_err().to_string();
    assert!(
        e.contains("TERM=xterm-kitty") && e.contains("TERM=xterm-256color"),
        "{e}"
    );
    assert_eq!(env(Some("vt100"), None).usable(), Ok(()));
}

#[test]
fn colours_come_from_the_config_then_colorterm_then_terminfo() {
    assert_eq!(env(Some("vt100"), None).color_depth(None), ColorDepth::Mono);
    assert_eq!(
        env(Some("linux"), Some(8)).color_depth(None),
        ColorDepth::Eight
    );
    assert_eq!(
        env(Some("screen"), Some(8)).color_depth(None),
        ColorDepth::Eight
    );
    assert_eq!(
        env(Some("rxvt"), Some(16)).color_depth(None),
        ColorDepth::Sixteen
    );
    assert_eq!(
        env(Some("xterm-256color"), Some(256)).color_depth(None),
        ColorDepth::Ansi256
    );
    let mut direct = env(Some("xterm-direct"), Some(1 << 24));
    assert_eq!(direct.color_depth(None), ColorDepth::TrueColor);
    direct.terminfo = Some(Terminfo {
        colors: Some(256),
        direct: true,
    });
    assert_eq!(direct.color_depth(None), ColorDepth::TrueColor);
    let mut ct = env(Some("xterm-256color"), Some(256));
    ct.colorterm = Some("truecolor".into());
    assert_eq!(ct.color_depth(None), ColorDepth::TrueColor);
    // The config wins over both.
    assert_eq!(ct.color_depth(Some(Colors::Sixteen)), ColorDepth::Sixteen);
    assert_eq!(
        env(Some("vt100"), None).color_depth(Some(Colors::Eight)),
        ColorDepth::Eight
    );
}

#[test]
fn the_first_locale_variable_set_decides_utf8() {
    let mut e = env(Some("xterm"), Some(8));
    assert!(e.utf8());
    e.lc_all = Some("C".into());
    assert!(!e.utf8(), "LC_ALL wins over LANG");
    e.lc_all = None;
    e.lc_ctype = Some("de_DE.utf8".into());
    e.lang = Some("C".into());
    assert!(e.utf8());
    e.lc_ctype = None;
    e.lang = None;
    assert!(!e.utf8(), "no locale is the C locale");
    let c = baton_link::config::Config {
        ascii: true,
        ..baton_link::config::Config::default()
    };
    assert!(env(Some("xterm"), Some(8)).caps(&c).ascii);
    assert!(
        !env(Some("xterm"), Some(8))
            .caps(&baton_link::config::Config::default())
            .ascii
    );
}
