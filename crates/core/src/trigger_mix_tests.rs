//! Every trigger rule over every mix of two and three needs that ended succeeded,
//! skipped, failed or upstream_failed, settling in every order: the step ends as
//! Airflow decides once all its upstream tasks are done.
use super::testkit::*;
use super::*;
use baton_workflow::{Trigger, Upstream, Verdict};

/// Derived from apache/airflow `airflow/ti_deps/deps/trigger_rule_dep.py`
/// (`TriggerRuleDep._evaluate_direct_relatives`, with `flag_upstream_failed` as the
/// scheduler runs it, every upstream done, no mapping and no setup tasks): for each mix
/// of needs, the step's end under each rule in `Trigger::ALL`'s order (all_success,
/// all_failed, all_done, all_skipped, one_success, one_failed, one_done, none_failed,
/// none_failed_min_one_success, none_skipped, always). `R` runs (the rule passes),
/// `S` skipped, `U` upstream_failed. The state set by the flag branch wins over the
/// passing check, and within it a failure over a skip (all_success: skip + fail → U).
const AIRFLOW_MIXES: &[(&str, &str)] = &[
    ("ok ok", "RSRSRSRRRRR"),
    ("ok skip", "SSRSRSRRRSR"),
    ("ok fail", "USRSRRRUURR"),
    ("ok uf", "USRSRRRUURR"),
    ("skip skip", "SSRRSSSRSSR"),
    ("skip fail", "USRSURRUUSR"),
    ("skip uf", "USRSURSUUSR"),
    ("fail fail", "URRSURRUURR"),
    ("fail uf", "URRSURRUURR"),
    ("uf uf", "URRSURSUURR"),
    ("ok ok ok", "RSRSRSRRRRR"),
    ("ok ok skip", "SSRSRSRRRSR"),
    ("ok ok fail", "USRSRRRUURR"),
    ("ok ok uf", "USRSRRRUURR"),
    ("ok skip skip", "SSRSRSRRRSR"),
    ("ok skip fail", "USRSRRRUUSR"),
    ("ok skip uf", "USRSRRRUUSR"),
    ("ok fail fail", "USRSRRRUURR"),
    ("ok fail uf", "USRSRRRUURR"),
    ("ok uf uf", "USRSRRRUURR"),
    ("skip skip skip", "SSRRSSSRSSR"),
    ("skip skip fail", "USRSURRUUSR"),
    ("skip skip uf", "USRSURSUUSR"),
    ("skip fail fail", "USRSURRUUSR"),
    ("skip fail uf", "USRSURRUUSR"),
    ("skip uf uf", "USRSURSUUSR"),
    ("fail fail fail", "URRSURRUURR"),
    ("fail fail uf", "URRSURRUURR"),
    ("fail uf uf", "URRSURRUURR"),
    ("uf uf uf", "URRSURSUURR"),
];

fn expected(code: u8) -> &'static str {
    match code {
        b'R' => "runs",
        b'S' => "skipped",
        b'U' => "upstream_failed",
        _ => unreachable!("table code {code}"),
    }
}

/// The needs' counts once every one of them has ended.
fn counts(mix: &[&str]) -> Upstream {
    let n = |s: &str| mix.iter().filter(|m| **m == s).count();
    Upstream {
        total: mix.len(),
        success: n("ok"),
        skipped: n("skip"),
        failed: n("fail"),
        upstream_failed: n("uf"),
        done: mix.len(),
    }
}

#[test]
fn the_table_covers_every_mix_of_two_and_three_needs() {
    let mut mixes: Vec<&str> = AIRFLOW_MIXES.iter().map(|(m, _)| *m).collect();
    mixes.dedup();
    // Multisets of 4 states: 10 of two, 20 of three.
    assert_eq!(mixes.len(), 30);
    for (_, row) in AIRFLOW_MIXES {
        assert_eq!(row.len(), Trigger::ALL.len());
    }
}

#[test]
fn a_rule_decides_ended_needs_as_airflow_does() {
    for (mix, row) in AIRFLOW_MIXES {
        let u = counts(&mix.split(' ').collect::<Vec<_>>());
        for (rule, want) in Trigger::ALL.into_iter().zip(row.bytes()) {
            let got = match rule.verdict(u) {
                Verdict::Run => "runs",
                Verdict::Skip => "skipped",
                Verdict::UpstreamFailed => "upstream_failed",
                Verdict::Wait => "waits",
            };
            assert_eq!(got, expected(want), "{} over [{mix}]", rule.as_str());
        }
    }
}

/// Every order of `n` items.
fn orders(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![Vec::new()];
    }
    let mut out = Vec::new();
    for rest in orders(n - 1) {
        for at in 0..=rest.len() {
            let mut o = rest.clone();
            o.insert(at, n - 1);
            out.push(o);
        }
    }
    out
}

/// Need `nK` ends as `mix[K]`: `ok`/`fail` by its exit, `skip` as a `one_failed` step
/// over a success, `uf` below a failure. Each has a root `rK` whose exit settles it.
fn run_mix(rule: Trigger, mix: &[&str], order: &[usize]) -> &'static str {
    let mut b = plan();
    let mut needs = Vec::new();
    for (k, m) in mix.iter().enumerate() {
        let (root, need) = (format!("r{k}"), format!("n{k}"));
        match *m {
            "ok" | "fail" => b = b.step(&need),
            "skip" => {
                b = b
                    .step(&root)
                    .step_needs(&need, &[&root])
                    .when(Trigger::OneFailed)
            }
            _ => b = b.step(&root).step_needs(&need, &[&root]),
        }
        needs.push(need);
    }
    let needs: Vec<&str> = needs.iter().map(String::as_str).collect();
    let mut sim = Sim::new(b.step_needs("t", &needs).when(rule).build(), cfg());
    for &k in order {
        match mix[k] {
            "ok" => sim.exit(&format!("n{k}"), 0),
            "fail" => sim.exit(&format!("n{k}"), 1),
            "skip" => sim.exit(&format!("r{k}"), 0),
            _ => sim.exit(&format!("r{k}"), 1),
        };
        assert_eq!(
            sim.state(&format!("n{k}")).as_str(),
            match mix[k] {
                "ok" => "succeeded",
                "fail" => "failed",
                "skip" => "skipped",
                _ => "upstream_failed",
            }
        );
    }
    match sim.state("t") {
        StepState::Queued | StepState::Running => "runs",
        StepState::Skipped => "skipped",
        StepState::UpstreamFailed => "upstream_failed",
        other => other.as_str(),
    }
}

#[test]
fn the_engine_decides_mixed_needs_as_airflow_in_every_order() {
    let mut wrong = Vec::new();
    for (mix, row) in AIRFLOW_MIXES {
        let mix: Vec<&str> = mix.split(' ').collect();
        for (rule, want) in Trigger::ALL.into_iter().zip(row.bytes()) {
            for order in orders(mix.len()) {
                let got = run_mix(rule, &mix, &order);
                if got != expected(want) {
                    let ended: Vec<&str> = order.iter().map(|&k| mix[k]).collect();
                    wrong.push(format!(
                        "{} over needs ending {}: {got}, Airflow {}",
                        rule.as_str(),
                        ended.join(" then "),
                        expected(want)
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
