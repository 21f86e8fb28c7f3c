//! A link checker over a built folder: every `href` and `src` in every HTML file must
//! name a file in the folder, and every `#fragment` an `id` in the page it points into.
//! Links to other sites are listed, not fetched (the tests run offline).

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What the check found: dead links (`page: link (why)`), the pages and links checked,
/// and the links to other sites.
pub struct Report {
    pub dead: Vec<String>,
    pub pages: usize,
    pub links: usize,
    pub external: BTreeSet<String>,
}

fn html_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            html_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "html") {
            out.push(p);
        }
    }
}

/// The values of `attr="…"` in `html` (the builds write double quotes).
fn attr_values<'a>(html: &'a str, attr: &str) -> Vec<&'a str> {
    let needle = format!(" {attr}=\"");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(&needle) {
        rest = &rest[i + needle.len()..];
        if let Some(j) = rest.find('"') {
            out.push(&rest[..j]);
            rest = &rest[j..];
        }
    }
    out
}

fn decode(s: &str) -> String {
    s.replace("&amp;", "&").replace("%20", " ")
}

/// Checks every link of every HTML file under `root`.
pub fn check(root: &Path) -> Report {
    let mut pages = Vec::new();
    html_files(root, &mut pages);
    pages.sort();
    let mut ids: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    let mut texts = BTreeMap::new();
    for p in &pages {
        let text = std::fs::read_to_string(p).unwrap();
        ids.insert(
            p.clone(),
            attr_values(&text, "id").into_iter().map(decode).collect(),
        );
        texts.insert(p.clone(), text);
    }
    let (mut dead, mut links, mut external) = (Vec::new(), 0, BTreeSet::new());
    for (page, text) in &texts {
        let name = page.strip_prefix(root).unwrap().display().to_string();
        for link in attr_values(text, "href")
            .into_iter()
            .chain(attr_values(text, "src"))
        {
            let link = decode(link);
            if link.starts_with("http://") || link.starts_with("https://") {
                external.insert(link);
                continue;
            }
            if link.starts_with("data:") || link.starts_with("mailto:") {
                continue;
            }
            links += 1;
            let (path, frag) = match link.split_once('#') {
                Some((p, f)) => (p, Some(f)),
                None => (link.as_str(), None),
            };
            let path = path.split('?').next().unwrap_or("");
            if path.starts_with('/') {
                dead.push(format!(
                    "{name}: {link} (absolute: breaks under a sub-path)"
                ));
                continue;
            }
            let mut target = if path.is_empty() {
                page.clone()
            } else {
                page.parent().unwrap().join(path)
            };
            if target.is_dir() {
                target = target.join("index.html");
            }
            let target = match target.canonicalize() {
                Ok(t) if t.starts_with(root.canonicalize().unwrap()) => t,
                Ok(_) => {
                    dead.push(format!("{name}: {link} (outside the site)"));
                    continue;
                }
                Err(_) => {
                    dead.push(format!("{name}: {link} (no such file)"));
                    continue;
                }
            };
            // A fragment of an HTML page must be an id there; the page's own fragment
            // keys (`#preset=…` on the simulator) are settings, not anchors.
            if let Some(f) = frag.filter(|f| !f.is_empty() && !f.contains('=')) {
                let known = ids
                    .iter()
                    .find(|(p, _)| p.canonicalize().ok().as_ref() == Some(&target))
                    .map(|(_, ids)| ids.contains(f));
                if known == Some(false) {
                    dead.push(format!("{name}: {link} (no id {f:?} there)"));
                }
            }
        }
    }
    Report {
        dead,
        pages: pages.len(),
        links,
        external,
    }
}
