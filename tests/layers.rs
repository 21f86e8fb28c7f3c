//! The layering guard: no import circle between the modules of any crate in the workspace,
//! and no source file past the size where it stops owning one thing.
//!
//! A module depends on another when its non-test code names a path into it: a `use`
//! line (grouped or not, `pub use` re-exports included) or a path in code, starting from
//! `crate::`, `super::`, `self::` or a child module's name. The path counts towards the
//! deepest module file it reaches, so `crate::scenario::syntax::Span` depends on
//! `scenario::syntax`, not on `scenario`'s `mod.rs`; a file that re-exports its children
//! depends on them. Test modules (`#[cfg(test)]` items and the files they declare) are
//! left out: tests may reach anywhere.
//!
//! Circles are looked for twice: between files, and between the crate's top-level
//! modules (a folder counted as one), so that a folder cannot hide a circle through its
//! files. tornsim-core's crate doc lists its top-level modules bottom-up, and each must
//! import only those listed before it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The most lines a non-test source file may have (test modules inside it not counted).
/// The issue that set it asked for "about 800": a file past it owns more than one thing.
const MAX_LINES: usize = 800;

/// A crate's modules (by path, `crate` for the root), the file of each, and the modules
/// each one's non-test code names.
#[derive(Debug, Default)]
struct Graph {
    files: BTreeMap<String, PathBuf>,
    edges: BTreeMap<String, BTreeSet<String>>,
    /// Each module's non-test line count.
    lines: BTreeMap<String, usize>,
}

/// Blanks comments, string and character literals (keeping line breaks), so that only
/// code is searched for paths.
fn strip_literals(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let blank = |out: &mut String, s: &[u8]| {
        for &c in s {
            out.push(if c == b'\n' { '\n' } else { ' ' });
        }
    };
    while i < b.len() {
        let rest = &b[i..];
        if rest.starts_with(b"//") {
            let end = rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
            blank(&mut out, &rest[..end]);
            i += end;
        } else if rest.starts_with(b"/*") {
            let (mut depth, mut j) = (0usize, 0usize);
            while j < rest.len() {
                if rest[j..].starts_with(b"/*") {
                    depth += 1;
                    j += 2;
                } else if rest[j..].starts_with(b"*/") {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            blank(&mut out, &rest[..j]);
            i += j;
        } else if rest[0] == b'r' && matches!(rest.get(1), Some(b'"') | Some(b'#')) && {
            let hashes = rest[1..].iter().take_while(|&&c| c == b'#').count();
            rest.get(1 + hashes) == Some(&b'"')
        } {
            let hashes = rest[1..].iter().take_while(|&&c| c == b'#').count();
            let mut close = vec![b'"'];
            close.extend(std::iter::repeat_n(b'#', hashes));
            let body = 2 + hashes;
            let end = rest[body..]
                .windows(close.len())
                .position(|w| w == close.as_slice())
                .map_or(rest.len(), |p| body + p + close.len());
            blank(&mut out, &rest[..end]);
            i += end;
        } else if rest[0] == b'"' {
            let mut j = 1;
            while j < rest.len() && rest[j] != b'"' {
                j += if rest[j] == b'\\' { 2 } else { 1 };
            }
            let end = (j + 1).min(rest.len());
            blank(&mut out, &rest[..end]);
            i += end;
        } else if rest[0] == b'\'' {
            // A character literal ('a', '\n', '\u{..}'), or a lifetime ('a), left as it is.
            let lit = if rest.get(1) == Some(&b'\\') {
                rest[2..].iter().position(|&c| c == b'\'').map(|p| p + 3)
            } else if rest.get(2) == Some(&b'\'') {
                Some(3)
            } else {
                let ch = src[i + 1..].chars().next().map_or(1, char::len_utf8);
                (rest.get(1 + ch) == Some(&b'\'')).then_some(2 + ch)
            };
            match lit {
                Some(n) => {
                    blank(&mut out, &rest[..n]);
                    i += n;
                }
                None => {
                    out.push('\'');
                    i += 1;
                }
            }
        } else {
            let ch = src[i..].chars().next().expect("in bounds");
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// Blanks every item behind `#[cfg(test)]`; returns the code left, the names of the
/// child modules it declares as test-only (`#[cfg(test)] mod tests;`) and how many lines
/// the test items took.
fn strip_tests(code: &str) -> (String, Vec<String>, usize) {
    let mut test_lines = 0;
    let mut out = code.to_string();
    let mut test_mods = Vec::new();
    let mut from = 0;
    while let Some(p) = out[from..].find("#[cfg(test)]") {
        let start = from + p;
        let b = out.as_bytes();
        let mut j = start + "#[cfg(test)]".len();
        // The item ends at its first `;` outside braces, or at the brace closing its body.
        let mut depth = 0usize;
        while j < b.len() {
            match b[j] {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        j += 1;
                        break;
                    }
                }
                b';' if depth == 0 => {
                    j += 1;
                    break;
                }
                _ => {}
            }
            j += 1;
        }
        let item = &out[start..j];
        test_lines += item.matches('\n').count() + 1;
        let words: Vec<&str> = item
            .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ';'))
            .filter(|w| !w.is_empty())
            .collect();
        if let Some(k) = words.iter().position(|w| *w == "mod") {
            if let Some(name) = words.get(k + 1).filter(|n| n.ends_with(';')) {
                test_mods.push(name.trim_end_matches(';').to_string());
            }
        }
        let blanked: String = item
            .chars()
            .map(|c| if c == '\n' { '\n' } else { ' ' })
            .collect();
        out.replace_range(start..j, &blanked);
        from = start + blanked.len();
    }
    (out, test_mods, test_lines)
}

/// Every path the code names: `a::b::c`, with `use` groups (`a::{b, c::d}`) expanded,
/// each with the inline modules (`mod name { … }`) it stands in, outermost first.
fn paths(code: &str) -> Vec<(Vec<String>, Vec<String>)> {
    let toks = tokens(code);
    let mut out = Vec::new();
    // Open inline modules: name and the brace depth inside them.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < toks.len() {
        match toks[i].as_str() {
            "{" => {
                depth += 1;
                if i >= 2 && toks[i - 2] == "mod" && is_ident(&toks[i - 1]) {
                    inline.push((toks[i - 1].clone(), depth));
                }
                i += 1;
                continue;
            }
            "}" => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
                i += 1;
                continue;
            }
            _ => {}
        }
        let starts = is_ident(&toks[i])
            && toks.get(i + 1).is_some_and(|t| t == "::")
            && !(i > 0 && toks[i - 1] == "::");
        if starts {
            let mut found = Vec::new();
            i = path_tree(&toks, i, Vec::new(), &mut found);
            let within: Vec<String> = inline.iter().map(|(n, _)| n.clone()).collect();
            out.extend(found.into_iter().map(|p| (within.clone(), p)));
        } else {
            i += 1;
        }
    }
    out
}

