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
