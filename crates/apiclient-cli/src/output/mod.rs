//! Output as cliff (python-openstackclient's framework) prints it: the
//! formats `table`, `json`, `yaml`, `csv`, `value` and `shell`, `-c`
//! columns, `--sort-column`, the table's `--max-width`/`--fit-width`; the
//! stdout macros and the length limit of a server-controlled value.
//!
//! A command hands over its data (a [`ShowOne`] or a [`Listing`] of
//! [`Cell`]s, as a cliff command's `take_action` returns it) and
//! [`OutputArgs`] renders it. Safety is the formatter's, in every format:
//! the text formats (table, value, csv, shell) escape control characters
//! and cut a value at [`MAX_DISPLAY_CHARS`]; json and yaml keep the
//! values exact and are ASCII (everything else escaped by the encoder).

pub mod pyfmt;
pub mod table;
pub mod yaml;

use std::cmp::Ordering;
use std::io::IsTerminal;

use serde_json::{Map, Value};

use self::pyfmt::{CsvField, Quote, py_str, repr_str};
use self::table::Align;

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

/// A server-controlled string made safe for a table or value cell: control
/// characters (newlines included) escaped, over-long values cut with `…`.
pub fn safe(s: &str) -> String {
    apiclient_errors::redact::display_safe(s, MAX_DISPLAY_CHARS).into_owned()
}

/// `-f/--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A bordered table.
    Table,
    /// JSON (indented; ASCII, everything else escaped).
    Json,
    /// YAML (as PyYAML writes it).
    Yaml,
    /// CSV, a header line first (lists only).
    Csv,
    /// Values only, one row per line.
    Value,
    /// `name="value"` lines a shell can `eval` (single objects only).
    Shell,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Yaml => "yaml",
            Format::Csv => "csv",
            Format::Value => "value",
            Format::Shell => "shell",
        }
    }
}

/// What a command prints, as cliff's command classes: one object
/// (`ShowOne`), a list (`Lister`), or one object's fields with details
/// (`ShowOneWithDetails`: list formats, `-c` picks fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    One,
    List,
    Details,
}

impl Kind {
    /// The formats cliff offers this kind, sorted as argparse lists them.
    fn formats(self) -> &'static [Format] {
        match self {
            Kind::One => &[
                Format::Json,
                Format::Shell,
                Format::Table,
                Format::Value,
                Format::Yaml,
            ],
            Kind::List | Kind::Details => &[
                Format::Csv,
                Format::Json,
                Format::Table,
                Format::Value,
                Format::Yaml,
            ],
        }
    }
}

/// `--max-width` (and `CLIFF_MAX_TERM_WIDTH`): an integer; empty is 0,
/// no maximum.
fn parse_max_width(s: &str) -> Result<i64, String> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(0);
    }
    t.parse().map_err(|_| format!("'{s}' is not an integer"))
}

/// What the user typed does not fit the command (a format it does not
/// offer, no column it knows): a usage error, before anything is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

/// The output options, cliff's (global: any command that prints data
/// takes them; one that does not offer an option refuses it).
#[derive(Debug, Clone, clap::Args)]
pub struct OutputArgs {
    /// The output format: table, json, yaml, value, and csv for lists or
    /// shell for single objects.
    #[arg(short = 'f', long, value_enum, default_value_t = Format::Table, global = true,
          help_heading = "Output formatters")]
    pub format: Format,

    /// A column to include (repeatable; case-insensitive, `_` for a space;
    /// shown in the command's order).
    #[arg(
        short = 'c',
        long = "column",
        value_name = "COLUMN",
        global = true,
        help_heading = "Output formatters"
    )]
    pub columns: Vec<String>,

    /// JSON on one line (-f json).
    #[arg(long, global = true, help_heading = "Output formatters")]
    pub noindent: bool,

    /// A prefix for every variable name (-f shell).
    #[arg(
        long,
        value_name = "PREFIX",
        global = true,
        help_heading = "Output formatters"
    )]
    pub prefix: Option<String>,

    /// The table's maximum width, <1 for none.
    #[arg(
        long,
        value_name = "INTEGER",
        env = "CLIFF_MAX_TERM_WIDTH",
        global = true,
        allow_negative_numbers = true,
        value_parser = parse_max_width,
        help_heading = "Output formatters"
    )]
    pub max_width: Option<i64>,

    /// Fit the table to the terminal's width (a terminal gets that anyway;
    /// implied by --max-width).
    #[arg(
        long,
        env = "CLIFF_FIT_WIDTH",
        global = true,
        value_parser = clap::builder::FalseyValueParser::new(),
        help_heading = "Output formatters"
    )]
    pub fit_width: bool,

    /// Print a table's header when there is no row.
    #[arg(long, global = true, help_heading = "Output formatters")]
    pub print_empty: bool,

    /// A column to sort a list by (repeatable, the first one first;
    /// case-insensitive, `_` for a space; unknown ones ignored).
    #[arg(
        long = "sort-column",
        value_name = "SORT_COLUMN",
        global = true,
        help_heading = "Output formatters"
    )]
    pub sort_columns: Vec<String>,

    /// Sort in ascending order (the default).
    #[arg(
        long,
        global = true,
        conflicts_with = "sort_descending",
        help_heading = "Output formatters"
    )]
    pub sort_ascending: bool,

    /// Sort in descending order.
    #[arg(long, global = true, help_heading = "Output formatters")]
    pub sort_descending: bool,

    /// When -f csv quotes a field: all, minimal, nonnumeric (the default), none.
    #[arg(
        long,
        value_enum,
        value_name = "QUOTE",
        global = true,
        help_heading = "Output formatters"
    )]
    pub quote: Option<Quote>,

    /// The terminal, as a test states it: `Some(width)` (`Some(None)`: not
    /// a terminal); `None` looks at stdout.
    #[arg(skip)]
    pub terminal: Option<Option<usize>>,
}

