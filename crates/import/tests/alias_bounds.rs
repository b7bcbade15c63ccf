//! Issue 75 point 5: YAML from outside is bounded. Adversarial alias nesting (anchors of
//! aliases of anchors, large scalars repeated, anchors nested in anchors) is imported
//! under a memory limit: the allocator of this test binary counts the bytes in use, and
//! no input may take an import past `LIMIT`, whatever it does (refuse or import).
use baton_import::{Kind, import};
use proptest::prelude::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes in use, and the most in use since the last reset.
static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// One measured import at a time (the counts are the process's).
static ONE: Mutex<()> = Mutex::new(());

/// `f`'s result and the most bytes it held at once.
fn measured<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let _one = ONE.lock().unwrap_or_else(|p| p.into_inner());
    let before = IN_USE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let r = f();
    (r, PEAK.load(Ordering::Relaxed).saturating_sub(before))
}

struct Counting;

// SAFETY: every call is forwarded to the system allocator unchanged; only counts are kept.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let now = IN_USE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
        PEAK.fetch_max(now, Ordering::Relaxed);
        // SAFETY: the caller's layout is handed on as is.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        IN_USE.fetch_sub(l.size(), Ordering::Relaxed);
        // SAFETY: `p` was allocated by `System` with this layout.
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static A: Counting = Counting;

/// The most an import may hold at once: the bounds (500,000 nodes, 32 MiB of text)
/// with room for the parser, the mapping and the TOML written.
const LIMIT: usize = 384 << 20;

/// One anchor's body: `fan` items, each an alias of an earlier anchor, a scalar of
/// `len` bytes or a nested anchored list.
#[derive(Debug, Clone)]
enum Item {
    Alias(usize),
    Text(usize),
    Nested(usize),
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        4 => (0usize..64).prop_map(Item::Alias),
        1 => (0usize..40_000).prop_map(Item::Text),
        1 => (1usize..120).prop_map(Item::Nested),
    ]
}

/// A workflow whose top level defines anchors `a0…` from `bodies` and whose job's `env`
/// and steps alias the last ones.
fn document(bodies: &[(bool, Vec<Item>)]) -> String {
    let mut t = String::from("on: push\n");
    let mut extra = 0;
    for (i, (map, items)) in bodies.iter().enumerate() {
        let words: Vec<String> = items
            .iter()
            .enumerate()
            .map(|(k, it)| {
                let w = match it {
                    Item::Alias(j) if i > 0 => format!("*a{}", j % i),
                    Item::Alias(_) => "lol".into(),
                    Item::Text(n) => format!("'{}'", "x".repeat(*n)),
                    Item::Nested(d) => {
                        extra += 1;
                        format!("&n{extra} {}lol{}", "[".repeat(*d), "]".repeat(*d))
                    }
                };
                if *map { format!("k{k}: {w}") } else { w }
            })
            .collect();
        let (open, close) = if *map { ("{", "}") } else { ("[", "]") };
        t.push_str(&format!("a{i}: &a{i} {open}{}{close}\n", words.join(", ")));
    }
    let last = bodies.len().saturating_sub(1);
    t.push_str(&format!(
        "jobs:\n  j:\n    runs-on: ubuntu-latest\n    env: *a{last}\n    steps:\n      - run: echo\n        with: *a{last}\n"
    ));
    t
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn adversarial_alias_nesting_stays_under_the_memory_limit(
        bodies in prop::collection::vec((any::<bool>(), prop::collection::vec(item(), 1..16)), 1..14),
    ) {
        let text = document(&bodies);
        for kind in [Kind::Github, Kind::Dagu] {
            let (r, peak) = measured(|| import(kind, "laughs.yml", &text));
            prop_assert!(peak < LIMIT, "{kind}: {peak} bytes for {} bytes of YAML", text.len());
            if let Err(e) = r {
                // A refusal names the file and a line of it, and says what to do.
                prop_assert!(e.line >= 1 && e.line <= text.lines().count() + 1, "{e}");
                prop_assert!(!e.hint.is_empty(), "{e}");
            }
        }
    }
}

#[test]
fn billion_laughs_is_refused_within_the_memory_limit() {
    let mut t = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..9 {
        let p = format!("*a{}", i - 1);
        t.push_str(&format!("a{i}: &a{i} [{}]\n", vec![p; 9].join(", ")));
    }
    let (r, peak) = measured(|| import(Kind::Github, "laughs.yml", &t));
    let e = r.unwrap_err();
    assert!(peak < LIMIT, "{peak}");
    assert_eq!(e.file, "laughs.yml");
    assert!(e.message.contains("500000 nodes"), "{e}");
}
