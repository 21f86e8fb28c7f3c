//! End-to-end: the site `bash .ci/site` builds (the demo at `/`, the book at `/book/`),
//! served on 127.0.0.1 under a sub-path: the book's live scenes run in headless Chromium,
//! Firefox and WebKitGTK ([`Engine::all`]), and, once, axe-core finds nothing on its pages
//! and no link in the folder is dead. Needs trunk, mdbook, chromedriver, geckodriver,
//! WebKitWebDriver and Xvfb, which `.ci/setup` installs; `.ci/test` runs these with
//! `--ignored`.

mod support;

use support::browser::{axe, build_page, serve, Browser, Engine};
use support::links;

/// The checker finds what it is for: a missing file, a missing anchor, an absolute path.
#[test]
fn the_link_checker_finds_dead_links() {
    let dir = std::env::temp_dir().join(format!("tornsim-links-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("book")).unwrap();
    std::fs::write(
        dir.join("index.html"),
        r#"<a href="book/a.html#there">ok</a> <a href="book/a.html#nowhere">x</a> <img src="gone.png"> <a href="/abs.html">y</a> <a href="https://example.org/">z</a> <a href="index.html#preset=merged">settings</a>"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("book/a.html"),
        r#"<h1 id="there">t</h1><a href="../index.html">up</a>"#,
    )
    .unwrap();
    let r = links::check(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(r.pages, 2);
    assert_eq!(r.dead.len(), 3, "{:?}", r.dead);
    assert!(r.dead.iter().any(|d| d.contains("#nowhere")));
    assert!(r.dead.iter().any(|d| d.contains("gone.png")));
    assert!(r.dead.iter().any(|d| d.contains("/abs.html")));
    assert_eq!(r.external.len(), 1);
}

/// Every link in the built site resolves, and the book holds every chapter.
#[test]
#[ignore = "needs trunk, mdbook and chromedriver; .ci/test runs it"]
fn no_link_in_the_site_is_dead() {
    let site = build_page();
    for page in [
        "index.html",
        "embed.js",
        "book/index.html",
        "book/race.html",
        "book/history.html",
        "book/scenarios.html",
        "book/primitives.html",
        "book/checking.html",
        "book/cutoff.html",
        "book/tso.html",
        "book/cost-model.html",
        "book/embedding.html",
        "book/cli.html",
        "book/tornsim.1",
        "book/testing.html",
    ] {
        assert!(site.join(page).is_file(), "{page} is missing from the site");
    }
    let r = links::check(&site);
    eprintln!(
        "e2e links: {} pages, {} links, {} to other sites (not fetched: {:?})",
        r.pages,
        r.links,
        r.external.len(),
        r.external
    );
    assert!(r.dead.is_empty(), "dead links:\n{}", r.dead.join("\n"));
    assert!(
        r.pages >= 14 && r.links > 200,
        "{} pages, {} links",
        r.pages,
        r.links
    );
}

/// Reads from the `i`-th scene's iframe (same origin, so the page may look in).
fn in_scene(i: usize, expr: &str) -> String {
    format!(
        "const f = document.querySelectorAll('iframe')[{i}]; const d = f && f.contentDocument; \
         if (!d) return null; return ({expr});"
    )
}

/// The race chapter's eight embeds (seven scenes) in `b`'s engine: each loads the
/// simulator beside the book, renders, and runs to the end; the withdrawn patch's scene
/// finds torn reads and the merged code's none; every file the page fetched is the
/// site's own, under the book's CSP.
fn live_scenes(b: &Browser, base: &str) {
    b.goto(&format!("{base}book/race.html"));
    b.wait_for(
        "the scenes' frames",
        30,
        "return document.querySelectorAll('iframe').length",
        |v| v == 8,
    );
    // The frames load lazily, as a reader scrolls to them.
    b.wait_for(
        "every scene to size itself",
        120,
        "const f = [...document.querySelectorAll('iframe')].find(f => !f.getAttribute('data-tornsim-height')); if (f) f.scrollIntoView(); return !f",
        |v| v == true,
    );
    let mut statuses = Vec::new();
    for i in 0..8 {
        let status = in_scene(i, "d.getElementById('status')?.textContent || ''");
        b.js(&format!(
            "document.querySelectorAll('iframe')[{i}].scrollIntoView(); return 0"
        ));
        // A scene without autorun waits for its reader: press its Start.
        b.wait_for(
            "the scene's page",
            60,
            &in_scene(i, "!!d.getElementById('start')"),
            |v| v == true,
        );
        let s = b.js(&status);
        if !s.as_str().unwrap_or("").starts_with("done")
            && !s.as_str().unwrap_or("").starts_with("running")
        {
            b.js(&in_scene(i, "d.getElementById('start').click(), 0"));
        }
        let s = b.wait_for("the scene's run", 180, &status, |v| {
            v.as_str().unwrap_or("").starts_with("done")
        });
        // Every scene drew its charts and filled its lane table.
        let drawn = b.js(&in_scene(
            i,
            "d.querySelectorAll('figure.chart svg').length > 0 && d.querySelectorAll('tr[data-lane]').length > 0",
        ));
        assert_eq!(drawn, true, "{}: scene {i}: {s}", b.engine.name());
        statuses.push(s.as_str().unwrap_or("").to_string());
    }
    eprintln!("e2e book scenes ({}): {statuses:?}", b.engine.name());
    // The withdrawn patch's scene (2) finds torn reads; the merged code's (1) none.
    let torn = |i: usize| {
        b.js(&in_scene(
            i,
            "+d.querySelector('td.torn-count').textContent",
        ))
    };
    assert_eq!(torn(0), 0);
    assert!(torn(1).as_u64().unwrap() > 0, "{}", torn(1));
    // Nothing from elsewhere, and the book's page keeps its CSP.
    assert_eq!(
        b.js("return performance.getEntriesByType('resource').every(e => e.name.startsWith(location.origin + '/sub/')) && !!document.querySelector('meta[http-equiv=Content-Security-Policy]') && document.querySelectorAll('script:not([src])').length === 0"),
        true
    );
}

/// The race chapter, served under a sub-path, in every engine: its scenes run
/// ([`live_scenes`]); and, in Chromium, the simulator's own links resolve.
#[test]
#[ignore = "needs trunk, mdbook and chromedriver; .ci/test runs it"]
fn the_book_s_live_scenes_render_and_run_from_a_sub_path() {
    let server = serve(build_page());
    let base = format!("{}sub/", server.base);
    // The scenes in every engine; the simulator's own links once, below.
    for engine in Engine::all() {
        live_scenes(&Browser::start_in(engine), &base);
    }
    let b = Browser::start();
    // The simulator's own links (rendered by the app, so no static checker sees them)
    // resolve under the sub-path: the book, its race chapter, the proof.
    b.goto(&format!("{base}#preset=merged"));
    b.wait_for(
        "the page",
        30,
        "return !!document.querySelector('.intro a')",
        |v| v == true,
    );
    b.js("document.getElementById('check-any').click(); return 0");
    b.wait_for(
        "the proof for any CPU count, with its link",
        120,
        "return !!document.querySelector('a[href=\"book/cutoff.html\"]')",
        |v| v == true,
    );
    let hrefs = b.js("return [...document.querySelectorAll('a[href]')].map(a => a.href).filter(h => h.startsWith(location.origin) && !h.includes('#'))");
    let hrefs: Vec<String> = hrefs
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap().to_string())
        .collect();
    assert!(
        hrefs.iter().any(|h| h.ends_with("/sub/book/race.html")),
        "{hrefs:?}"
    );
    for h in &hrefs {
        let ok = b.js(&format!(
            "return fetch({}).then(r => r.status)",
            serde_json::to_string(h).unwrap()
        ));
        assert_eq!(ok, 200, "{h}");
    }
    if let Ok(path) = std::env::var("TORNSIM_BOOK_SCREENSHOT") {
        b.goto(&format!("{base}book/race.html"));
        b.wait_for(
            "the scene",
            60,
            &in_scene(
                0,
                "(d.getElementById('status')?.textContent || '').startsWith('done')",
            ),
            |v| v == true,
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
        b.screenshot(std::path::Path::new(&path));
    }
}

/// The history chapter: one scene a race, each naming its pre-fix file (`file=`), each
/// showing the hazard its commit describes and the witness as CPU columns.
#[test]
#[ignore = "needs trunk, mdbook and chromedriver; .ci/test runs it"]
fn the_history_chapter_shows_each_race_s_witness() {
    let server = serve(build_page());
    let suite = tornsim_core::general::history::check_suite(
        tornsim_core::general::GCheckOptions::default(),
    )
    .unwrap();
    for engine in Engine::all() {
        let b = Browser::start_in(engine);
        b.goto(&format!("{}book/history.html", server.base));
        b.wait_for(
            "a frame a race",
            30,
            "return document.querySelectorAll('iframe').length",
            |v| v == suite.len(),
        );
        let mut shown = Vec::new();
        for (i, race) in suite.iter().enumerate() {
            let want = format!("{}:", race.rows[0].verdict.name());
            // The snippet's frames load lazily: bring each into view.
            b.js(&format!(
                "document.querySelectorAll('iframe')[{i}].scrollIntoView(); return 0"
            ));
            let v = b.wait_for(
                "the scene's verdict",
                60,
                &in_scene(i, "d.getElementById('general-verdict')?.textContent || ''"),
                |v| v.as_str().is_some_and(|t| t.starts_with(&want)),
            );
            let columns = b.js(&in_scene(
                i,
                "d.getElementById('general-witness')?.textContent || ''",
            ));
            let columns = columns.as_str().unwrap_or("");
            assert!(
                columns.contains("P0(") && columns.contains("P1("),
                "{}, {}: one column a CPU: {columns}",
                engine.name(),
                race.race
            );
            shown.push(
                v.as_str()
                    .unwrap_or("")
                    .split(':')
                    .next()
                    .unwrap_or("")
                    .to_string(),
            );
        }
        eprintln!("e2e history scenes ({}): {shown:?}", engine.name());
    }
}

/// axe-core on every page of the book, the race chapter with its scenes loaded.
#[test]
#[ignore = "needs trunk, mdbook, chromedriver and axe-core; .ci/test runs it"]
fn axe_core_finds_no_wcag_violation_on_the_book_s_pages() {
    let site = build_page();
    let server = serve(site.clone());
    let b = Browser::start();
    let mut pages: Vec<String> = std::fs::read_dir(site.join("book"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".html") && n != "toc.html")
        .collect();
    pages.sort();
    let mut found = Vec::new();
    for p in &pages {
        b.goto(&format!("{}book/{p}", server.base));
        b.wait_for("the chapter", 30, "return document.readyState", |v| {
            v == "complete"
        });
        if p == "race.html" {
            b.wait_for(
                "the scenes",
                60,
                "return [...document.querySelectorAll('iframe')].slice(0, 2).every(f => f.getAttribute('data-tornsim-height'))",
                |v| v == true,
            );
        }
        found.extend(axe(&b).into_iter().map(|v| format!("book/{p}: {v}")));
    }
    eprintln!(
        "e2e book axe: {} pages, {} violations",
        pages.len(),
        found.len()
    );
    assert!(pages.len() >= 13, "{pages:?}");
    assert!(
        found.is_empty(),
        "{} violations:\n{}",
        found.len(),
        found.join("\n")
    );
}
