//! Tables as cliff draws them: prettytable's layout (one space of padding,
//! `+---+` rules, multi-line cells, display widths of wide characters),
//! cliff's choice of column widths for `--max-width`/`--fit-width`, and
//! wcwidth's wrapping of a line wider than its column (UAX #14 break
//! opportunities, long words broken, at a hyphen when one fits).

use unicode_linebreak::{BreakOpportunity, linebreaks};
use unicode_width::UnicodeWidthStr;

/// A column's alignment (cliff: numbers right, the rest left; prettytable's
/// default, centred, for a table without rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
    Center,
}

/// The cells' display width: East Asian wide characters count two,
/// combining and zero-width ones none (wcwidth's: a line or paragraph
/// separator is zero wide, a soft hyphen one).
pub fn width(s: &str) -> usize {
    let w = UnicodeWidthStr::width(s);
    if s.is_ascii() {
        return w;
    }
    let (mut less, mut more) = (0, 0);
    for c in s.chars() {
        match c {
            '\u{2028}' | '\u{2029}' => less += UnicodeWidthStr::width(c.encode_utf8(&mut [0; 4])),
            '\u{ad}' => more += 1,
            _ => {}
        }
    }
    (w + more).saturating_sub(less)
}

fn block_width(cell: &str) -> usize {
    cell.split('\n').map(width).max().unwrap_or(0)
}

fn justify(text: &str, w: usize, align: Align) -> String {
    let pad = w.saturating_sub(width(text));
    match align {
        Align::Left => format!("{text}{}", " ".repeat(pad)),
        Align::Right => format!("{}{text}", " ".repeat(pad)),
        Align::Center => {
            // str.center's rounding
            let left = pad / 2 + (pad & w & 1);
            format!("{}{text}{}", " ".repeat(left), " ".repeat(pad - left))
        }
    }
}

/// The natural width of each column: its header's or its widest line's.
fn natural_widths(headers: &[String], rows: &[Vec<String>]) -> Vec<usize> {
    let mut widths: Vec<usize> = headers.iter().map(|h| block_width(h)).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(block_width(cell));
        }
    }
    widths
}

/// cliff's `_assign_max_widths`: when the table is wider than
/// `term_width`, the columns wider than an equal share are shrunk to share
/// what the others leave, none below `min_width`.
pub fn fit(
    headers: &[String],
    rows: &[Vec<String>],
    term_width: usize,
    min_width: usize,
) -> Vec<Option<usize>> {
    let n = headers.len();
    let mut max = vec![None; n];
    if n == 0 || rows.is_empty() {
        return max;
    }
    let widths = natural_widths(headers, rows);
    let first_line = 1 + widths.iter().map(|w| w + 3).sum::<usize>();
    if first_line <= term_width {
        return max;
    }
    let usable = term_width.saturating_sub(1 + 3 * n);
    let optimal = usable / n;
    let mut shrink = Vec::new();
    let mut remaining = usable as isize;
    for (i, w) in widths.iter().enumerate() {
        if *w <= optimal {
            remaining -= *w as isize;
        } else {
            shrink.push(i);
        }
    }
    let Some((&last, others)) = shrink.split_last() else {
        return max;
    };
    let share = remaining.div_euclid(shrink.len() as isize);
    for &i in others {
        max[i] = Some(min_width.max(share.max(0) as usize));
        remaining -= share;
    }
    max[last] = Some(min_width.max(remaining.max(0) as usize));
    max
}

/// UAX #14's break opportunities in `line`, with Unicode 15.1's rule for a
/// solidus before a digit (wcwidth's): `/` keeps a digit only inside a
/// number (`1/2`), so `http://` may end a line before `127.0.0.1`.
fn break_points(line: &str) -> Vec<(usize, BreakOpportunity)> {
    let mut points: Vec<(usize, BreakOpportunity)> = linebreaks(line).collect();
    let bytes = line.as_bytes();
    for (i, pair) in bytes.windows(2).enumerate() {
        if pair[0] == b'/' && pair[1].is_ascii_digit() {
            let run = bytes[..=i]
                .iter()
                .rev()
                .take_while(|b| b.is_ascii_digit() || b"/,.:;".contains(b));
            let in_number = run.clone().any(u8::is_ascii_digit);
            if !in_number && !points.iter().any(|(p, _)| *p == i + 1) {
                points.push((i + 1, BreakOpportunity::Allowed));
            }
        }
    }
    points.sort_by_key(|(p, _)| *p);
    points
}

/// Where `line` may break (UAX #14): chunks that keep their break
/// character, a trailing run of spaces split off as its own chunk.
fn chunks(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (end, op) in break_points(line) {
        if end <= start {
            continue;
        }
        let chunk = &line[start..end];
        if op == BreakOpportunity::Mandatory && end != line.len() {
            // a break inside a cell line cannot happen (cells are split on
            // newlines and escaped), but keep the text whole if it does
            out.push(chunk);
        } else {
            let body = chunk.trim_end_matches(char::is_whitespace);
            if !body.is_empty() && body.len() < chunk.len() {
                out.push(body);
                out.push(&chunk[body.len()..]);
            } else {
                out.push(chunk);
            }
        }
        start = end;
    }
    if start < line.len() {
        out.push(&line[start..]);
    }
    out
}

/// The longest prefix of `s` (in bytes) at most `max` columns wide.
fn prefix_within(s: &str, max: usize) -> usize {
    let mut w = 0;
    for (i, c) in s.char_indices() {
        let cw = width(c.encode_utf8(&mut [0; 4]));
        if w + cw > max {
            return i;
        }
        w += cw;
    }
    s.len()
}