impl Default for OutputArgs {
    fn default() -> Self {
        OutputArgs {
            format: Format::Table,
            columns: Vec::new(),
            noindent: false,
            prefix: None,
            max_width: None,
            fit_width: false,
            print_empty: false,
            sort_columns: Vec::new(),
            sort_ascending: false,
            sort_descending: false,
            quote: None,
            terminal: None,
        }
    }
}

/// One value of a command's output, as cliff gets it from `take_action`.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A plain value: a string, a number, a bool, None, or a list or dict
    /// (printed as Python's `str()` of it in the text formats).
    Plain(Value),
    /// A cliff `FormattableColumn`: lines for a table, a value for the
    /// other formats (python-openstackclient's endpoints column).
    Formatted {
        /// The table's lines (each made safe when drawn).
        human: Vec<String>,
        /// The value json, yaml, csv and value print.
        machine: Value,
    },
}

impl Cell {
    /// A string.
    pub fn text(s: impl Into<String>) -> Self {
        Cell::Plain(Value::String(s.into()))
    }

    /// A string or Python's None.
    pub fn opt(s: Option<impl Into<String>>) -> Self {
        match s {
            Some(s) => Cell::text(s),
            None => Cell::Plain(Value::Null),
        }
    }

    fn machine(&self) -> &Value {
        match self {
            Cell::Plain(v) => v,
            Cell::Formatted { machine, .. } => machine,
        }
    }

    /// The table's text: the lines of a formatted cell, else `str()`;
    /// every line made safe.
    fn table_text(&self) -> String {
        match self {
            Cell::Plain(v) => safe(&py_str(v)),
            Cell::Formatted { human, .. } => {
                human.iter().map(|l| safe(l)).collect::<Vec<_>>().join("\n")
            }
        }
    }

    /// The value/shell text: `str()` of the value, made safe.
    fn value_text(&self) -> String {
        safe(&py_str(self.machine()))
    }

    fn csv_field(&self) -> CsvField {
        match self {
            Cell::Plain(Value::Null) => CsvField::Null,
            Cell::Plain(v @ (Value::Number(_) | Value::Bool(_))) => CsvField::Number(py_str(v)),
            other => CsvField::Text(other.value_text()),
        }
    }

    /// cliff's alignment of a column from its first row: numbers right.
    fn align(&self) -> Align {
        match self {
            Cell::Plain(Value::Number(_)) => Align::Right,
            _ => Align::Left,
        }
    }
}

/// A single object's fields, in order.
#[derive(Debug, Clone, Default)]
pub struct ShowOne {
    pub fields: Vec<(String, Cell)>,
}

impl ShowOne {
    /// Add a field.
    pub fn field(mut self, name: impl Into<String>, cell: Cell) -> Self {
        self.fields.push((name.into(), cell));
        self
    }
}

/// Columns and rows (a list, or a details object whose rows start with
/// the field's name).
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Listing {
    /// A listing with these columns and no rows yet.
    pub fn new(columns: &[&str]) -> Self {
        Listing {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: Vec::new(),
        }
    }
}

/// cliff's `_normalize_column_name`.
fn normalize(name: &str) -> String {
    name.to_lowercase().trim().replace(' ', "_")
}

