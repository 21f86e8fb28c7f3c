//! Highlighting for editors: the scenario lexer's own tokens, classed, so the page's
//! colours can never disagree with what the parser reads. Text the lexer cannot read
//! (after an unclosed comment or a stray character) is left unclassed from there on,
//! and the parser's error marks the place.

use super::lexer::{lex_keeping, Tok};
use super::syntax::{cpu_number, Actor};
use crate::hazard::Hazard;
use crate::prim::{self, general::R, Prim};

/// What a stretch of text is, for colouring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// A primitive of the table (`pmd_lock`, `WRITE_ONCE`).
    Primitive,
    /// The language's own words: `tornsim`, `exists`, `do`, `while`, `if`, `else`, `int`,
    /// `installed`, `pmd_none`.
    Keyword,
    /// A CPU's block name (`P0`) or actor (`khugepaged`, `gup_fast`).
    Cpu,
    /// A hazard an `exists` clause names (`torn`, `stale`, `deadlock`).
    Hazard,
    /// A number.
    Number,
    /// Any other name: a setting, a value, a shared word, a register.
    Name,
    Str,
    Comment,
    Punct,
}

impl Class {
    /// The CSS class the page gives it.
    pub fn css(self) -> &'static str {
        match self {
            Class::Primitive => "tk-prim",
            Class::Keyword => "tk-kw",
            Class::Cpu => "tk-cpu",
            Class::Hazard => "tk-hazard",
            Class::Number => "tk-num",
            Class::Name => "tk-name",
            Class::Str => "tk-str",
            Class::Comment => "tk-comment",
            Class::Punct => "tk-punct",
        }
    }
}

const KEYWORDS: &[&str] = &[
    "tornsim",
    "exists",
    "do",
    "while",
    "if",
    "else",
    "int",
    "installed",
    "pmd_none",
    // The general language's.
    "for",
    "break",
    "return",
    "pte",
    "page",
    "table",
    "huge",
    "none",
];

/// The classed stretches of `src`, as byte ranges in order, not overlapping; text
/// between them (white space, or what the lexer could not read) has no class.
pub fn highlight(src: &str) -> Vec<(std::ops::Range<usize>, Class)> {
    let mut comments = Vec::new();
    let tokens = match lex_keeping(src, &mut comments) {
        Ok(t) => t,
        // Everything the lexer read before the bad place: lex the text before it.
        Err(e) => {
            comments.clear();
            lex_keeping(&src[..e.span.start], &mut comments).unwrap_or_default()
        }
    };
    let mut out: Vec<_> = comments
        .iter()
        .map(|c| (c.start..c.end, Class::Comment))
        .collect();
    for t in &tokens {
        let class = match &t.tok {
            Tok::Eof => continue,
            Tok::Str(_) => Class::Str,
            Tok::Punct(_) => Class::Punct,
            Tok::Ident(w) => ident_class(w),
        };
        out.push((t.span.start..t.span.end, class));
    }
    out.sort_by_key(|(r, _)| r.start);
    out
}

fn ident_class(w: &str) -> Class {
    // A file of either language is highlighted from the one table of primitives, and
    // the general machine's kernel paths.
    if prim::lookup(w).is_some() {
        Class::Primitive
    } else if KEYWORDS.contains(&w) {
        Class::Keyword
    } else if cpu_number(w).is_some()
        || Actor::named(w).is_some()
        || prim::general::actor(w).is_some()
    {
        Class::Cpu
    } else if Hazard::named_any().any(|h| h.name() == w) {
        Class::Hazard
    } else if w.bytes().all(|b| b.is_ascii_digit()) || w.starts_with("0x") {
        Class::Number
    } else {
        Class::Name
    }
}

/// The primitives whose names start with `prefix` (case as written), in the table's
/// order: what an editor offers to complete, and explains under the caret.
pub fn complete(prefix: &str) -> Vec<&'static Prim> {
    if prefix.is_empty() {
        return Vec::new();
    }
    prim::PRIMS
        .iter()
        .filter(|r| r.name.starts_with(prefix) && r.name != prefix)
        .collect()
}

/// What accepting a completion writes in place of the word: a whole statement where
/// the primitive takes nothing (in its classic form, where it has one), else its name
/// and an open parenthesis for the arguments.
pub fn completion_text(p: &Prim) -> String {
    if p.bare() || p.args.is_empty() {
        match p.ret {
            R::Nothing | R::Value | R::Table | R::Lock => format!("{}();", p.name),
            R::Cond | R::Reg => format!("{}()", p.name),
        }
    } else {
        format!("{}(", p.name)
    }
}

/// The primitive named by the word at byte `at` of `src` (its start, middle or end).
pub fn primitive_at(src: &str, at: usize) -> Option<&'static Prim> {
    let (a, b) = word_at(src, at);
    prim::lookup(&src[a..b])
}

