//! Python's text forms of the values cliff prints, byte for byte: `str()`
//! and `repr()` (the `value`, `csv` and `shell` formats print `str()` of a
//! cell; a list or dict shows as its `repr()`), `json.dump` with
//! `ensure_ascii` (the `json` format) and the `csv` module's writer (the
//! `csv` format).

use serde_json::{Map, Number, Value};

/// Whether Python's `str.isprintable()` holds for `c`: not a control,
/// format, private-use or separator character (the space excepted).
/// Unassigned code points (Python: not printable) are taken as printable.
fn is_printable(c: char) -> bool {
    let u = c as u32;
    if c == ' ' {
        return true;
    }
    if c.is_control() {
        return false;
    }
    !matches!(u,
        // separators: Zs (but the space), Zl, Zp
        0xa0 | 0x1680 | 0x2000..=0x200a | 0x2028 | 0x2029 | 0x202f | 0x205f | 0x3000
        // format characters (Cf)
        | 0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x890..=0x891 | 0x8e2 | 0x180e
        | 0x200b..=0x200f | 0x202a..=0x202e | 0x2060..=0x2064 | 0x2066..=0x206f | 0xfeff
        | 0xfff9..=0xfffb | 0x110bd | 0x110cd | 0x13430..=0x1343f | 0x1bca0..=0x1bca3
        | 0x1d173..=0x1d17a | 0xe0001 | 0xe0020..=0xe007f
        // private use (Co) and noncharacters
        | 0xe000..=0xf8ff | 0xf0000..=0xffffd | 0x100000..=0x10fffd | 0xfdd0..=0xfdef
    ) && (u & 0xfffe) != 0xfffe
}

/// Python's `repr()` of a `str`: single quotes unless the text holds a
/// single quote and no double quote; backslash, the quote, `\t`, `\n`,
/// `\r` and every character that is not printable escaped.
pub fn repr_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if (c as u32) < 0x7f || is_printable(c) => out.push(c),
            c if (c as u32) <= 0xff => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) <= 0xffff => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push(quote);
    out
}

/// Python's `repr()` of a float: the shortest text that reads back, with
/// an exponent from 1e16 up and below 1e-4, `inf`, `nan`.
fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-4..1e16).contains(&abs) {
        // Rust's `{:e}` is the shortest digits too: 1e16 → "1e16", Python "1e+16"
        let s = format!("{f:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let (sign, digits) = match exp.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exp),
        };
        return format!("{mantissa}e{sign}{digits:0>2}");
    }
    let s = format!("{f}");
    if s.contains('.') { s } else { format!("{s}.0") }
}

/// A JSON number as Python prints it (`int`, or `float`'s repr).
fn number(n: &Number) -> String {
    if n.is_f64() {
        n.as_f64().map(float_repr).unwrap_or_else(|| n.to_string())
    } else {
        n.to_string()
    }
}

/// Python's `str()` of a value: a string as it is, `None`, `True`,
/// `False`, numbers, and a list or dict as its `repr()`.
pub fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

/// Python's `repr()` of a value (a JSON object is a dict, in its order).
pub fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => number(n),
        Value::String(s) => repr_str(s),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(py_repr).collect();
            format!("[{}]", inner.join(", "))
        }
        Value::Object(m) => {
            let inner: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}: {}", repr_str(k), py_repr(v)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
    }
}

/// A string as `json.dump` writes it with `ensure_ascii` (the default):
/// only printable ASCII as is, everything else `\uXXXX` (DEL included).
fn json_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
        }
    }
    out.push('"');
}

fn json_into(v: &Value, indent: Option<usize>, level: usize, out: &mut String) {
    let newline = |out: &mut String, level: usize| {
        if let Some(step) = indent {
            out.push('\n');
            out.push_str(&" ".repeat(step * level));
        }
    };
    let item_sep = if indent.is_some() { "," } else { ", " };
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&match n.as_f64() {
            Some(f) if n.is_f64() && f.is_nan() => "NaN".into(),
            Some(f) if n.is_f64() && f.is_infinite() => {
                if f > 0.0 { "Infinity" } else { "-Infinity" }.into()
            }
            _ => number(n),
        }),
        Value::String(s) => json_str(s, out),
        Value::Array(items) if items.is_empty() => out.push_str("[]"),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(out, level + 1);
                json_into(item, indent, level + 1, out);
            }
            newline(out, level);
            out.push(']');
        }
        Value::Object(m) if m.is_empty() => out.push_str("{}"),
        Value::Object(m) => {
            out.push('{');
            for (i, (k, item)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(out, level + 1);
                json_str(k, out);
                out.push_str(": ");
                json_into(item, indent, level + 1, out);
            }
            newline(out, level);
            out.push('}');
        }
    }
}

/// `json.dumps(v, indent=2)` (or `indent=None` for `--noindent`), ASCII
/// only: what cliff's JSON formatter writes, before its newline.
pub fn json(v: &Value, indent: bool) -> String {
    let mut out = String::new();
    json_into(v, indent.then_some(2), 0, &mut out);
    out
}

