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
