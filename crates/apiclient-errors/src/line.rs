//! Text on one line: each run of whitespace one space, trimmed, control
//! characters escaped. A leaf: the body parser builds its lines with it, and
//! an error's `Display` puts a server's message on one line with it.

/// A line being built: the output of one pass of the body parser, or of
/// [`one_line`].
#[derive(Default)]
pub(crate) struct Line {
    pub(crate) text: String,
    /// A space is due before the next visible character.
    space: bool,
}

impl Line {
    /// A separator: one space before the next visible character, if any.
    pub(crate) fn space(&mut self) {
        self.space = !self.text.is_empty();
    }

    pub(crate) fn push(&mut self, c: char) {
        if c.is_whitespace() {
            self.space();
        } else if c.is_control() {
            for e in crate::redact::escape_controls(c.encode_utf8(&mut [0; 4])).chars() {
                self.put(e);
            }
        } else {
            self.put(c);
        }
    }

    fn put(&mut self, c: char) {
        if self.space {
            self.space = false;
            self.text.push(' ');
        }
        self.text.push(c);
    }
}

/// `s` on one line: each run of whitespace one space, trimmed, other control
/// characters escaped; markup and entities left as they are.
pub(crate) fn one_line(s: &str) -> std::borrow::Cow<'_, str> {
    let clean = !s.starts_with(' ')
        && !s.ends_with(' ')
        && !s.contains("  ")
        && s.chars()
            .all(|c| c == ' ' || !(c.is_whitespace() || c.is_control()));
    if clean {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = Line::default();
    s.chars().for_each(|c| out.push(c));
    std::borrow::Cow::Owned(out.text)
}
