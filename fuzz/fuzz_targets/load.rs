//! The loader must never panic or hang, whatever the (UTF-8) input.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|source: &str| {
    if let Err(d) = baton::workflow::load_str(source, Path::new("fuzz.toml")) {
        // Rendering must not panic either, and an error always has a diagnostic.
        assert!(!d.0.is_empty());
        let _ = d.to_string();
    }
});