fn is_ident(t: &str) -> bool {
    t.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
}

/// Reads one path (tree) from `toks[i]`, under `prefix`; returns where it ends.
fn path_tree(
    toks: &[String],
    mut i: usize,
    mut prefix: Vec<String>,
    out: &mut Vec<Vec<String>>,
) -> usize {
    loop {
        match toks.get(i).map(String::as_str) {
            Some("{") => {
                i += 1;
                while i < toks.len() && toks[i] != "}" {
                    if toks[i] == "," {
                        i += 1;
                    } else if toks[i] == "self" || toks[i] == "*" {
                        out.push(prefix.clone());
                        i += 1;
                    } else if is_ident(&toks[i]) || toks[i] == "{" {
                        i = path_tree(toks, i, prefix.clone(), out);
                    } else {
                        i += 1;
                    }
                }
                return i + 1;
            }
            Some(t) if is_ident(t) => {
                prefix.push(t.to_string());
                i += 1;
                if toks.get(i).is_some_and(|t| t == "::") {
                    i += 1;
                } else {
                    out.push(prefix);
                    return i;
                }
            }
            _ => {
                out.push(prefix);
                return i;
            }
        }
    }
}

/// Identifiers, `::` and single punctuation characters.
fn tokens(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = code.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() || c == '_' {
            cur.push(c);
            continue;
        }
        if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            out.push("::".into());
        } else if !c.is_whitespace() {
            out.push(c.to_string());
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The module path of a file under a crate's `src/` (`crate` for `lib.rs`/`main.rs`).
fn module_of(rel: &Path) -> String {
    let mut parts: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    if parts.len() == 1 && (parts[0] == "lib" || parts[0] == "main") {
        parts.clear();
    }
    std::iter::once("crate".to_string())
        .chain(parts)
        .collect::<Vec<_>>()
        .join("::")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The module graph of the crate whose root is `src/lib.rs` or `src/main.rs` under
/// `src`. Files under `src/bin/` are other crates and are left out.
fn module_graph(src: &Path) -> Graph {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut code = BTreeMap::new();
    let mut test_only = BTreeSet::new();
    let mut g = Graph::default();
    for f in files {
        let rel = f.strip_prefix(src).expect("under src");
        if rel.starts_with("bin") {
            continue;
        }
        let m = module_of(rel);
        let text = std::fs::read_to_string(&f).expect("a readable source file");
        let (c, tests, test_lines) = strip_tests(&strip_literals(&text));
        g.lines.insert(m.clone(), text.lines().count() - test_lines);
        for t in tests {
            test_only.insert(format!("{m}::{t}"));
        }
        g.files.insert(m.clone(), f);
        code.insert(m, c);
    }
    let is_test = |m: &str| {
        test_only
            .iter()
            .any(|t| m == t || m.starts_with(&format!("{t}::")))
    };
    g.files.retain(|m, _| !is_test(m));
    g.lines.retain(|m, _| !is_test(m));
    code.retain(|m, _| !is_test(m));
    for (m, c) in &code {
        let mut deps = BTreeSet::new();
        for (within, p) in paths(c) {
            // Where the path stands: the file's module, then any inline modules.
            let mut here: Vec<&str> = m.split("::").collect();
            here.extend(within.iter().map(String::as_str));
            let mut abs: Vec<&str> = match p[0].as_str() {
                "crate" => vec!["crate"],
                "self" => here.clone(),
                "super" => here[..here.len().saturating_sub(1)].to_vec(),
                first
                    if g.files
                        .contains_key(&format!("{}::{first}", here.join("::"))) =>
                {
                    let mut v = here.clone();
                    v.push(first);
                    v
                }
                _ => continue,
            };
            let mut rest = &p[1..];
            if p[0] == "super" {
                while rest.first().is_some_and(|s| s == "super") {
                    abs.pop();
                    rest = &rest[1..];
                }
            }
            abs.extend(rest.iter().map(String::as_str));
            let target = (1..=abs.len())
                .rev()
                .map(|k| abs[..k].join("::"))
                .find(|t| g.files.contains_key(t));
            if let Some(t) = target.filter(|t| t != m) {
                deps.insert(t);
            }
        }
        g.edges.insert(m.clone(), deps);
    }
    g
}

/// Every import circle: one cycle through each strongly connected set of modules.
fn circles(g: &Graph) -> Vec<Vec<String>> {
    // Tarjan's algorithm, recursive: a crate has a few dozen modules.
    struct T<'a> {
        g: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        sccs: Vec<Vec<&'a str>>,
    }
    impl<'a> T<'a> {
        fn visit(&mut self, v: &'a str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on.insert(v);
            for w in self.g.edges.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(lw);
                } else if self.on.contains(w) {
                    let iw = self.index[w];
                    let lv = self.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(iw);
                }
            }
            if self.low[v] == self.index[v] {
                let mut scc = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on.remove(w);
                    scc.push(w);
                    if w == v {
                        break;
                    }
                }
                if scc.len() > 1 {
                    self.sccs.push(scc);
                }
            }
        }
    }
    let mut t = T {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        sccs: Vec::new(),
    };
    for v in g.edges.keys() {
        if !t.index.contains_key(v.as_str()) {
            t.visit(v);
        }
    }
    // One concrete cycle per set, from its smallest module, by breadth-first search.
    t.sccs
        .iter()
        .map(|scc| {
            let set: BTreeSet<&str> = scc.iter().copied().collect();
            let start = *set.iter().next().expect("non-empty");
            let mut prev: BTreeMap<&str, &str> = BTreeMap::new();
            let mut queue = std::collections::VecDeque::from([start]);
            let mut end = start;
            'bfs: while let Some(v) = queue.pop_front() {
                for w in g.edges[v].iter().map(String::as_str) {
                    if w == start {
                        end = v;
                        break 'bfs;
                    }
                    if set.contains(w) && !prev.contains_key(w) {
                        prev.insert(w, v);
                        queue.push_back(w);
                    }
                }
            }
            let mut cycle = vec![start.to_string()];
            let mut back = vec![end];
            while let Some(&p) = prev.get(back.last().expect("non-empty")) {
                back.push(p);
            }
            cycle.extend(
                back.iter()
                    .rev()
                    .filter(|v| **v != start)
                    .map(|v| v.to_string()),
            );
            cycle.push(start.to_string());
            cycle
        })
        .collect()
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The same graph with every module folded into its top-level module (`crate::a::b` into
/// `crate::a`), edges inside one folded away.
fn top_level(g: &Graph) -> Graph {
    let top = |m: &str| m.split("::").take(2).collect::<Vec<_>>().join("::");
    let mut out = Graph::default();
    for (m, f) in &g.files {
        out.files.entry(top(m)).or_insert_with(|| f.clone());
    }
    for (m, deps) in &g.edges {
        let e = out.edges.entry(top(m)).or_default();
        e.extend(deps.iter().map(|d| top(d)).filter(|d| *d != top(m)));
    }
    out
}

/// The order a crate doc gives its modules in: its lines `//! N. `name`: …`.
fn documented_order(lib: &str) -> Vec<String> {
    lib.lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("//! ")?;
            let (n, item) = rest.split_once(". `")?;
            n.parse::<u32>().ok()?;
            Some(format!("crate::{}", item.split('`').next()?))
        })
        .collect()
}

