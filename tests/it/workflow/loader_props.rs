//! Property tests: generated valid workflows validate with the right shape; byte and
//! line mutations of them produce errors (or another valid plan), never a panic.
use baton::workflow::load_str;
use proptest::prelude::*;
use std::path::Path;

/// A random layered DAG: step i needs a subset of earlier steps.
fn workflow() -> impl Strategy<Value = (String, usize)> {
    (1usize..25).prop_flat_map(|n| {
        let needs = proptest::collection::vec(proptest::collection::vec(any::<prop::sample::Index>(), 0..3), n);
        let kinds = proptest::collection::vec(0u8..4, n);
        (Just(n), needs, kinds)
    })
    .prop_map(|(n, needs, kinds)| {
        let mut s = String::from("name = \"gen\"\n[params.who]\ndefault = \"x\"\n[tools.t]\nrun = 'echo \"$A\"'\nparams = { A = { type = \"string\", required = true } }\n");
        for i in 0..n {
            s.push_str(&format!("[[step]]\nid = \"s{i}\"\n"));
            let mut deps: Vec<usize> = if i == 0 { vec![] } else { needs[i].iter().map(|x| x.index(i)).collect() };
            deps.sort_unstable();
            deps.dedup();
            if !deps.is_empty() {
                let q: Vec<String> = deps.iter().map(|d| format!("\"s{d}\"")).collect();
                s.push_str(&format!("needs = [{}]\n", q.join(", ")));
            }
            let value = match deps.first() {
                Some(d) => format!("${{{{ steps.s{d}.outputs.v }}}}"),
                None => "${{ params.who }}".to_string(),
            };
            match kinds[i] {
                0 => s.push_str(&format!("run = \"echo $V\"\nenv = {{ V = \"{value}\" }}\n")),
                1 => s.push_str(&format!("uses = \"t\"\nwith = {{ A = \"{value}\" }}\n")),
                2 => s.push_str("uses = \"builtin.sleep\"\nwith = { DURATION = \"10ms\" }\n"),
                _ => s.push_str(&format!("gate = {{ prompt = \"ok {value}?\" }}\n")),
            }
        }
        (s, n)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn generated_workflows_validate((src, n) in workflow()) {
        let plan = load_str(&src, Path::new("gen.toml")).map_err(|d| TestCaseError::fail(format!("{d}\n{src}")))?;
        prop_assert_eq!(plan.steps.len(), n);
        // Layers cover every step once and respect needs.
        let mut layer_of = vec![usize::MAX; n];
        for (k, l) in plan.layers.iter().enumerate() {
            for &s in l { layer_of[s] = k; }
        }
        for s in &plan.steps {
            for &d in &s.needs { prop_assert!(layer_of[d] < layer_of[s.index]); }
            prop_assert!(s.needs.is_empty() || s.needs.iter().any(|&d| layer_of[d] + 1 == layer_of[s.index]));
        }
    }

    #[test]
    fn byte_mutations_never_panic((src, _) in workflow(), pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = src.into_bytes();
        let i = pos.index(bytes.len());
        bytes[i] = byte;
        if let Ok(text) = String::from_utf8(bytes)
            && let Err(d) = load_str(&text, Path::new("m.toml")) {
                prop_assert!(!d.is_empty());
                let _ = d.to_string();
            }
    }

    #[test]
    fn line_mutations_never_panic((src, _) in workflow(), a in any::<prop::sample::Index>(), b in any::<prop::sample::Index>(), op in 0u8..3) {
        let mut lines: Vec<&str> = src.lines().collect();
        let i = a.index(lines.len());
        let j = b.index(lines.len());
        match op {
            0 => { lines.remove(i); }
            1 => lines.swap(i, j),
            _ => { let l = lines[j]; lines.insert(i, l); }
        }
        let text = lines.join("\n");
        if let Err(d) = load_str(&text, Path::new("m.toml")) {
            prop_assert!(!d.is_empty());
            let _ = d.to_string();
        }
    }
}
