//! The output sanitiser must never panic and never let a control character through
//! (styles are carried in `SgrStyle`, never as escape sequences in the text).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut carried = baton::sanitize::Sanitizer::new();
    for runs in [baton::sanitize::sanitize_line(data), carried.line(data), carried.line(data)] {
        for run in &runs {
            assert!(!run.text.is_empty());
            assert!(
                !run.text.chars().any(char::is_control),
                "control character in {:?}",
                run.text
            );
        }
    }
    let plain = baton::sanitize::strip_to_plain(data);
    assert!(!plain.chars().any(char::is_control));
});
