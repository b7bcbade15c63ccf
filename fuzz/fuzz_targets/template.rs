//! Template parsing must never panic; a parsed template displays and re-parses to the
//! same references.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(t) = baton::workflow::parse_template(text) {
        let shown = t.to_string();
        let again = baton::workflow::parse_template(&shown);
        if let Ok(again) = again {
            let a: Vec<_> = t.refs().collect();
            let b: Vec<_> = again.refs().collect();
            assert_eq!(a, b, "refs changed through Display: {text:?} -> {shown:?}");
        }
        let _ = t.render(|r| Some(r.to_string()));
    }
});