/// Every import that points from a module to one listed at or after it in `order`, and
/// every module `order` leaves out.
fn against_order(g: &Graph, order: &[String]) -> Vec<String> {
    let mut bad = Vec::new();
    for m in g.edges.keys().filter(|m| *m != "crate") {
        let Some(i) = order.iter().position(|o| o == m) else {
            bad.push(format!("{m} is not in the list"));
            continue;
        };
        for d in &g.edges[m] {
            if order.iter().position(|o| o == d).is_some_and(|j| j >= i) {
                bad.push(format!("{m} imports {d}, listed after it"));
            }
        }
    }
    bad
}

/// Asserts that the crate under `src` has no import circle and no oversized file, and
/// that the guard saw at least `min_edges` imports (so a parser that found nothing
/// cannot pass).
fn assert_layered(src: &str, min_edges: usize) {
    let g = module_graph(&workspace().join(src));
    let edges: usize = g.edges.values().map(BTreeSet::len).sum();
    assert!(
        edges >= min_edges,
        "{src}: only {edges} imports found: {g:#?}"
    );
    let mut found = circles(&g);
    found.extend(circles(&top_level(&g)));
    assert!(
        found.is_empty(),
        "{src}: import circles (break each by moving what the lower module needs down):\n{}",
        found
            .iter()
            .map(|c| format!("  {}", c.join(" -> ")))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let big: Vec<String> = g
        .lines
        .iter()
        .filter(|(_, &n)| n > MAX_LINES)
        .map(|(m, n)| format!("  {} ({n} lines)", g.files[m].display()))
        .collect();
    assert!(
        big.is_empty(),
        "{src}: files over {MAX_LINES} lines of non-test code; split them by what they own:\n{}",
        big.join("\n")
    );
}

#[test]
fn tornsim_core_has_no_import_circle() {
    assert_layered("crates/core/src", 40);
}

#[test]
fn tornsim_core_imports_only_downwards_in_its_documented_order() {
    let src = workspace().join("crates/core/src");
    let order = documented_order(&std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs"));
    assert!(
        order.len() > 10,
        "the crate doc lists its layers: {order:?}"
    );
    let bad = against_order(&top_level(&module_graph(&src)), &order);
    assert!(
        bad.is_empty(),
        "against the crate doc's order:\n  {}",
        bad.join("\n  ")
    );
}

#[test]
fn the_cli_has_no_import_circle() {
    assert_layered("src", 5);
}

#[test]
fn the_web_crate_has_no_import_circle() {
    assert_layered("crates/web/src", 5);
}

/// A crate laid out in a temporary folder: (path under src, text).
fn fixture(name: &str, files: &[(&str, &str)]) -> Graph {
    let root = std::env::temp_dir().join(format!("tornsim-layers-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    for (p, text) in files {
        let f = root.join(p);
        std::fs::create_dir_all(f.parent().expect("a parent")).expect("a temp dir");
        std::fs::write(&f, text).expect("a temp file");
    }
    let g = module_graph(&root);
    std::fs::remove_dir_all(&root).expect("cleaned up");
    g
}

#[test]
fn a_circle_between_two_files_is_found() {
    let g = fixture(
        "two",
        &[
            ("lib.rs", "mod a;\nmod b;\n"),
            ("a.rs", "use crate::b::B;\npub struct A;\n"),
            (
                "b.rs",
                "pub struct B;\npub fn f() -> crate::a::A { crate::a::A }\n",
            ),
        ],
    );
    assert_eq!(circles(&g), vec![vec!["crate::a", "crate::b", "crate::a"]]);
}

#[test]
fn a_circle_through_a_grouped_use_and_a_re_export_is_found() {
    let g = fixture(
        "grouped",
        &[
            ("lib.rs", "pub mod m;\nmod c;\n"),
            // The parent re-exports its child; the child names the parent's item.
            (
                "m/mod.rs",
                "mod inner;\npub use inner::Thing;\npub struct Own;\n",
            ),
            ("m/inner.rs", "use super::Own;\npub struct Thing(Own);\n"),
            ("c.rs", "use crate::{m::Own, m::inner::Thing};\n"),
        ],
    );
    assert_eq!(
        circles(&g),
        vec![vec!["crate::m", "crate::m::inner", "crate::m"]]
    );
    assert!(g.edges["crate::c"].contains("crate::m::inner"));
}

#[test]
fn a_longer_circle_is_printed_in_order() {
    let g = fixture(
        "three",
        &[
            ("lib.rs", "mod a;\nmod b;\nmod c;\n"),
            ("a.rs", "use crate::b;\n"),
            ("b.rs", "fn f() { crate::c::g() }\n"),
            ("c.rs", "pub fn g() { let _ = crate::a::X; }\n"),
        ],
    );
    assert_eq!(
        circles(&g),
        vec![vec!["crate::a", "crate::b", "crate::c", "crate::a"]]
    );
}

#[test]
fn test_code_comments_and_strings_do_not_count() {
    let g = fixture(
        "tests",
        &[
            ("lib.rs", "mod a;\nmod b;\n"),
            ("a.rs", "use crate::b::B;\n"),
            (
                "b.rs",
                "pub struct B;\n// crate::a::X\nconst S: &str = \"crate::a::X\";\n\
                 #[cfg(test)]\nmod tests {\n    use crate::a;\n    fn f() { let _ = '{'; }\n}\n\
                 #[cfg(test)]\nmod more;\n",
            ),
            ("b/more.rs", "use crate::a::X;\n"),
        ],
    );
    assert!(circles(&g).is_empty(), "{g:#?}");
    assert!(!g.files.contains_key("crate::b::more"));
}

#[test]
fn an_oversized_file_is_counted_without_its_tests() {
    let body = "fn f() {}\n".repeat(MAX_LINES);
    let tests = format!(
        "#[cfg(test)]\nmod tests {{\n{}}}\n",
        "fn t() {}\n".repeat(50)
    );
    // A test module's lines are not counted; the code's are, blank ones included.
    let g = fixture("size", &[("lib.rs", &format!("{body}{tests}"))]);
    assert_eq!(g.lines["crate"], MAX_LINES);
}

#[test]
fn paths_inside_an_inline_module_resolve_from_it() {
    let g = fixture(
        "inline",
        &[
            ("lib.rs", "mod a;\nmod b;\n"),
            // `super` inside `a::inner` is `a` itself, not the crate root.
            (
                "a.rs",
                "mod inner {\n    use super::*;\n    use super::super::b::B;\n}\n",
            ),
            ("b.rs", "pub struct B;\n"),
        ],
    );
    assert_eq!(
        g.edges["crate::a"],
        BTreeSet::from(["crate::b".to_string()])
    );
}

#[test]
fn a_circle_between_folders_is_found_though_their_files_have_none() {
    // a/x.rs uses b/y.rs, and b/z.rs uses a/w.rs: no file circle, a folder circle.
    let g = fixture(
        "folders",
        &[
            ("lib.rs", "mod a;\nmod b;\n"),
            ("a/mod.rs", "mod w;\nmod x;\n"),
            ("a/w.rs", "pub struct W;\n"),
            ("a/x.rs", "use crate::b::y::Y;\n"),
            ("b/mod.rs", "pub mod y;\nmod z;\n"),
            ("b/y.rs", "pub struct Y;\n"),
            ("b/z.rs", "use crate::a::w::W;\n"),
        ],
    );
    assert!(circles(&g).is_empty());
    assert_eq!(
        circles(&top_level(&g)),
        vec![vec!["crate::a", "crate::b", "crate::a"]]
    );
}

#[test]
fn an_import_against_the_documented_order_is_found() {
    let g = fixture(
        "order",
        &[
            (
                "lib.rs",
                "//! 1. `low`: first.\n//! 2. `high`: second.\nmod high;\nmod low;\nmod other;\n",
            ),
            ("low.rs", "use crate::high::H;\n"),
            ("high.rs", "pub struct H;\n"),
            ("other.rs", "\n"),
        ],
    );
    let lib = "//! 1. `low`: first.\n//! 2. `high`: second.\n";
    let order = documented_order(lib);
    assert_eq!(order, vec!["crate::low", "crate::high"]);
    assert_eq!(
        against_order(&top_level(&g), &order),
        vec![
            "crate::low imports crate::high, listed after it".to_string(),
            "crate::other is not in the list".to_string()
        ]
    );
}
