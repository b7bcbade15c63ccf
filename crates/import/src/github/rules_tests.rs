//! GitHub's rules for names across jobs, on what the import writes.
use crate::{Kind, import};

/// A job reading an output its need does not declare reads '' on GitHub: left empty,
/// reported, and the workflow loads (baton refuses a template naming an undeclared
/// output). sharkdp/bat's CI with its `name` output left out found it.
#[test]
fn an_output_a_need_does_not_declare_is_left_empty_and_the_workflow_loads() {
    let y = "on: push\njobs:\n  meta:\n    outputs:\n      version: ${{ steps.m.outputs.version }}\n    steps: [{id: m, run: 'echo version=1 >> $GITHUB_OUTPUT'}]\n  build:\n    needs: meta\n    steps:\n      - run: echo \"${{ needs.meta.outputs.name }} ${{ needs.meta.outputs.version }}\"\n";
    let i = import(Kind::Github, "w.yml", y).unwrap();
    assert!(
        i.notes.iter().any(|n| n.line == 10
            && n.done
                .contains("job `meta` declares no such output (GitHub reads '')")),
        "{:?}",
        i.notes
    );
    assert!(
        i.toml.contains("${{ steps.meta.outputs.version }}"),
        "{}",
        i.toml
    );
    baton_workflow::load_str_with(
        &i.toml,
        std::path::Path::new("w.toml"),
        baton_workflow::SignersFrom::Recorded(None),
    )
    .unwrap_or_else(|d| panic!("{d}\n{}", i.toml));
}

/// A matrix of one axis from a need's output (`fromJSON(needs.J.outputs.K)`) is a
/// `for_each` over that output, `matrix.KEY` its item.
#[test]
fn an_axis_from_a_needs_output_is_a_for_each_over_it() {
    let y = "on: push\njobs:\n  prepare:\n    outputs:\n      list: ${{ steps.r.outputs.list }}\n    steps: [{id: r, run: 'echo list=[1] >> $GITHUB_OUTPUT'}]\n  use:\n    needs: prepare\n    strategy:\n      matrix:\n        package: ${{ fromJSON(needs.prepare.outputs.list) }}\n    steps:\n      - run: echo \"${{ matrix.package }}\"\n";
    let i = import(Kind::Github, "w.yml", y).unwrap();
    assert!(
        i.toml
            .contains("for_each = \"${{ steps.prepare.outputs.list }}\""),
        "{}",
        i.toml
    );
    assert!(i.toml.contains("\"${{ item }}\""), "{}", i.toml);
    assert!(
        i.notes
            .iter()
            .any(|n| n.line == 11 && n.done.contains("for_each")),
        "{:?}",
        i.notes
    );
    baton_workflow::load_str_with(
        &i.toml,
        std::path::Path::new("w.toml"),
        baton_workflow::SignersFrom::Recorded(None),
    )
    .unwrap_or_else(|d| panic!("{d}\n{}", i.toml));
}

/// An object filter over the event (`github.event.pull_request.labels.*.name`, tokio's
/// loom.yml at ea91b33ca57ff0581b38e735cc108f831bccbdaa) is a param whose name holds
/// `all` for `*`: the workflow loads (the `*` in a param's name did not).
#[test]
fn an_object_filter_over_the_event_is_a_param_and_the_workflow_loads() {
    let y = "on: push\njobs:\n  loom:\n    if: github.repository_owner == 'tokio-rs' && (contains(github.event.pull_request.labels.*.name, 'R-loom-sync') || (github.base_ref == null))\n    steps: [{run: 'true'}]\n";
    let i = import(Kind::Github, "w.yml", y).unwrap();
    assert!(
        i.toml
            .contains("params.github_event_pull_request_labels_all_name"),
        "{}",
        i.toml
    );
    baton_workflow::load_str_with(
        &i.toml,
        std::path::Path::new("w.toml"),
        baton_workflow::SignersFrom::Recorded(None),
    )
    .unwrap_or_else(|d| panic!("{d}\n{}", i.toml));
}