/// `json` of an object given as ordered pairs.
pub fn json_object(pairs: &[(String, Value)], indent: bool) -> String {
    let m: Map<String, Value> = pairs.iter().cloned().collect();
    json(&Value::Object(m), indent)
}

/// The `csv` module's quoting modes (`--quote`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Quote {
    /// Quote every field.
    All,
    /// Quote fields with a comma or a quote.
    Minimal,
    /// Quote every field but numbers (the default).
    Nonnumeric,
    /// Quote nothing; escape commas and quotes with a backslash.
    None,
}

/// One field for the `csv` writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CsvField {
    /// A Python `str`.
    Text(String),
    /// A number or a bool (`str()` of it): never quoted but with `all`.
    Number(String),
    /// Python's `None`: an empty field.
    Null,
}

/// One row as `csv.writer(quoting=..., lineterminator="\n",
/// escapechar="\\")` writes it (Python 3.11), with its line end.
pub fn csv_row(fields: &[CsvField], quote: Quote) -> String {
    let mut out = String::new();
    let single = fields.len() == 1;
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let (text, numeric) = match f {
            CsvField::Text(s) => (s.as_str(), false),
            CsvField::Number(s) => (s.as_str(), true),
            CsvField::Null => ("", false),
        };
        let mut quoted = match quote {
            Quote::All => true,
            Quote::Nonnumeric => !numeric,
            Quote::Minimal | Quote::None => false,
        };
        let mut body = String::with_capacity(text.len());
        for c in text.chars() {
            match (c, quote) {
                ('"' | ',' | '\\' | '\n', Quote::None) => {
                    body.push('\\');
                    body.push(c);
                }
                ('"', _) => {
                    body.push_str("\"\"");
                    quoted = true;
                }
                ('\\', _) => body.push_str("\\\\"),
                (',' | '\n', _) => {
                    body.push(c);
                    quoted = true;
                }
                (c, _) => body.push(c),
            }
        }
        // a record of one empty field is written quoted (Python refuses it
        // without quoting; it is an empty line here)
        if single && text.is_empty() && quote != Quote::None {
            quoted = true;
        }
        if quoted {
            out.push('"');
            out.push_str(&body);
            out.push('"');
        } else {
            out.push_str(&body);
        }
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reprs_as_python() {
        assert_eq!(repr_str("a'b"), "\"a'b\"");
        assert_eq!(repr_str("a'b\""), "'a\\'b\"'");
        assert_eq!(
            repr_str("tab\tnl\n\u{1b}\u{7f}\u{85}é東\u{202e}"),
            "'tab\\tnl\\n\\x1b\\x7f\\x85é東\\u202e'"
        );
        assert_eq!(repr_str("\u{e0001}"), "'\\U000e0001'");
        assert_eq!(
            py_repr(&json!([{"a": null, "b": true}, 1, -2.5, "x"])),
            "[{'a': None, 'b': True}, 1, -2.5, 'x']"
        );
        assert_eq!(py_str(&json!("plain")), "plain");
        assert_eq!(float_repr(1e16), "1e+16");
        assert_eq!(float_repr(1.5e-5), "1.5e-05");
        assert_eq!(float_repr(3.0), "3.0");
        assert_eq!(float_repr(0.1), "0.1");
    }

    #[test]
    fn json_is_ascii_with_pythons_separators() {
        let v = json!({"a": ["é", 1], "b": {}, "c": []});
        assert_eq!(json(&v, false), r#"{"a": ["\u00e9", 1], "b": {}, "c": []}"#);
        assert_eq!(
            json(&v, true),
            "{\n  \"a\": [\n    \"\\u00e9\",\n    1\n  ],\n  \"b\": {},\n  \"c\": []\n}"
        );
        assert_eq!(json(&json!("😀\u{7f}"), false), r#""\ud83d\ude00\u007f""#);
    }

    #[test]
    fn csv_as_pythons_writer() {
        let row = [
            CsvField::Text("a\"b".into()),
            CsvField::Text("c,d".into()),
            CsvField::Text("e\\f".into()),
            CsvField::Text(String::new()),
            CsvField::Null,
            CsvField::Number("5".into()),
        ];
        assert_eq!(
            csv_row(&row, Quote::Nonnumeric),
            "\"a\"\"b\",\"c,d\",\"e\\\\f\",\"\",\"\",5\n"
        );
        assert_eq!(
            csv_row(&row, Quote::Minimal),
            "\"a\"\"b\",\"c,d\",e\\\\f,,,5\n"
        );
        assert_eq!(
            csv_row(&row, Quote::All),
            "\"a\"\"b\",\"c,d\",\"e\\\\f\",\"\",\"\",\"5\"\n"
        );
        assert_eq!(csv_row(&row, Quote::None), "a\\\"b,c\\,d,e\\\\f,,,5\n");
        assert_eq!(csv_row(&[CsvField::Null], Quote::Minimal), "\"\"\n");
    }
}
