//! GitHub's matrix cells (docs.github.com, "Running variations of jobs in a
//! workflow"), as the imported workflow's loader expands them.
use crate::{Kind, import};
use std::collections::BTreeMap;

/// The instance ids of `step` in the imported `yaml`, as baton makes them.
fn ids(yaml: &str, step: &str) -> Vec<String> {
    let i = import(Kind::Github, "w.yml", yaml).unwrap();
    let p = baton_workflow::load_str_with(
        &i.toml,
        std::path::Path::new("w.toml"),
        baton_workflow::SignersFrom::Recorded(None),
    )
    .unwrap_or_else(|d| panic!("{d}\n{}", i.toml));
    let s = p.steps.iter().find(|s| s.id == step).unwrap();
    let Some(f) = &s.fanout else {
        panic!("no matrix: {}", i.toml)
    };
    let baton_workflow::fanout::FanSource::Matrix(m) = f.source.clone() else {
        panic!("not a matrix")
    };
    baton_workflow::fanout::matrix_instances(step, &m, &BTreeMap::new(), 10_000)
        .unwrap_or_else(|e| panic!("{e}\n{}", i.toml))
        .into_iter()
        .map(|(id, _)| id)
        .collect()
}

/// GitHub's documented example of "Expanding or adding matrix configurations", with
/// the fruit a mapping: six jobs, as the docs list them.
#[test]
fn include_over_mapping_values_follows_githubs_documented_expansion() {
    let y = "on: push\njobs:\n  t:\n    strategy:\n      matrix:\n        fruit: [{name: apple}, {name: pear}]\n        animal: [cat, dog]\n        include:\n          - color: green\n          - color: pink\n            animal: cat\n          - fruit: {name: apple}\n            shape: circle\n          - fruit: {name: banana}\n          - fruit: {name: banana}\n            animal: cat\n    steps: [{run: 'echo ${{ matrix.fruit.name }}'}]\n";
    assert_eq!(
        ids(y, "t"),
        [
            "t[apple,cat,pink,circle]",
            "t[apple,dog,green,circle]",
            "t[pear,cat,pink]",
            "t[pear,dog,green]",
            "t[banana]",
            "t[banana,cat]",
        ]
    );
}

/// The common Rust release matrix: a list of mappings under one key, crossed with
/// another axis; `exclude` with a mapping value; `matrix.job.target` is read.
#[test]
fn a_matrix_of_mappings_has_githubs_cells_and_reads_their_fields() {
    let y = "on: push\njobs:\n  build:\n    strategy:\n      matrix:\n        job:\n          - { target: x86_64-unknown-linux-gnu, os: ubuntu-latest }\n          - { target: aarch64-apple-darwin, os: macos-latest }\n        toolchain: [stable, nightly]\n        exclude:\n          - job: { target: aarch64-apple-darwin, os: macos-latest }\n            toolchain: nightly\n    steps:\n      - run: echo \"${{ matrix.job.target }}\"\n";
    assert_eq!(
        ids(y, "build"),
        [
            "build[x86_64-unknown-linux-gnu,ubuntu-latest,stable]",
            "build[x86_64-unknown-linux-gnu,ubuntu-latest,nightly]",
            "build[aarch64-apple-darwin,macos-latest,stable]",
        ]
    );
    let i = import(Kind::Github, "w.yml", y).unwrap();
    assert!(i.toml.contains("${{ matrix.job_target }}"), "{}", i.toml);
}

