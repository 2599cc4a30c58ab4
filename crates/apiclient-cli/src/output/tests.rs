//! The formatters against cliff's own output (tests/fixtures/cliff, made by
//! its make.py from cases.json), and their safety on any server string.

use super::*;
use clap::Parser;
use proptest::prelude::*;

#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    out: OutputArgs,
}

fn parse(args: &[String]) -> OutputArgs {
    let mut argv = vec!["apiclient".to_string()];
    argv.extend(args.iter().cloned());
    let mut out = Args::try_parse_from(argv)
        .unwrap_or_else(|e| panic!("{args:?}: {e}"))
        .out;
    // as make.py runs cliff: nothing is a terminal
    out.terminal = Some(None);
    out
}

fn cell(v: &Value) -> Cell {
    match (v.get("human"), v.get("machine"), v.get("v")) {
        (Some(Value::Array(lines)), Some(machine), _) => Cell::Formatted {
            human: lines
                .iter()
                .map(|l| l.as_str().unwrap_or_default().to_string())
                .collect(),
            machine: machine.clone(),
        },
        (_, _, Some(plain)) => Cell::Plain(plain.clone()),
        _ => panic!("not a cell: {v}"),
    }
}

/// make.py's file name for an option line.
fn slug(args: &[String]) -> String {
    let parts: Vec<String> = args
        .iter()
        .map(|a| {
            a.trim_start_matches('-')
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect()
        })
        .collect();
    if parts.is_empty() {
        "default".into()
    } else {
        parts.join("_")
    }
}

fn fixtures() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cliff")
}

/// Strings PyYAML writes plain that a YAML 1.2 reader takes for numbers:
/// this module quotes them (see `yaml12_number`).
const YAML12_QUOTED: &[&str] = &["- S: 1e5"];

