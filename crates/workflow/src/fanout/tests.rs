use super::*;
use serde_json::json;

fn combo(pairs: &[(&str, Value)]) -> Combo {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn values(m: &Matrix) -> Vec<Value> {
    combinations(m, &BTreeMap::new())
        .unwrap()
        .into_iter()
        .map(|c| Value::Object(c.into_iter().collect()))
        .collect()
}

fn axis(vals: &[Value]) -> Axis {
    Axis::Values(vals.to_vec())
}

/// GitHub's documented example of "Expanding or adding matrix configurations".
#[test]
fn include_follows_githubs_documented_expansion() {
    let m = Matrix {
        axes: vec![
            ("fruit".into(), axis(&[json!("apple"), json!("pear")])),
            ("animal".into(), axis(&[json!("cat"), json!("dog")])),
        ],
        include: vec![
            combo(&[("color", json!("green"))]),
            combo(&[("color", json!("pink")), ("animal", json!("cat"))]),
            combo(&[("fruit", json!("apple")), ("shape", json!("circle"))]),
            combo(&[("fruit", json!("banana"))]),
            combo(&[("fruit", json!("banana")), ("animal", json!("cat"))]),
        ],
        exclude: vec![],
    };
    assert_eq!(
        values(&m),
        vec![
            json!({"fruit": "apple", "animal": "cat", "color": "pink", "shape": "circle"}),
            json!({"fruit": "apple", "animal": "dog", "color": "green", "shape": "circle"}),
            json!({"fruit": "pear", "animal": "cat", "color": "pink"}),
            json!({"fruit": "pear", "animal": "dog", "color": "green"}),
            json!({"fruit": "banana"}),
            json!({"fruit": "banana", "animal": "cat"}),
        ]
    );
}

/// GitHub's documented example of "Excluding matrix configurations": 12 - 1 - 2 = 9,
/// in the order of the keys (the first outermost).
#[test]
fn exclude_follows_githubs_documented_expansion() {
    let m = Matrix {
        axes: vec![
            (
                "os".into(),
                axis(&[json!("macos-latest"), json!("windows-latest")]),
            ),
            ("version".into(), axis(&[json!(12), json!(14), json!(16)])),
            (
                "environment".into(),
                axis(&[json!("staging"), json!("production")]),
            ),
        ],
        include: vec![],
        exclude: vec![
            combo(&[
                ("os", json!("macos-latest")),
                ("version", json!(12)),
                ("environment", json!("production")),
            ]),
            combo(&[("os", json!("windows-latest")), ("version", json!(16))]),
        ],
    };
    let got = values(&m);
    assert_eq!(got.len(), 9);
    assert_eq!(
        got[0],
        json!({"os": "macos-latest", "version": 12, "environment": "staging"})
    );
    assert!(
        !got.contains(&json!({"os": "windows-latest", "version": 16, "environment": "staging"}))
    );
    assert_eq!(
        matrix_instances("t", &m, &BTreeMap::new(), 100).unwrap()[1].0,
        "t[macos-latest,14,staging]"
    );
}

/// Exclusions are applied before inclusions: an include may add back what an exclude removed.
#[test]
fn include_comes_after_exclude_and_include_only_matrices_list_their_entries() {
    let m = Matrix {
        axes: vec![("a".into(), axis(&[json!(1), json!(2)]))],
        include: vec![combo(&[("a", json!(1)), ("b", json!("x"))])],
        exclude: vec![combo(&[("a", json!(1))])],
    };
    assert_eq!(values(&m), vec![json!({"a": 2}), json!({"a": 1, "b": "x"})]);
    let only = Matrix {
        axes: vec![],
        include: vec![combo(&[("a", json!(42))]), combo(&[("a", json!("foo"))])],
        exclude: vec![],
    };
    assert_eq!(values(&only), vec![json!({"a": 42}), json!({"a": "foo"})]);
}

#[test]
fn a_list_parameter_gives_an_axis_as_commas_or_json() {
    let m = Matrix {
        axes: vec![
            ("python".into(), Axis::Param("pythons".into())),
            ("os".into(), axis(&[json!("linux")])),
        ],
        ..Matrix::default()
    };
    let mut params = BTreeMap::new();
    params.insert("pythons".to_string(), "3.11, 3.12".to_string());
    let ids: Vec<String> = matrix_instances("test", &m, &params, 100)
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(ids, ["test[3.11,linux]", "test[3.12,linux]"]);
    params.insert("pythons".to_string(), r#"["3.11", 3.12]"#.to_string());
    let inst = matrix_instances("test", &m, &params, 100).unwrap();
    assert_eq!(inst[1].1, json!({"python": 3.12, "os": "linux"}));
    params.insert("pythons".to_string(), r#"[1,"#.to_string());
    assert!(
        matrix_instances("test", &m, &params, 100)
            .unwrap_err()
            .to_string()
            .contains("not a JSON array")
    );
    assert!(
        matrix_instances("test", &m, &BTreeMap::new(), 100)
            .unwrap_err()
            .to_string()
            .contains("no value")
    );
}

#[test]
fn a_matrix_over_its_limit_or_with_twin_ids_is_refused() {
    let m = Matrix {
        axes: vec![("a".into(), axis(&[json!("x"), json!("y"), json!("x")]))],
        ..Matrix::default()
    };
    assert!(
        matrix_instances("s", &m, &BTreeMap::new(), 2)
            .unwrap_err()
            .to_string()
            .contains("max_instances = 2")
    );
    assert!(
        matrix_instances("s", &m, &BTreeMap::new(), 10)
            .unwrap_err()
            .to_string()
            .contains("`s[x]`")
    );
}

#[test]
fn for_each_reads_a_json_array_only() {
    let got = for_each_instances("p", "steps.a.outputs.l", r#"["x", {"k": 1}]"#, 10).unwrap();
    assert_eq!(got[0], ("p[0]".to_string(), json!("x")));
    assert_eq!(got[1].0, "p[1]");
    let inst = Instance {
        parent: 0,
        value: got[1].1.clone(),
        matrix: false,
    };
    assert_eq!(read(&inst, Some("k")).as_deref(), Some("1"));
    assert_eq!(read(&inst, None).as_deref(), Some(r#"{"k":1}"#));
    assert!(
        for_each_instances("p", "r", "{}", 10)
            .unwrap_err()
            .to_string()
            .contains("an object, not a JSON array")
    );
    assert!(
        for_each_instances("p", "r", "a,b", 10)
            .unwrap_err()
            .to_string()
            .contains("not JSON")
    );
    assert!(
        for_each_instances("p", "r", "[1,2,3]", 2)
            .unwrap_err()
            .to_string()
            .contains("3 items, more than max_instances = 2")
    );
    assert!(for_each_instances("p", "r", "[]", 2).unwrap().is_empty());
}

#[test]
fn ids_and_gathered_outputs() {
    assert_eq!(parent_id("test[3.11,linux]"), Some("test"));
    assert_eq!(parent_id("test"), None);
    let a = "1".to_string();
    assert_eq!(gathered([Some(&a), None].into_iter()), r#"["1",null]"#);
}

#[test]
fn a_list_is_an_array_or_values_separated_by_commas_never_an_object() {
    assert_eq!(
        parse_list("3.11, 3.12").unwrap(),
        [Value::from("3.11"), Value::from("3.12")]
    );
    assert_eq!(
        parse_list(r#"["a", 1]"#).unwrap(),
        [Value::from("a"), Value::from(1)]
    );
    let e = parse_list(r#"{"a": 1, "b": 2}"#).unwrap_err().to_string();
    assert!(e.contains("JSON object, not a list"), "{e}");
    assert!(parse_list("[1,").is_err());
}

/// Issue 41 point 3: a matrix's size is known before it is built: 10^7 combinations
/// (7 axes of 10 values, 260 bytes of TOML) are refused at once, not expanded; an
/// `exclude` that brings a matrix under its limit still counts.
#[test]
fn a_huge_matrix_is_refused_before_it_is_expanded() {
    let ten: Vec<serde_json::Value> = (0..10).map(|n| json!(n)).collect();
    let m = Matrix {
        axes: (0..7).map(|i| (format!("k{i}"), axis(&ten))).collect(),
        ..Matrix::default()
    };
    let e = matrix_instances("s", &m, &BTreeMap::new(), 10_000)
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "the matrix makes 10000000 combinations, more than max_instances = 10000"
    );
    let m = Matrix {
        axes: (0..40).map(|i| (format!("k{i}"), axis(&ten))).collect(),
        ..Matrix::default()
    };
    let e = matrix_instances("s", &m, &BTreeMap::new(), 10_000)
        .unwrap_err()
        .to_string();
    assert!(e.contains("more than 2^64"), "{e}");
    // 3 × 3 = 9 before exclude, 5 after: within 5.
    let three = axis(&[json!(1), json!(2), json!(3)]);
    let m = Matrix {
        axes: vec![("a".into(), three.clone()), ("b".into(), three)],
        exclude: vec![
            vec![("a".into(), json!(1))],
            vec![("a".into(), json!(2)), ("b".into(), json!(2))],
        ],
        ..Matrix::default()
    };
    assert_eq!(
        matrix_instances("s", &m, &BTreeMap::new(), 5)
            .unwrap()
            .len(),
        5
    );
    let e = matrix_instances("s", &m, &BTreeMap::new(), 4)
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "the matrix makes 9 combinations before exclude and more than 4 after it, more than max_instances = 4"
    );
}
