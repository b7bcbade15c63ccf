//! Issue 78: GitHub's `toJSON` of a whole context and `${{ a || b }}` over a value of
//! several lines, on the binary. The texts expected are GitHub's, as its docs show
//! them ("Contexts reference": the `steps`, `needs` and `matrix` examples, indented by
//! two spaces, `{}` for no outputs) and as its runner keeps a `NAME<<EOF` value (its
//! lines joined by newlines, the last empty line a trailing newline).
use crate::helpers::*;

const WORKFLOW: &str = r#"name: tojson
on: workflow_dispatch
jobs:
  a:
    outputs:
      v: ${{ steps.s.outputs.v }}
    steps:
      - id: s
        run: |
          echo 'v=one' >> "$GITHUB_OUTPUT"
          printf 'multi<<EOF\nline 1\nline 2\n\nEOF\n' >> "$GITHUB_OUTPUT"
      - id: t
        run: echo '::set-output name=w::x"y'
      - run: 'true'
      - name: contexts
        env:
          STEPS: ${{ toJSON(steps) }}
          PICK: ${{ steps.s.outputs.none || steps.s.outputs.multi }}
          EVENT: ${{ toJSON(github.event) }}
        run: |
          printf '%s' "$STEPS" > steps.json
          printf '%s' "$PICK" > pick.txt
          printf '%s' "$EVENT" > event.json
          printf '%s' "${{ steps.s.outputs.v && steps.s.outputs.multi }}" > and.txt
  b:
    needs: a
    strategy:
      matrix:
        os: [ubuntu-latest]
        node: [18, 20]
        include:
          - node: 20
            extra: { tag: "x" }
    steps:
      - env:
          M: ${{ toJSON(matrix) }}
          N: ${{ toJSON(needs) }}
        run: |
          printf '%s' "$M" > "matrix-${{ matrix.node }}.json"
          printf '%s' "$N" > "needs-${{ matrix.node }}.json"
  c:
    strategy:
      matrix:
        flag: [true]
        v: ['1.0']
    steps:
      - run: printf '%s' '${{ toJSON(matrix) }}' > plain.json
"#;

#[test]
fn to_json_of_contexts_and_a_picked_value_of_several_lines_are_githubs() {
    let env = Env::new();
    std::fs::write(env.path().join("tojson.yml"), WORKFLOW).unwrap();
    let o = env.run(&["import", "github", "tojson.yml", "-o", "tj.toml"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let report = text(&o.stderr);
    assert!(!report.contains("left empty: "), "{report}");
    let out = env.run(&["run", "tj.toml", "--headless"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let read = |f: &str| std::fs::read_to_string(env.path().join(f)).unwrap_or_default();
    assert_eq!(
        read("steps.json"),
        r#"{
  "s": {
    "outputs": {
      "v": "one",
      "multi": "line 1\nline 2\n"
    },
    "outcome": "success",
    "conclusion": "success"
  },
  "t": {
    "outputs": {
      "w": "x\"y"
    },
    "outcome": "success",
    "conclusion": "success"
  }
}"#
    );
    // Byte for byte: the trailing newline of the value picked stays.
    assert_eq!(read("pick.txt"), "line 1\nline 2\n");
    assert_eq!(read("and.txt"), "line 1\nline 2\n");
    // No event file given: the prelude's empty event.
    assert_eq!(read("event.json"), "{}");
    assert_eq!(
        read("matrix-18.json"),
        "{\n  \"os\": \"ubuntu-latest\",\n  \"node\": 18\n}"
    );
    assert_eq!(
        read("matrix-20.json"),
        "{\n  \"os\": \"ubuntu-latest\",\n  \"node\": 20,\n  \"extra\": {\n    \"tag\": \"x\"\n  }\n}"
    );
    assert_eq!(
        read("needs-20.json"),
        "{\n  \"a\": {\n    \"result\": \"success\",\n    \"outputs\": {\n      \"v\": \"one\"\n    }\n  }\n}"
    );
    assert_eq!(
        read("plain.json"),
        "{\n  \"flag\": true,\n  \"v\": \"1.0\"\n}"
    );
}