#[test]
fn every_format_prints_what_cliff_prints() {
    let text = std::fs::read_to_string(fixtures().join("cases.json")).unwrap();
    let cases: Value = serde_json::from_str(&text).unwrap();
    let mut compared = 0;
    for (name, case) in cases["cases"].as_object().unwrap() {
        let columns: Vec<String> = case["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect();
        let kind = case["kind"].as_str().unwrap();
        for args in case["args"].as_array().unwrap() {
            let args: Vec<String> = args
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
                .collect();
            let out = parse(&args);
            let result = match kind {
                "one" => {
                    let one = ShowOne {
                        fields: columns
                            .iter()
                            .cloned()
                            .zip(case["row"].as_array().unwrap().iter().map(cell))
                            .collect(),
                    };
                    out.show(&one)
                }
                _ => {
                    let listing = Listing {
                        columns: columns.clone(),
                        rows: case["rows"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|r| r.as_array().unwrap().iter().map(cell).collect())
                            .collect(),
                    };
                    if kind == "list" {
                        out.list(&listing)
                    } else {
                        out.details(&listing)
                    }
                }
            };
            let base = fixtures().join("out").join(name).join(slug(&args));
            let what = format!("{name} {args:?}");
            match result {
                Ok(printed) => {
                    let expected = std::fs::read_to_string(base.with_extension("txt"))
                        .unwrap_or_else(|e| panic!("{what}: no cliff output ({e})"));
                    if name == "yaml_strings" && args.contains(&"yaml".to_string()) {
                        // the same lines but for the deliberate quoting
                        let (p, e): (Vec<&str>, Vec<&str>) =
                            (printed.lines().collect(), expected.lines().collect());
                        assert_eq!(p.len(), e.len(), "{what}\n{printed}");
                        for (p, e) in p.iter().zip(&e) {
                            if YAML12_QUOTED.contains(e) {
                                assert_eq!(*p, e.replacen(": ", ": '", 1) + "'", "{what}");
                            } else {
                                assert_eq!(p, e, "{what}");
                            }
                        }
                    } else {
                        assert_eq!(printed, expected, "{what}\n{printed}");
                    }
                }
                Err(UsageError(message)) => {
                    let expected = std::fs::read_to_string(base.with_extension("err"))
                        .unwrap_or_else(|e| {
                            panic!("{what}: cliff printed, this refused: {message} ({e})")
                        });
                    assert_eq!(message, expected, "{what}");
                }
            }
            compared += 1;
        }
    }
    // every file of cliff's is compared
    let files: usize = std::fs::read_dir(fixtures().join("out"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| std::fs::read_dir(e.path()).unwrap().count())
        .sum();
    assert_eq!(compared, files);
    assert!(compared >= 90, "{compared} outputs compared");
}

#[test]
fn formats_and_options_a_kind_does_not_offer_are_usage_errors() {
    let args = |a: &[&str]| parse(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    assert_eq!(
        args(&["-f", "csv"]).check(Kind::One),
        Err(UsageError(
            "argument -f/--format: invalid choice: 'csv' (choose from 'json', 'shell', 'table', 'value', 'yaml')".into()
        ))
    );
    assert_eq!(
        args(&["-f", "shell"]).check(Kind::List),
        Err(UsageError(
            "argument -f/--format: invalid choice: 'shell' (choose from 'csv', 'json', 'table', 'value', 'yaml')".into()
        ))
    );
    assert_eq!(
        args(&["--sort-column", "x", "--sort-descending"]).check(Kind::One),
        Err(UsageError(
            "unrecognized arguments: --sort-column --sort-descending".into()
        ))
    );
    assert!(args(&["--sort-column", "x"]).check(Kind::List).is_ok());
    assert!(args(&["--prefix", "x"]).check(Kind::Details).is_err());
    assert!(args(&["--quote", "all"]).check(Kind::One).is_err());
    assert!(
        args(&["-f", "shell", "--prefix", "1x"])
            .check(Kind::One)
            .is_err()
    );
    assert!(
        args(&["-f", "shell", "--prefix", "a;b"])
            .check(Kind::One)
            .is_err()
    );
    assert!(
        args(&["-f", "shell", "--prefix", "OS_"])
            .check(Kind::One)
            .is_ok()
    );
    assert!(Args::try_parse_from(["x", "--sort-ascending", "--sort-descending"]).is_err());
}

#[test]
fn a_terminal_fits_the_table_and_a_pipe_does_not() {
    let listing = Listing {
        columns: vec!["A".into(), "B".into()],
        rows: vec![vec![
            Cell::text("x".repeat(50)),
            Cell::text("y ".repeat(40)),
        ]],
    };
    let mut out = OutputArgs {
        terminal: Some(Some(40)),
        ..OutputArgs::default()
    };
    let fitted = out.list(&listing).unwrap();
    assert!(fitted.lines().all(|l| table::width(l) <= 40), "{fitted}");
    out.terminal = Some(None);
    let wide = out.list(&listing).unwrap();
    assert!(wide.lines().any(|l| table::width(l) > 100), "{wide}");
    out.fit_width = true; // nothing to fit to: not a terminal
    assert_eq!(out.list(&listing).unwrap(), wide);
    out.max_width = Some(40);
    assert_eq!(out.list(&listing).unwrap(), fitted);
    out.max_width = Some(0);
    out.fit_width = false;
    assert_eq!(out.list(&listing).unwrap(), wide, "<1: no maximum");
}

fn hostile_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~\n\t\r\u{1b}\u{7f}\u{85}\u{9b}\u{2028}é東😀'\"$`\\\\,:#-]{0,40}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Whatever the server's strings, no format panics; the text formats
    /// carry no control character but their line breaks (csv, value and
    /// shell: one line per row or field), the table's lines are equally
    /// wide, json and yaml are ASCII and read back exactly.
    #[test]
    fn any_server_strings_make_safe_output(
        cells in proptest::collection::vec(hostile_string(), 1..5),
        keys in proptest::collection::btree_set("[a-z_]{1,8}", 1..5),
    ) {
        let one = ShowOne {
            fields: keys.iter().zip(cells.iter().cycle()).map(|(k, v)| (k.clone(), Cell::text(v.clone()))).collect(),
        };
        let listing = Listing {
            columns: vec!["A".into(), "B".into()],
            rows: cells
                .iter()
                .map(|c| vec![Cell::text(c.clone()), Cell::Formatted { human: vec![c.clone(), c.clone()], machine: Value::String(c.clone()) }])
                .collect(),
        };
        let no_controls = |s: &str| s.chars().all(|c| !c.is_control() || c == '\n');
        for format in [Format::Table, Format::Json, Format::Yaml, Format::Value, Format::Shell] {
            let out = OutputArgs { format, terminal: Some(None), ..OutputArgs::default() };
            let text = out.show(&one).unwrap();
            prop_assert!(no_controls(&text), "{:?}", text);
            if matches!(format, Format::Value | Format::Shell) {
                prop_assert_eq!(text.lines().count(), one.fields.len(), "{}", text);
            }
            if format == Format::Table {
                let widths: std::collections::BTreeSet<usize> = text.lines().map(table::width).collect();
                prop_assert_eq!(widths.len(), 1, "{}", text);
            }
            if format == Format::Json {
                prop_assert!(text.is_ascii());
                let back: Value = serde_json::from_str(&text).unwrap();
                for (k, v) in &one.fields {
                    prop_assert_eq!(&back[k.as_str()], v.machine());
                }
            }
            if format == Format::Yaml {
                prop_assert!(text.is_ascii());
                let back: Value = serde_yaml_ng::from_str(&text).unwrap();
                for (k, v) in &one.fields {
                    prop_assert_eq!(&back[k.as_str()], v.machine(), "{}", text);
                }
            }
        }
        for format in [Format::Table, Format::Json, Format::Yaml, Format::Value, Format::Csv] {
            let out = OutputArgs { format, terminal: Some(None), ..OutputArgs::default() };
            let text = out.list(&listing).unwrap();
            prop_assert!(no_controls(&text), "{:?}", text);
            match format {
                Format::Value => prop_assert_eq!(text.lines().count(), cells.len()),
                Format::Csv => prop_assert_eq!(text.lines().count(), cells.len() + 1),
                Format::Json => {
                    let back: Value = serde_json::from_str(&text).unwrap();
                    for (i, c) in cells.iter().enumerate() {
                        prop_assert_eq!(&back[i]["B"], &Value::String(c.clone()));
                    }
                }
                Format::Yaml => {
                    prop_assert!(text.is_ascii());
                    let back: Value = serde_yaml_ng::from_str(&text).unwrap();
                    for (i, c) in cells.iter().enumerate() {
                        prop_assert_eq!(&back[i]["A"], &Value::String(c.clone()), "{}", text);
                    }
                }
                _ => {
                    let widths: std::collections::BTreeSet<usize> = text.lines().map(table::width).collect();
                    prop_assert_eq!(widths.len(), 1, "{}", text);
                }
            }
        }
    }

    /// A table fitted to any width keeps every line at most that wide when
    /// the columns' floors (8) allow it, and loses no word.
    #[test]
    fn fitted_tables_keep_their_words(
        words in proptest::collection::vec("[a-z]{1,7}", 1..30),
        width in 30usize..120,
    ) {
        let text = words.join(" ");
        let listing = Listing {
            columns: vec!["Name".into(), "Description".into()],
            rows: vec![vec![Cell::text("n"), Cell::text(text.clone())]],
        };
        let out = OutputArgs { max_width: Some(width as i64), terminal: Some(None), ..OutputArgs::default() };
        let t = out.list(&listing).unwrap();
        prop_assert!(t.lines().all(|l| table::width(l) <= width.max(1 + 11 + 11)), "{}", t);
        let shown: Vec<&str> = t
            .lines()
            .filter(|l| l.starts_with('|'))
            .skip(1)
            .flat_map(|l| l.split('|').nth(2).unwrap_or("").split_whitespace())
            .collect();
        prop_assert_eq!(shown.join(" "), text);
    }
}
