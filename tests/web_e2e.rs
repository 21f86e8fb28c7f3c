//! End-to-end: the page as trunk builds it, served on 127.0.0.1, in headless Chromium.
//! Needs trunk and chromedriver, which `.ci/setup` installs; `.ci/test` runs these with
//! `--ignored`.

mod support;

use support::browser::{build_page, serve, Browser};

const STATUS: &str = "return document.getElementById('status')?.textContent || ''";
const TORN: &str = "return [...document.querySelectorAll('tr[data-lane] td.torn-count')].map(e => [e.parentElement.dataset.lane, +e.textContent])";

#[test]
#[ignore = "needs trunk and chromedriver; .ci/test runs it"]
fn the_page_runs_batches_in_a_worker_and_finds_torn_reads() {
    let dist = build_page();
    let server = serve(dist);
    let b = Browser::start();
    // Long tasks are measured from the click on Start to the end of the batch.
    b.goto(&format!(
        "{}#preset=seed-thread-v1&compare=1&runs=300000&seed=7",
        server.base
    ));
    b.wait_for(
        "the page",
        30,
        "return !!document.getElementById('start')",
        |v| v == true,
    );
    b.js("window.__longest = 0; window.__t0 = performance.now(); new PerformanceObserver(l => { for (const e of l.getEntries()) if (e.startTime >= window.__t0) window.__longest = Math.max(window.__longest, e.duration); }).observe({type: 'longtask'}); document.getElementById('start').click(); return 0");
    let status = b.wait_for("the batch to finish", 240, STATUS, |v| {
        v.as_str().unwrap_or("").starts_with("done")
    });
    let text = status.as_str().unwrap().to_string();
    assert!(text.contains("in a worker"), "{text}");
    let torn = b.js(TORN);
    let lanes: Vec<(String, u64)> = torn
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r[0].as_str().unwrap().to_string(), r[1].as_u64().unwrap()))
        .collect();
    let get = |l: &str| lanes.iter().find(|x| x.0 == l).map(|x| x.1).unwrap();
    assert!(get("after-unlock") > 0, "{lanes:?}");
    assert!(get("none") > 0, "{lanes:?}");
    assert_eq!(get("under-ptl"), 0, "{lanes:?}");
    assert_eq!(get("flush-sync-skip"), 0, "{lanes:?}");
    // A chart series per placement.
    let series = b.js("return document.querySelectorAll('polyline.series').length");
    assert_eq!(series, 4);
    let longest = b.js("return window.__longest").as_f64().unwrap_or(0.0);
    let rate = text.split('·').nth(2).unwrap_or("").trim().to_string();
    eprintln!("e2e: {text}; lanes {lanes:?}; longest main-thread task {longest:.0} ms; {rate}");
    if let Ok(dir) = std::env::var("TORNSIM_SCREENSHOT") {
        b.js("document.querySelector('button.open-trace')?.click(); return 0");
        std::thread::sleep(std::time::Duration::from_millis(500));
        b.screenshot(std::path::Path::new(&dir));
    }
    // The page fetched only its own files.
    let log = server.log.lock().unwrap().clone();
    assert!(log.iter().all(|p| p.starts_with('/')), "{log:?}");
}

/// Reads from the embed inside `div#id`'s iframe (same origin, so the host may look in).
fn in_frame(id: &str, expr: &str) -> String {
    format!(
        "const f = document.querySelector('#{id} iframe'); const d = f && f.contentDocument; \
         if (!d) return null; return ({expr});"
    )
}

#[test]
#[ignore = "needs trunk and chromedriver; .ci/test runs it"]
fn a_host_page_with_two_embeds() {
    let server = serve(build_page());
    let b = Browser::start();
    b.goto(&format!("{}fixtures/host.html", server.base));
    // Both divs became iframes, and both told the host their height.
    b.wait_for(
        "two iframes",
        30,
        "return document.querySelectorAll('iframe').length",
        |v| v == 2,
    );
    let heights = b.wait_for(
        "both height messages",
        60,
        "return [...document.querySelectorAll('iframe')].map(f => f.getAttribute('data-tornsim-height'))",
        |v| v.as_array().unwrap().iter().all(|h| h.is_string()),
    );
    // The autorun scene finds torn reads with its controls locked.
    let status = b.wait_for(
        "the scene's batch",
        120,
        &in_frame("scene", "d.getElementById('status')?.textContent || ''"),
        |v| v.as_str().unwrap_or("").starts_with("done"),
    );
    let torn = b.js(&in_frame(
        "scene",
        "+d.querySelector('td.torn-count').textContent",
    ));
    assert!(torn.as_u64().unwrap() > 0, "{torn}");
    let locked = b.js(&in_frame(
        "scene",
        "[...d.querySelectorAll('.controls select')].every(s => s.disabled)",
    ));
    assert_eq!(locked, true);
    assert_eq!(
        b.js(&in_frame(
            "scene",
            "!!d.querySelector('.embed-head a[target=_blank]')"
        )),
        true,
        "an 'open full simulator' link"
    );
    // The hostile attribute is shown as text, in a notice, and ran nothing.
    let notice = b.wait_for(
        "the hostile embed's notice",
        30,
        &in_frame("hostile", "d.querySelector('.notice')?.textContent || ''"),
        |v| v.as_str().unwrap_or("").contains("could not be used"),
    );
    assert!(notice.as_str().unwrap().contains("<img"), "{notice}");
    assert_eq!(
        b.js(&in_frame(
            "hostile",
            "d.querySelectorAll('img, script:not([src])').length"
        )),
        0
    );
    assert_eq!(b.js("return document.querySelectorAll('img').length"), 0);
    assert_eq!(b.js("return window.__pwned === undefined"), true);
    // The embeds fetched only files of their own origin, under their CSP.
    assert_eq!(
        b.js(&in_frame(
            "scene",
            "f.contentWindow.performance.getEntriesByType('resource').every(e => e.name.startsWith(location.origin)) && !!d.querySelector('meta[http-equiv=Content-Security-Policy]')"
        )),
        true
    );
    eprintln!("e2e embeds: heights {heights}; scene: {status}; {torn} runs with a torn read; hostile notice: {notice}");
}

#[test]
#[ignore = "needs trunk and chromedriver; .ci/test runs it"]
fn the_explainer_shows_six_live_scenes_and_the_page_works_from_a_sub_path() {
    let server = serve(build_page());
    let b = Browser::start();
    b.goto(&format!("{}explainer.html", server.base));
    b.wait_for(
        "six scenes",
        30,
        "return document.querySelectorAll('iframe').length",
        |v| v == 6,
    );
    b.wait_for(
        "every scene to size itself",
        90,
        "return [...document.querySelectorAll('iframe')].every(f => f.getAttribute('data-tornsim-height'))",
        |v| v == true,
    );
    // Served under /sub/, the page still finds its scripts, wasm and worker.
    b.goto(&format!(
        "{}sub/#preset=merged&runs=2000&autorun=1",
        server.base
    ));
    let s = b.wait_for("the sub-path run", 60, STATUS, |v| {
        v.as_str().unwrap_or("").starts_with("done")
    });
    assert!(s.as_str().unwrap().contains("in a worker"), "{s}");
}
