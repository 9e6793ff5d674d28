//! The tokenizer of MLflow's search filters: names (plain, dotted or quoted), single-quoted
//! strings, numbers, comparators, parentheses and commas. [`crate::search::filter`] parses the
//! tokens.

use crate::error::{Result, TrackingError};

/// A token of a filter. `text` is the token as written, except that a string's text is the
/// content between its quotes.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token {
    pub(super) kind: Kind,
    pub(super) text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// A name, possibly dotted and quoted: `metrics.acc`, `` tags.`a b` ``, `"run name"`, `AND`.
    Ident,
    /// A single-quoted string.
    Str,
    Number,
    /// `=`, `!=`, `<>`, `==`, `<`, `<=`, `>`, `>=`.
    Comparator,
    Open,
    Close,
    Comma,
}

impl Token {
    pub(super) fn is_keyword(&self, keyword: &str) -> bool {
        self.kind == Kind::Ident && self.text.eq_ignore_ascii_case(keyword)
    }
}

pub(super) fn is_bare_word(text: &str) -> bool {
    text.chars().all(is_name_char)
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Splits a filter or an order_by clause into tokens.
pub(super) fn tokenize(filter: &str) -> Result<Vec<Token>> {
    let chars: Vec<(usize, char)> = filter.char_indices().collect();
    let end_of = |i: usize| chars.get(i).map_or(filter.len(), |(at, _)| *at);
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&(at, c)) = chars.get(i) {
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let kind = if c == '\'' {
            i = skip_quoted(&chars, i, '\'', filter)?;
            Kind::Str
        } else if c.is_ascii_digit() || starts_number(&chars, i) {
            i = skip_number(&chars, i);
            if chars.get(i).is_some_and(|&(_, next)| is_name_char(next)) {
                let word_end = skip_while(&chars, i, is_name_char);
                return Err(TrackingError::invalid(format!(
                    "Invalid value '{}' in filter '{filter}': write numbers as digits such as \
                     0.5 or 1e-3, and quote strings.",
                    &filter[at..end_of(word_end)]
                )));
            }
            Kind::Number
        } else if is_name_char(c) || c == '`' || c == '"' {
            i = skip_identifier(&chars, i, filter)?;
            Kind::Ident
        } else if matches!(c, '=' | '!' | '<' | '>') {
            i = skip_while(&chars, i, |c| matches!(c, '=' | '!' | '<' | '>'));
            Kind::Comparator
        } else if c == '(' {
            i += 1;
            Kind::Open
        } else if c == ')' {
            i += 1;
            Kind::Close
        } else if c == ',' {
            i += 1;
            Kind::Comma
        } else {
            return Err(TrackingError::invalid(format!(
                "Invalid character '{c}' at byte {at} in filter '{filter}'. Quote keys \
                 that contain it with backquotes, such as metrics.`my-key`."
            )));
        };
        let raw = &filter[at..end_of(i)];
        let text =
            if kind == Kind::Str { raw[1..raw.len() - 1].to_owned() } else { raw.to_owned() };
        tokens.push(Token { kind, text });
    }
    Ok(tokens)
}

fn skip_while(chars: &[(usize, char)], mut i: usize, keep: impl Fn(char) -> bool) -> usize {
    while chars.get(i).is_some_and(|&(_, c)| keep(c)) {
        i += 1;
    }
    i
}

/// Skips a quoted run starting at `i` (on the opening quote) and returns the index after the
/// closing quote. A doubled quote or a backslash before a quote stays inside the run.
fn skip_quoted(chars: &[(usize, char)], i: usize, quote: char, filter: &str) -> Result<usize> {
    let mut j = i + 1;
    loop {
        match chars.get(j) {
            None => {
                return Err(TrackingError::invalid(format!(
                    "Invalid filter '{filter}': the quote {quote} at byte {} is never \
                     closed.",
                    chars[i].0
                )))
            }
            Some(&(_, '\\')) if quote != '`' && chars.get(j + 1).is_some() => j += 2,
            Some(&(_, c)) if c == quote => {
                if quote != '`' && chars.get(j + 1).is_some_and(|&(_, next)| next == quote) {
                    j += 2;
                } else {
                    return Ok(j + 1);
                }
            }
            Some(_) => j += 1,
        }
    }
}

/// Tells whether a `-` or `.` at `i` starts a number: `-1`, `-.5`, `.5`.
fn starts_number(chars: &[(usize, char)], i: usize) -> bool {
    let digit_at = |k: usize| chars.get(k).is_some_and(|&(_, c)| c.is_ascii_digit());
    match chars.get(i).map(|&(_, c)| c) {
        Some('-') => {
            digit_at(i + 1) || (chars.get(i + 1).map(|p| p.1) == Some('.') && digit_at(i + 2))
        }
        Some('.') => digit_at(i + 1),
        _ => false,
    }
}

fn skip_number(chars: &[(usize, char)], mut i: usize) -> usize {
    let digit = |c: char| c.is_ascii_digit();
    if chars.get(i).map(|p| p.1) == Some('-') {
        i += 1;
    }
    i = skip_while(chars, i, digit);
    if chars.get(i).map(|p| p.1) == Some('.') {
        i = skip_while(chars, i + 1, digit);
    }
    if matches!(chars.get(i).map(|p| p.1), Some('e' | 'E')) {
        let mut j = i + 1;
        if matches!(chars.get(j).map(|p| p.1), Some('+' | '-')) {
            j += 1;
        }
        if chars.get(j).is_some_and(|&(_, c)| c.is_ascii_digit()) {
            i = skip_while(chars, j, digit);
        }
    }
    i
}

/// Skips an identifier: segments joined by dots, where a segment is a run of name characters
/// or a quoted run (backquotes or double quotes anywhere, single quotes after a dot).
fn skip_identifier(chars: &[(usize, char)], mut i: usize, filter: &str) -> Result<usize> {
    let mut after_dot = false;
    loop {
        match chars.get(i).map(|p| p.1) {
            Some(quote @ ('`' | '"')) => i = skip_quoted(chars, i, quote, filter)?,
            Some('\'') if after_dot => i = skip_quoted(chars, i, '\'', filter)?,
            Some(c) if is_name_char(c) => i = skip_while(chars, i, is_name_char),
            // An empty key after a dot, as in `metrics.`, which MLflow reads as the key "".
            _ => return Ok(i),
        }
        if chars.get(i).map(|p| p.1) != Some('.') {
            return Ok(i);
        }
        i += 1;
        after_dot = true;
    }
}