/// A Python list or tuple of strings, as `str()` shows it.
fn py_seq(items: &[String], tuple: bool) -> String {
    let inner: Vec<String> = items.iter().map(|s| repr_str(s)).collect();
    if tuple {
        if inner.len() == 1 {
            format!("({},)", inner[0])
        } else {
            format!("({})", inner.join(", "))
        }
    } else {
        format!("[{}]", inner.join(", "))
    }
}

/// Python's equality of two values (numbers across int, float and bool).
fn py_eq(a: &Value, b: &Value) -> bool {
    match (num(a), num(b)) {
        (Some(x), Some(y)) => x == y,
        _ => match (a, b) {
            (Value::Array(x), Value::Array(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(p, q)| py_eq(p, q))
            }
            (Value::Object(x), Value::Object(y)) => {
                x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| py_eq(v, w)))
            }
            _ => a == b,
        },
    }
}

fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
}

/// Python's `<` as an ordering; None where Python raises TypeError.
fn py_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (num(a), num(b)) {
        return x.partial_cmp(&y);
    }
    match (a, b) {
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Array(x), Value::Array(y)) => {
            for (p, q) in x.iter().zip(y) {
                if !py_eq(p, q) {
                    return py_cmp(p, q);
                }
            }
            Some(x.len().cmp(&y.len()))
        }
        _ if py_eq(a, b) => Some(Ordering::Equal),
        _ => None,
    }
}

/// The sort key of cliff's Lister: `(value is None, value)`.
fn key_cmp(a: &Cell, b: &Cell) -> Option<Ordering> {
    let (x, y) = (a.machine(), b.machine());
    let none = |c: &Cell| matches!(c, Cell::Plain(Value::Null));
    match (none(a), none(b)) {
        (true, true) => Some(Ordering::Equal),
        (false, true) => Some(Ordering::Less),
        (true, false) => Some(Ordering::Greater),
        (false, false) => py_cmp(x, y),
    }
}

/// The terminal's width, when stdout is one (cliff: `os.get_terminal_size()`).
#[cfg(unix)]
fn terminal_width() -> Option<usize> {
    let stdout = std::io::stdout();
    if !stdout.is_terminal() {
        return None;
    }
    rustix::termios::tcgetwinsize(&stdout)
        .ok()
        .map(|w| usize::from(w.ws_col))
        .filter(|w| *w > 0)
}

#[cfg(not(unix))]
fn terminal_width() -> Option<usize> {
    None
}

impl OutputArgs {
    /// Refuse, before anything is sent, what a command of `kind` does not
    /// offer: a format (argparse's words), or an option of another kind.
    pub fn check(&self, kind: Kind) -> Result<(), UsageError> {
        let formats = kind.formats();
        if !formats.contains(&self.format) {
            let choices: Vec<String> = formats.iter().map(|f| repr_str(f.name())).collect();
            return Err(UsageError(format!(
                "argument -f/--format: invalid choice: {} (choose from {})",
                repr_str(self.format.name()),
                choices.join(", ")
            )));
        }
        let mut refused = Vec::new();
        if kind != Kind::One && self.prefix.is_some() {
            refused.push("--prefix");
        }
        if kind == Kind::One && self.quote.is_some() {
            refused.push("--quote");
        }
        if kind != Kind::List {
            if !self.sort_columns.is_empty() {
                refused.push("--sort-column");
            }
            if self.sort_ascending {
                refused.push("--sort-ascending");
            }
            if self.sort_descending {
                refused.push("--sort-descending");
            }
        }
        if !refused.is_empty() {
            return Err(UsageError(format!(
                "unrecognized arguments: {}",
                refused.join(" ")
            )));
        }
        if let Some(p) = &self.prefix {
            let ident = p.chars().next().is_none_or(|c| !c.is_ascii_digit())
                && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ident {
                return Err(UsageError(format!(
                    "--prefix {}: a shell variable name's start is letters, digits and '_', not a digit first",
                    repr_str(p)
                )));
            }
        }
        Ok(())
    }

    /// cliff's `_generate_columns_and_selector`: which of `names` `-c`
    /// picks, in their own order; none known is an error.
    fn select(&self, names: &[String], tuple: bool) -> Result<Option<Vec<bool>>, UsageError> {
        if self.columns.is_empty() {
            return Ok(None);
        }
        let requested: Vec<String> = self.columns.iter().map(|c| normalize(c)).collect();
        let picked: Vec<bool> = names
            .iter()
            .map(|n| requested.contains(&normalize(n)))
            .collect();
        if !picked.contains(&true) {
            return Err(UsageError(format!(
                "No recognized column names in {}. Recognized columns are {}.",
                py_seq(&self.columns, false),
                py_seq(names, tuple)
            )));
        }
        Ok(Some(picked))
    }

