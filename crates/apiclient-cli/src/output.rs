//! Output formats: table (as python-openstackclient draws it), json, value;
//! the stdout macros and the length limit of a server-controlled value.

use serde_json::{Map, Value};

/// `print!` to stdout, ending the process quietly (exit 0) when the reader
/// has gone (`apiclient ... | head`): a closed pipe is not an error to panic on.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::write_stdout(format_args!($($arg)*))
    };
}

/// `println!` as [`out!`] does it.
macro_rules! outln {
    () => { out!("\n") };
    ($($arg:tt)*) => {{
        out!($($arg)*);
        out!("\n");
    }};
}

/// Write to stdout; a broken pipe ends the process with success.
pub fn write_stdout(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args)
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(0);
    }
}

/// The longest server-controlled value printed as is; longer ones are cut
/// with an ellipsis.
pub const MAX_DISPLAY_CHARS: usize = 4096;

/// `-f/--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A bordered table.
    Table,
    /// JSON (pretty).
    Json,
    /// Values only, one row per line.
    Value,
}

/// A server-controlled string made safe for a table or value cell: control
/// characters (newlines included) escaped, over-long values cut with `…`.
pub fn safe(s: &str) -> String {
    apiclient_errors::redact::display_safe(s, MAX_DISPLAY_CHARS).into_owned()
}

/// A cell for table and value output. Strings are made [`safe`]; an array
/// of strings is a multi-line cell, one safe line per element.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => safe(s),
        Value::Array(lines) if lines.iter().all(Value::is_string) => lines
            .iter()
            .filter_map(Value::as_str)
            .map(safe)
            .collect::<Vec<_>>()
            .join("\n"),
        other => safe(&other.to_string()),
    }
}

/// Draw a table with multi-line cells. The cells are the caller's: server
/// strings in them must already be [`safe`].
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, c) in row.iter().enumerate() {
            for line in c.lines() {
                widths[i] = widths[i].max(line.chars().count());
            }
        }
    }
    let sep = format!(
        "+{}+\n",
        widths
            .iter()
            .map(|w| "-".repeat(w + 2))
            .collect::<Vec<_>>()
            .join("+")
    );
    let line = |cells: &[&str]| -> String {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!(" {c}{} ", " ".repeat(w - c.chars().count())))
            .collect();
        format!("|{}|\n", parts.join("|"))
    };
    let mut out = sep.clone();
    out.push_str(&line(headers));
    out.push_str(&sep);
    for row in rows {
        let split: Vec<Vec<&str>> = row
            .iter()
            .map(|c| {
                if c.is_empty() {
                    vec![""]
                } else {
                    c.lines().collect()
                }
            })
            .collect();
        let height = split.iter().map(Vec::len).max().unwrap_or(1);
        for i in 0..height {
            let cells: Vec<&str> = split
                .iter()
                .map(|s| s.get(i).copied().unwrap_or(""))
                .collect();
            out.push_str(&line(&cells));
        }
    }
    out.push_str(&sep);
    out
}

/// A single object: `Field | Value` table, a JSON object, or the values.
pub fn show(fields: &Map<String, Value>, format: Format) -> String {
    match format {
        Format::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(fields).unwrap_or_default()
        ),
        Format::Value => fields.values().map(|v| format!("{}\n", cell(v))).collect(),
        Format::Table => {
            let rows: Vec<Vec<String>> = fields
                .iter()
                .map(|(k, v)| vec![k.clone(), cell(v)])
                .collect();
            table(&["Field", "Value"], &rows)
        }
    }
}

/// A list: a table with the columns, a JSON array of objects, or values.
/// `json_rows` are the objects for JSON (exact); `table_rows` the cells for
/// table/value, built from [`safe`] strings.
pub fn list(
    columns: &[&str],
    table_rows: &[Vec<String>],
    json_rows: Vec<Value>,
    format: Format,
) -> String {
    match format {
        Format::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&Value::Array(json_rows)).unwrap_or_default()
        ),
        Format::Value => table_rows
            .iter()
            .map(|r| format!("{}\n", r.join(" ")))
            .collect(),
        Format::Table => table(columns, table_rows),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Whatever the server's strings, table and value output never
        /// panic, carry no control character but the line breaks, and the
        /// table's lines are all equally wide.
        #[test]
        fn any_server_strings_make_safe_even_tables(
            cells in proptest::collection::vec(any::<String>(), 1..6),
            keys in proptest::collection::vec("[a-z_]{1,8}", 1..6),
        ) {
            let mut map = Map::new();
            for (k, v) in keys.iter().zip(cells.iter().cycle()) {
                map.insert(k.clone(), Value::String(v.clone()));
            }
            for format in [Format::Table, Format::Value] {
                let out = show(&map, format);
                prop_assert!(out.chars().all(|c| !c.is_control() || c == '\n'), "{:?}", out);
            }
            let table = show(&map, Format::Table);
            let widths: std::collections::BTreeSet<usize> =
                table.lines().map(|l| l.chars().count()).collect();
            prop_assert_eq!(widths.len(), 1, "{}", table);
            let rows: Vec<Vec<String>> = cells.iter().map(|c| vec![safe(c), safe(c)]).collect();
            let json_rows: Vec<Value> = cells.iter().map(|c| Value::String(c.clone())).collect();
            let json = list(&["A", "B"], &rows, json_rows.clone(), Format::Json);
            let back: Value = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back, Value::Array(json_rows), "-f json is exact");
            let values = list(&["A", "B"], &rows, Vec::new(), Format::Value);
            prop_assert_eq!(values.lines().count(), cells.len(), "one line per row");
        }
    }

    #[test]
    fn multi_line_cells() {
        let t = table(&["A", "B"], &[vec!["x".into(), "l1\n  l2".into()]]);
        assert_eq!(
            t,
            "+---+------+\n| A | B    |\n+---+------+\n| x | l1   |\n|   |   l2 |\n+---+------+\n"
        );
    }
}