/// The byte range of the identifier around byte `at` (empty if there is none).
pub fn word_at(src: &str, at: usize) -> (usize, usize) {
    let b = src.as_bytes();
    let mut at = at.min(b.len());
    // An offset inside a character means the character's start.
    while !src.is_char_boundary(at) {
        at -= 1;
    }
    let is_word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let start = (0..at)
        .rev()
        .take_while(|&i| is_word(b[i]))
        .last()
        .unwrap_or(at);
    let end = (at..b.len())
        .take_while(|&i| is_word(b[i]))
        .last()
        .map_or(at, |i| i + 1);
    (start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(src: &str) -> Vec<(&str, Class)> {
        highlight(src)
            .into_iter()
            .map(|(r, c)| (&src[r], c))
            .collect()
    }

    #[test]
    fn tokens_get_the_class_the_parser_reads_them_as() {
        let src = "tornsim x\n\"d\" // note\n{ int w = 1; }\nP0(khugepaged) {\n  pmd_lock(); r0 = READ_ONCE(w);\n}\nexists (torn \\/ P0:r0=0)\n";
        let got = classes(src);
        let want = [
            ("tornsim", Class::Keyword),
            ("x", Class::Name),
            ("\"d\"", Class::Str),
            ("// note", Class::Comment),
            ("{", Class::Punct),
            ("int", Class::Keyword),
            ("w", Class::Name),
            ("1", Class::Number),
            ("P0", Class::Cpu),
            ("khugepaged", Class::Cpu),
            ("pmd_lock", Class::Primitive),
            ("r0", Class::Name),
            ("READ_ONCE", Class::Primitive),
            ("exists", Class::Keyword),
            ("torn", Class::Hazard),
            ("\\/", Class::Punct),
        ];
        for w in want {
            assert!(got.contains(&w), "{w:?} in {got:?}");
        }
        // In order, and not overlapping.
        let spans = highlight(src);
        assert!(
            spans.windows(2).all(|w| w[0].0.end <= w[1].0.start),
            "{spans:?}"
        );
    }

    #[test]
    fn text_after_a_lexer_error_is_left_unclassed() {
        let src = "tornsim x\nP0(khugepaged) {\n  pmd_lock(); @ spin_unlock();\n}\n";
        let got = classes(src);
        assert!(got.contains(&("pmd_lock", Class::Primitive)));
        assert!(!got.iter().any(|(t, _)| *t == "spin_unlock"), "{got:?}");
        // An unclosed comment: what came before it is still classed.
        let got = classes("tornsim x /* open\nP0(khugepaged) {");
        assert_eq!(got, [("tornsim", Class::Keyword), ("x", Class::Name)]);
    }

    #[test]
    fn a_general_file_is_highlighted_from_the_general_table() {
        let src = "tornsim x\n{ pte t0[0] = page(a); }\nP1(madvise) { ptl = pte_lockptr(v);\n  for (i = 0; i < 2; i++) { get_page(a); break; }\n}\nexists (stale-pin \\/ freed-table)\n";
        let got = classes(src);
        for want in [
            ("pte", Class::Keyword),
            ("page", Class::Keyword),
            ("madvise", Class::Cpu),
            ("pte_lockptr", Class::Primitive),
            ("get_page", Class::Primitive),
            ("for", Class::Keyword),
            ("break", Class::Keyword),
            ("stale-pin", Class::Hazard),
            ("freed-table", Class::Hazard),
            ("ptl", Class::Name),
        ] {
            assert!(got.contains(&want), "{want:?}: {got:?}");
        }
    }

    #[test]
    fn completion_offers_the_table_s_names_for_a_prefix() {
        let names: Vec<_> = complete("pmdp_get").iter().map(|p| p.name).collect();
        assert!(names.contains(&"pmdp_get_lockless_sync") && names.contains(&"pmdp_get_lockless"));
        assert!(names.iter().all(|n| n.starts_with("pmdp_get")));
        assert!(complete("").is_empty());
        assert!(complete("zz").is_empty());
        // A complete name offers only the longer ones.
        assert!(!complete("pmd_lock").iter().any(|p| p.name == "pmd_lock"));
        let text =
            |n: &str| completion_text(complete(&n[..3]).into_iter().find(|p| p.name == n).unwrap());
        assert_eq!(text("spin_unlock"), "spin_unlock();");
        assert_eq!(text("pmd_none"), "pmd_none()");
        assert_eq!(text("WRITE_ONCE"), "WRITE_ONCE(");
        assert_eq!(text("READ_ONCE"), "READ_ONCE(");
        // Names only the general machine has, and each name once.
        assert_eq!(text("pte_lockptr"), "pte_lockptr(");
        assert_eq!(text("mmap_write_lock"), "mmap_write_lock();");
        assert_eq!(text("vma_start_read"), "vma_start_read()");
        let pmd: Vec<_> = complete("pmd_").iter().map(|p| p.name).collect();
        assert_eq!(pmd.iter().filter(|n| **n == "pmd_populate").count(), 1);
        assert!(
            pmd.contains(&"pmd_same") && pmd.contains(&"pmd_present"),
            "{pmd:?}"
        );
    }

    #[test]
    fn the_primitive_under_a_place_is_found_from_any_of_its_bytes() {
        let src = "  pmdp_get_lockless_sync();";
        assert_eq!(
            primitive_at(src, 2).map(|p| p.name),
            Some("pmdp_get_lockless_sync")
        );
        assert_eq!(
            primitive_at(src, 10).map(|p| p.name),
            Some("pmdp_get_lockless_sync")
        );
        assert_eq!(
            primitive_at(src, 24).map(|p| p.name),
            Some("pmdp_get_lockless_sync")
        );
        assert!(primitive_at(src, 0).is_none());
        assert!(primitive_at(src, 26).is_none());
        let g = primitive_at("  try_get_page(pte)", 4).unwrap();
        assert_eq!(
            (g.name, g.usage().as_str()),
            ("try_get_page", "if (try_get_page(page))")
        );
        assert!(g.classic.is_none() && g.kernel.contains("folio_try_get"));
        assert_eq!(word_at("ab cd", 3), (3, 5));
        assert_eq!(word_at("ab cd", 2), (0, 2));
        assert_eq!(word_at("ab  cd", 3), (3, 3));
        assert_eq!(word_at("a∀b", 2), (0, 1));
    }
}