    /// The columns' widest lines, as cliff chooses them for the terminal
    /// (or --max-width); `min_width` is cliff's floor (8 for lists, 16 for
    /// a single object).
    fn max_widths(
        &self,
        headers: &[String],
        rows: &[Vec<String>],
        min_width: usize,
    ) -> Vec<Option<usize>> {
        let max_width = self.max_width.unwrap_or(0);
        let (is_terminal, width) = match self.terminal {
            Some(w) => (w.is_some(), w),
            None => (std::io::stdout().is_terminal(), None),
        };
        let term = if max_width > 0 {
            usize::try_from(max_width).ok()
        } else if !(self.fit_width || is_terminal) {
            None
        } else if self.terminal.is_some() {
            width
        } else {
            terminal_width()
        };
        match term {
            Some(t) => table::fit(headers, rows, t, min_width),
            None => vec![None; headers.len()],
        }
    }

    fn table(
        &self,
        headers: Vec<String>,
        rows: Vec<Vec<String>>,
        align: Vec<Align>,
        min_width: usize,
    ) -> String {
        let max = self.max_widths(&headers, &rows, min_width);
        format!(
            "{}\n",
            table::render(&headers, &rows, &align, &max, self.print_empty)
        )
    }

    /// Render a single object (cliff's `ShowOne`).
    pub fn show(&self, one: &ShowOne) -> Result<String, UsageError> {
        self.check(Kind::One)?;
        let names: Vec<String> = one.fields.iter().map(|(n, _)| n.clone()).collect();
        let fields: Vec<&(String, Cell)> = match self.select(&names, true)? {
            Some(picked) => one
                .fields
                .iter()
                .zip(picked)
                .filter(|(_, p)| *p)
                .map(|(f, _)| f)
                .collect(),
            None => one.fields.iter().collect(),
        };
        Ok(match self.format {
            Format::Table => {
                let rows: Vec<Vec<String>> = fields
                    .iter()
                    .map(|(n, c)| vec![safe(n), c.table_text()])
                    .collect();
                self.table(
                    vec!["Field".into(), "Value".into()],
                    rows,
                    vec![Align::Left, Align::Left],
                    16,
                )
            }
            Format::Json => {
                let pairs: Vec<(String, Value)> = fields
                    .iter()
                    .map(|(n, c)| (n.clone(), c.machine().clone()))
                    .collect();
                format!("{}\n", pyfmt::json_object(&pairs, !self.noindent))
            }
            Format::Yaml => fields
                .iter()
                .map(|(n, c)| {
                    let mut m = Map::new();
                    m.insert(n.clone(), c.machine().clone());
                    yaml::dump(&Value::Object(m))
                })
                .collect(),
            Format::Value => fields
                .iter()
                .map(|(_, c)| format!("{}\n", c.value_text()))
                .collect(),
            Format::Shell => {
                let prefix = self.prefix.as_deref().unwrap_or("");
                fields
                    .iter()
                    .map(|(n, c)| {
                        let name = n.to_lowercase().replace([' ', ':', '-'], "_");
                        format!(
                            "{prefix}{}=\"{}\"\n",
                            safe(&name),
                            shell_escape(&c.value_text())
                        )
                    })
                    .collect()
            }
            Format::Csv => String::new(),
        })
    }

    /// Render a list (cliff's `Lister`): sorted, then the columns picked.
    pub fn list(&self, listing: &Listing) -> Result<String, UsageError> {
        self.check(Kind::List)?;
        let mut rows: Vec<&Vec<Cell>> = listing.rows.iter().collect();
        self.sort(&listing.columns, &mut rows);
        let picked = self.select(&listing.columns, true)?;
        let keep = |i: usize| {
            picked
                .as_ref()
                .is_none_or(|p| p.get(i).copied().unwrap_or(false))
        };
        let columns: Vec<String> = listing
            .columns
            .iter()
            .enumerate()
            .filter(|(i, _)| keep(*i))
            .map(|(_, c)| c.clone())
            .collect();
        let rows: Vec<Vec<&Cell>> = rows
            .into_iter()
            .map(|r| {
                r.iter()
                    .enumerate()
                    .filter(|(i, _)| keep(*i))
                    .map(|(_, c)| c)
                    .collect()
            })
            .collect();
        Ok(self.emit_list(&columns, &rows))
    }