fn is_blank(s: &str) -> bool {
    !s.is_empty() && s.trim().is_empty()
}

/// wcwidth's `wrap(line, w)`: greedy lines of whole chunks; a chunk wider
/// than a line fills the rest of the line, cut at its last hyphen that
/// fits, else at the width; spaces dropped at the ends of lines.
pub fn wrap(line: &str, w: usize) -> Vec<String> {
    let w = w.max(1);
    let mut rev: Vec<String> = chunks(line).into_iter().rev().map(str::to_string).collect();
    let mut lines: Vec<String> = Vec::new();
    while !rev.is_empty() {
        if !lines.is_empty() && rev.last().is_some_and(|c| is_blank(c)) {
            rev.pop();
        }
        let mut cur: Vec<String> = Vec::new();
        let mut cur_w = 0;
        while let Some(chunk) = rev.last() {
            let cw = width(chunk);
            if cur_w + cw <= w {
                cur_w += cw;
                if let Some(c) = rev.pop() {
                    cur.push(c);
                }
            } else {
                break;
            }
        }
        if let Some(chunk) = rev.last_mut()
            && width(chunk) > w
        {
            let space_left = w - cur_w;
            let fits = prefix_within(chunk, space_left);
            let hyphen = chunk[..fits]
                .rfind('-')
                .filter(|&h| h > 0 && chunk[..h].chars().any(|c| c != '-'));
            let mut end = match hyphen {
                Some(h) => h + 1,
                None => fits,
            };
            if cur.is_empty() && end == 0 {
                end = chunk.chars().next().map_or(chunk.len(), char::len_utf8);
            }
            cur.push(chunk[..end].to_string());
            *chunk = chunk[end..].to_string();
            if chunk.is_empty() {
                rev.pop();
            }
        }
        if cur.last().is_some_and(|c| is_blank(c)) {
            cur.pop();
        }
        let text = cur.concat();
        let text = text.trim_end();
        if !text.is_empty() {
            lines.push(text.to_string());
        }
    }
    lines
}

/// prettytable's `get_string()`: the table without its final newline; ""
/// for a table without rows unless `print_empty`. `cells` hold their lines
/// separated by `\n`; `max_widths` bound columns (their header excepted),
/// wrapping longer lines.
pub fn render(
    headers: &[String],
    rows: &[Vec<String>],
    align: &[Align],
    max_widths: &[Option<usize>],
    print_empty: bool,
) -> String {
    if rows.is_empty() && !print_empty {
        return String::new();
    }
    let mut widths: Vec<usize> = headers.iter().map(|h| block_width(h)).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(widths.len()) {
            let size = block_width(cell);
            widths[i] = match max_widths.get(i).copied().flatten() {
                Some(m) => widths[i].max(size.min(m)),
                None => widths[i].max(size),
            };
        }
    }
    let align_of = |i: usize| align.get(i).copied().unwrap_or(Align::Center);
    let hrule = format!(
        "+{}",
        widths
            .iter()
            .map(|w| format!("{}+", "-".repeat(w + 2)))
            .collect::<String>()
    );
    let mut lines = vec![hrule.clone()];
    let header_line: String = headers
        .iter()
        .enumerate()
        .map(|(i, h)| format!(" {} |", justify(h, widths[i], align_of(i))))
        .collect();
    lines.push(format!("|{header_line}"));
    lines.push(hrule.clone());
    for row in rows {
        let cells: Vec<Vec<String>> = row
            .iter()
            .enumerate()
            .take(widths.len())
            .map(|(i, cell)| {
                cell.split('\n')
                    .flat_map(|line| {
                        if width(line) > widths[i] {
                            wrap(line, widths[i])
                        } else {
                            vec![line.to_string()]
                        }
                    })
                    .collect()
            })
            .collect();
        let height = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
        for y in 0..height {
            let line: String = cells
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let text = c.get(y).map(String::as_str).unwrap_or("");
                    format!(" {} |", justify(text, widths[i], align_of(i)))
                })
                .collect();
            lines.push(format!("|{line}"));
        }
    }
    lines.push(hrule);
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_line_cells_and_wide_characters() {
        let t = render(
            &["A".into(), "B".into()],
            &[
                vec!["x".into(), "l1\n  l2".into()],
                vec!["東京".into(), "".into()],
            ],
            &[Align::Left, Align::Left],
            &[None, None],
            false,
        );
        assert_eq!(
            t,
            "+------+------+\n| A    | B    |\n+------+------+\n| x    | l1   |\n|      |   l2 |\n| 東京 |      |\n+------+------+"
        );
    }

    #[test]
    fn wrapping_as_wcwidth() {
        assert_eq!(
            wrap("2026-05-01T12:00:00+0000", 23),
            ["2026-05-", "01T12:00:00+0000"]
        );
        assert_eq!(
            wrap(
                "http://very-long-host-name.example.com:8774/v2.1/some-project-id",
                24
            ),
            [
                "http://very-long-host-",
                "name.example.com:8774/",
                "v2.1/some-project-id"
            ]
        );
        assert_eq!(wrap("RegionOne", 8), ["RegionOn", "e"]);
        assert_eq!(
            wrap("  public: http://127.0.0.1:5000/v3/", 14),
            ["  public:", "http://127.0.0", ".1:5000/v3/"]
        );
        assert_eq!(chunks("ab/cd/12 1/2"), ["ab/", "cd/", "12", " ", "1/2"]);
        assert_eq!(wrap("a b", 1), ["a", "b"]);
        assert_eq!(wrap("東京", 1), ["東", "京"]);
    }
}