/// act's evalmatrix and evalmatrix-merge-array (nektos/act pkg/runner/testdata at
/// bd86152165b976e89c24093ceb039d732b5ed95f): `fromJSON` of a literal is the matrix,
/// or items spliced into an axis.
#[test]
fn from_json_of_a_literal_is_read_as_its_value() {
    let y = "on: push\njobs:\n  evalm:\n    strategy:\n      matrix: |-\n        ${{fromJson('\n          {\n            \"A\": [ \"A\", \"B\" ]\n          }\n        ')}}\n    steps: [{run: 'true'}]\n  a:\n    strategy:\n      matrix:\n        a:\n        - env:\n              key1: ${{'val'}}1\n        - ${{fromJSON('[{\"env\":{\"key2\":\"val2\"}},{\"env\":{\"key3\":\"val3\"}}]')}}\n    steps: [{run: 'true'}]\n";
    assert_eq!(ids(y, "evalm"), ["evalm[A]", "evalm[B]"]);
    // `${{'val'}}1` is `val1` on GitHub and in act (the file's own check reads it).
    assert_eq!(ids(y, "a"), ["a[val1]", "a[val2]", "a[val3]"]);
}

/// act's evalmatrix-merge-map: a `${{ insert }}` key merges its mapping (a literal,
/// or `fromJSON` of one) into the mapping holding it.
#[test]
fn an_insert_key_merges_its_mapping_into_the_cell() {
    let y = "on: push
jobs:
  a:
    strategy:
      matrix:
        a:
        - env:
              key1: val1
              ${{insert}}:
                 key2: val2
              ${{ insert }}: ${{fromJSON('{\"key3\":\"val3\"}')}}
    steps:
      - run: echo ${{ matrix.a.env.key3 }}
";
    assert_eq!(ids(y, "a"), ["a[val1,val2,val3]"]);
    let i = import(Kind::Github, "w.yml", y).unwrap();
    assert!(i.toml.contains("a_env_key3 = \"val3\""), "{}", i.toml);
}

/// A matrix known only during GitHub's run (`fromJSON` of a need's output, a key
/// written as an expression): the import loads, the job fails saying why.
#[test]
fn a_matrix_known_only_at_run_time_fails_its_job_saying_so() {
    let y = "on: push\njobs:\n  prepare:\n    runs-on: x\n    steps: [{run: 'true'}]\n  evalm:\n    needs: [prepare]\n    strategy:\n      matrix: ${{ fromJson(needs.prepare.outputs.matrix) }}\n    steps: [{run: 'true'}]\n  k:\n    needs: [prepare]\n    strategy:\n      matrix:\n        ${{ needs.prepare.outputs.helix }}: [a]\n    steps: [{run: 'true'}]\n";
    let i = import(Kind::Github, "w.yml", y).unwrap();
    assert!(
        i.notes
            .iter()
            .any(|n| n.line == 9 && n.done.starts_with("the job fails saying so")),
        "{:?}",
        i.notes
    );
    assert!(
        i.notes
            .iter()
            .any(|n| n.line == 15 && n.what.starts_with("matrix key")),
        "{:?}",
        i.notes
    );
    assert!(i.toml.contains("uses = \"builtin.fail\""), "{}", i.toml);
    baton_workflow::load_str_with(
        &i.toml,
        std::path::Path::new("w.toml"),
        baton_workflow::SignersFrom::Recorded(None),
    )
    .unwrap();
}

/// An alls-green `allowed-skips` written as an expression is not read as a list of
/// its words: the report says at its line that it is read as no job.
#[test]
fn an_alls_green_list_written_as_an_expression_is_said_not_read() {
    let y = "on: push\njobs:\n  a:\n    steps: [{run: 'true'}]\n  check:\n    needs: [a]\n    if: always()\n    steps:\n      - uses: re-actors/alls-green@release/v1\n        with:\n          jobs: ${{ toJSON(needs) }}\n          allowed-skips: ${{ github.event_name == 'push' && 'a' || '' }}\n";
    let i = import(Kind::Github, "w.yml", y).unwrap();
    assert!(
        i.notes.iter().any(|n| n.line == 12
            && n.done
                .starts_with("an expression known only during GitHub's run")),
        "{:?}",
        i.notes
    );
    assert!(!i.toml.contains("steps.a.state != 'skipped'"), "{}", i.toml);
}