    /// Render one object's fields with details (cliff's
    /// `ShowOneWithDetails`): list formats, `-c` picks rows by field name.
    pub fn details(&self, listing: &Listing) -> Result<String, UsageError> {
        self.check(Kind::Details)?;
        let field_names: Vec<String> = listing
            .rows
            .iter()
            .map(|r| r.first().map(|c| py_str(c.machine())).unwrap_or_default())
            .collect();
        let picked = self.select(&field_names, false)?;
        let rows: Vec<Vec<&Cell>> = listing
            .rows
            .iter()
            .enumerate()
            .filter(|(i, _)| {
                picked
                    .as_ref()
                    .is_none_or(|p| p.get(*i).copied().unwrap_or(false))
            })
            .map(|(_, r)| r.iter().collect())
            .collect();
        Ok(self.emit_list(&listing.columns, &rows))
    }

    /// cliff's Lister sort: by each --sort-column, the last one first, so
    /// the first one decides (stable); Nones last; types Python cannot
    /// compare leave the rows as they are, with a warning.
    fn sort(&self, columns: &[String], rows: &mut Vec<&Vec<Cell>>) {
        let normalized: Vec<String> = columns.iter().map(|c| normalize(c)).collect();
        let indexes: Vec<usize> = self
            .sort_columns
            .iter()
            .filter_map(|s| {
                columns
                    .iter()
                    .position(|c| c == s)
                    .or_else(|| normalized.iter().position(|c| *c == normalize(s)))
            })
            .collect();
        let descending = self.sort_descending;
        for &index in indexes.iter().rev() {
            let mut failed = false;
            let mut sorted = rows.clone();
            sorted.sort_by(|a, b| {
                let (x, y) = (a.get(index), b.get(index));
                let ord = match (x, y) {
                    (Some(x), Some(y)) => key_cmp(x, y),
                    _ => Some(Ordering::Equal),
                };
                let ord = ord.unwrap_or_else(|| {
                    failed = true;
                    Ordering::Equal
                });
                if descending { ord.reverse() } else { ord }
            });
            if failed {
                tracing::warn!(
                    "Could not sort on field '{}'; unsortable types",
                    safe(&columns[index])
                );
            } else {
                *rows = sorted;
            }
        }
    }

    fn emit_list(&self, columns: &[String], rows: &[Vec<&Cell>]) -> String {
        match self.format {
            Format::Table => {
                let align: Vec<Align> = match rows.first() {
                    Some(first) => first.iter().map(|c| c.align()).collect(),
                    None => vec![Align::Center; columns.len()],
                };
                let text: Vec<Vec<String>> = rows
                    .iter()
                    .map(|r| r.iter().map(|c| c.table_text()).collect())
                    .collect();
                let headers: Vec<String> = columns.iter().map(|c| safe(c)).collect();
                self.table(headers, text, align, 8)
            }
            Format::Json => {
                let items: Vec<Value> = rows
                    .iter()
                    .map(|r| {
                        Value::Object(
                            columns
                                .iter()
                                .cloned()
                                .zip(r.iter().map(|c| c.machine().clone()))
                                .collect(),
                        )
                    })
                    .collect();
                format!("{}\n", pyfmt::json(&Value::Array(items), !self.noindent))
            }
            Format::Yaml => {
                let items: Vec<Value> = rows
                    .iter()
                    .map(|r| {
                        Value::Object(
                            columns
                                .iter()
                                .cloned()
                                .zip(r.iter().map(|c| c.machine().clone()))
                                .collect(),
                        )
                    })
                    .collect();
                yaml::dump(&Value::Array(items))
            }
            Format::Csv => {
                let quote = self.quote.unwrap_or(Quote::Nonnumeric);
                let header: Vec<CsvField> =
                    columns.iter().map(|c| CsvField::Text(safe(c))).collect();
                let mut out = pyfmt::csv_row(&header, quote);
                for r in rows {
                    let fields: Vec<CsvField> = r.iter().map(|c| c.csv_field()).collect();
                    out.push_str(&pyfmt::csv_row(&fields, quote));
                }
                out
            }
            Format::Value => rows
                .iter()
                .map(|r| {
                    let cells: Vec<String> = r.iter().map(|c| c.value_text()).collect();
                    format!("{}\n", cells.join(" "))
                })
                .collect(),
            Format::Shell => String::new(),
        }
    }
}

/// A value inside a shell's double quotes: `\`, `"`, `$` and `` ` `` lose
/// their meaning (cliff escapes only `"`: its output is not safe to eval).
fn shell_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | '"' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A plain left-aligned table of safe cells (the `--timing` table on
/// stderr), with its final newline.
pub fn plain_table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let headers: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
    let align = vec![Align::Left; headers.len()];
    let max = vec![None; headers.len()];
    format!("{}\n", table::render(&headers, rows, &align, &max, true))
}

#[cfg(test)]
mod tests;
