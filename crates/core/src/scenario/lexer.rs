//! The scenario lexer: identifiers, strings, punctuation and the three comment styles
//! (`//`, `/* */`, herd's `(* *)`), each token with the span its errors point at.

use super::syntax::{ScenarioError, Span};

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    Ident(String),
    Str(String),
    Punct(&'static str),
    Eof,
}

#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) span: Span,
}

// `[`, `]`, `<` and `++` are the general language's (`pte t0[0] = …`, `for (i = 0; i < 4;
// i++)`); the classic parser meets them only in a file it refuses anyway.
const PUNCTS: &[&str] = &[
    "\\/", "/\\", "||", "&&", "++", "{", "}", "(", ")", ";", "=", "!", "~", ",", ":", "[", "]", "<",
];

pub(crate) fn lex(src: &str) -> Result<Vec<Token>, ScenarioError> {
    lex_keeping(src, &mut Vec::new())
}

/// [`lex`], and the spans of the comments it skips (for highlighting).
pub(super) fn lex_keeping(
    src: &str,
    comments: &mut Vec<Span>,
) -> Result<Vec<Token>, ScenarioError> {
    let mut out = Vec::new();
    let b = src.as_bytes();
    let (mut i, mut line, mut line_start) = (0usize, 1u32, 0usize);
    let span_at = |start: usize, end: usize, line: u32, line_start: usize| Span {
        line,
        col: src[line_start..start].chars().count() as u32 + 1,
        start,
        end,
    };
    while i < b.len() {
        let c = b[i];
        if c == b'\n' {
            i += 1;
            line += 1;
            line_start = i;
            continue;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        // Comments.
        let close = match (c, b.get(i + 1)) {
            (b'/', Some(b'/')) => {
                let start = i;
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                comments.push(span_at(start, i, line, line_start));
                continue;
            }
            (b'/', Some(b'*')) => Some("*/"),
            (b'(', Some(b'*')) => Some("*)"),
            _ => None,
        };
        if let Some(close) = close {
            let (sl, ss) = (line, line_start);
            let start = i;
            i += 2;
            loop {
                if i >= b.len() {
                    return Err(ScenarioError::at(
                        span_at(start, start + 2, sl, ss),
                        format!("this comment is never closed (no '{close}')"),
                    ));
                }
                if b[i..].starts_with(close.as_bytes()) {
                    i += 2;
                    comments.push(span_at(start, i, sl, ss));
                    break;
                }
                if b[i] == b'\n' {
                    line += 1;
                    line_start = i + 1;
                }
                i += 1;
            }
            continue;
        }
        let start = i;
        if c == b'"' {
            let mut s = String::new();
            i += 1;
            loop {
                match src[i..].chars().next() {
                    None | Some('\n') => {
                        return Err(ScenarioError::at(
                            span_at(start, start + 1, line, line_start),
                            "this string is never closed (no '\"' on its line)",
                        ))
                    }
                    Some('"') => {
                        i += 1;
                        break;
                    }
                    Some('\\') if matches!(b.get(i + 1), Some(b'"') | Some(b'\\')) => {
                        s.push(b[i + 1] as char);
                        i += 2;
                    }
                    Some(ch) => {
                        s.push(ch);
                        i += ch.len_utf8();
                    }
                }
            }
            out.push(Token {
                tok: Tok::Str(s),
                span: span_at(start, i, line, line_start),
            });
            continue;
        }
        if c.is_ascii_alphanumeric() || c == b'_' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'-') {
                i += 1;
            }
            out.push(Token {
                tok: Tok::Ident(src[start..i].to_string()),
                span: span_at(start, i, line, line_start),
            });
            continue;
        }
        if let Some(p) = PUNCTS.iter().find(|p| src[i..].starts_with(**p)) {
            i += p.len();
            out.push(Token {
                tok: Tok::Punct(p),
                span: span_at(start, i, line, line_start),
            });
            continue;
        }
        let ch = src[i..].chars().next().unwrap_or('?');
        return Err(ScenarioError::at(
            span_at(start, start + ch.len_utf8(), line, line_start),
            format!("unexpected character {ch:?}"),
        ));
    }
    out.push(Token {
        tok: Tok::Eof,
        span: span_at(b.len(), b.len(), line, line_start),
    });
    Ok(out)
}
