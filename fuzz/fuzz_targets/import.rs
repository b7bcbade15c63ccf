//! `baton import` must never panic, whatever the input, and never hold more than its
//! YAML bounds allow: the input as a file, and its bytes as a recipe of nested anchors
//! and aliases (each byte an anchor: how many aliases it holds, of which earlier one),
//! so the fuzzer reaches alias nesting at once. Run it under a memory limit:
//! `cargo fuzz run import -- -rss_limit_mb=512 -malloc_limit_mb=256`.
#![no_main]
use baton::import::{Kind, import};
use libfuzzer_sys::fuzz_target;

/// Anchors `a0…` from `data`: byte `b` of anchor `i` lists `(b & 15) + 1` aliases of
/// anchor `(b >> 4) % i` (the first lists scalars).
fn aliases(data: &[u8]) -> String {
    let mut t = String::new();
    for (i, b) in data.iter().enumerate().take(64) {
        let fan = usize::from(b & 0x0f) + 1;
        let item = match i {
            0 => "lol".to_string(),
            _ => format!("*a{}", usize::from(b >> 4) % i),
        };
        t.push_str(&format!("a{i}: &a{i} [{}]\n", vec![item; fan].join(", ")));
    }
    t
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for kind in [Kind::Github, Kind::Dagu] {
        for doc in [text.as_ref(), aliases(data).as_str()] {
            if let Err(e) = import(kind, "fuzz.yml", doc) {
                // A refusal says what and what to do, and renders.
                assert!(!e.message.is_empty() && !e.hint.is_empty(), "{e:?}");
                let _ = e.to_string();
            }
        }
    }
});
