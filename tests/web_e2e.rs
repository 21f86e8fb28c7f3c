//! End-to-end: the page as trunk builds it, served on 127.0.0.1, in headless Chromium, or
//! in the engine `TORNSIM_ENGINE` names (`firefox`, `webkit`): one body per test, the
//! engine a parameter. Needs trunk and the engines' WebDrivers, which `.ci/setup`
//! installs; `.ci/test` runs these with `--ignored` in each of the three engines.

mod support;

use support::browser::{axe, build_page, serve, Browser, Engine, Server};

/// The built page, served on 127.0.0.1, and a fresh headless browser.
fn page() -> (Server, Browser) {
    (serve(build_page()), Browser::start())
}

/// Opens `url` and waits until the page shows its controls.
fn open(b: &Browser, url: &str) {
    b.goto(url);
    b.wait_for(
        "the page",
        30,
        "return !!document.getElementById('start')",
        |v| v == true,
    );
}

const STATUS: &str = "return document.getElementById('status')?.textContent || ''";
const TORN: &str = "return [...document.querySelectorAll('tr[data-lane] td.torn-count')].map(e => [e.parentElement.dataset.lane, +e.textContent])";

#[test]
#[ignore = "needs trunk and chromedriver; .ci/test runs it"]
fn the_page_runs_batches_in_a_worker_and_finds_torn_reads() {
    let (server, b) = page();
    open(
        &b,
        &format!(
            "{}#preset=seed-thread-v1&compare=1&runs=300000&seed=7",
            server.base
        ),
    );
    // Long tasks are measured from a click on Start to the end of the batch, on a page
    // that has run one batch already: a cold page's first batch does first-time work
    // (code, fonts, layout) that took 50-110 ms once in a few CI runs, and that is not
    // what a running batch costs. The torn counts are the second batch's (the same seed).
    warm_up(
        &b,
        "document.getElementById('start').click(); return 0",
        STATUS_DONE,
    );
    // A long task seen in one batch is measured again in a fresh batch (after Reset),
    // up to three batches: a host that stalls the page's thread once (a CI run on a
    // loaded machine once saw one 306 ms task in a 2 s batch, 0 ms here in every run)
    // is not the page blocking it, and work done on the main thread shows in every batch.
    let mut batches = Vec::new();
    loop {
        b.js(&arm_longtasks(&b));
        b.js("document.getElementById('start').click(); return 0");
        let status = b.wait_for("the batch to finish", 240, STATUS, |v| {
            v.as_str().unwrap_or("").starts_with("done")
        });
        let text = status.as_str().unwrap().to_string();
        assert!(text.contains(" worker"), "{text}");
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
        // Long tasks are reported after they end: give the observer a moment.
        std::thread::sleep(std::time::Duration::from_millis(300));
        let longest = b.js("return window.__longest").as_f64().unwrap_or(0.0);
        let long = b.js("return window.__long").as_u64().unwrap_or(0);
        let rate = text.split('·').nth(2).unwrap_or("").trim().to_string();
        eprintln!("e2e: {text}; lanes {lanes:?}; longest main-thread task {longest:.0} ms; {rate}");
        batches.push(format!(
            "{long} long tasks, [start ms, ms] after the click: {}; status changes: {}",
            b.js("return window.__lt"),
            b.js("return window.__marks")
        ));
        if long == 0 || batches.len() == 3 {
            assert_eq!(
                long, 0,
                "a long task on the main thread in every batch: {batches:#?}"
            );
            break;
        }
        b.js("document.getElementById('reset').click(); return 0");
        b.wait_for("the reset", 10, STATUS_DONE, |v| v == false);
    }
    if let Ok(dir) = std::env::var("TORNSIM_SCREENSHOT") {
        b.js("document.querySelector('button.open-trace')?.click(); return 0");
        std::thread::sleep(std::time::Duration::from_millis(500));
        b.screenshot(std::path::Path::new(&dir));
    }
    // The page fetched only its own files.
    let log = server.log.lock().unwrap().clone();
    assert!(log.iter().all(|p| p.starts_with('/')), "{log:?}");
}

const STATUS_DONE: &str =
    "return (document.getElementById('status')?.textContent || '').startsWith('done')";
const COST_DONE: &str = "return (document.getElementById('status')?.textContent || '').startsWith('done') && document.querySelectorAll('g.rate-row').length == 4 && !/estimating…|after the timed runs/.test(document.body.textContent)";

/// Runs `start` and waits for `done` (both scripts), unmeasured; then Reset, so that
/// the next run's end is not mistaken for this one's.
fn warm_up(b: &Browser, start: &str, done: &str) {
    b.js(start);
    b.wait_for("the warm-up run", 240, done, |v| v == true);
    b.js("document.getElementById('reset').click(); return 0");
    b.wait_for("the reset", 10, STATUS_DONE, |v| v == false);
}

/// Arms the long-task count (`window.__long`, `__longest`, `__lt`) and the status log
/// (`__marks`). Chromium reports long tasks ('longtask' entries: any task over 50 ms);
/// Firefox and WebKit have no such entries, so there a 10 ms heartbeat stands in: a gap
/// between its ticks over [`heartbeat_limit_ms`] is a task that held the main thread.
fn arm_longtasks(b: &Browser) -> String {
    format!(
        "window.__longest = 0; window.__long = 0; window.__lt = []; const t0 = performance.now(); \
    const seen = (start, d, limit) => {{ if (start >= t0) {{ window.__longest = Math.max(window.__longest, d); if (d > limit) {{ window.__long++; window.__lt.push([Math.round(start - t0), Math.round(d)]); }} }} }}; \
    if (window.__beat) clearInterval(window.__beat); \
    for (const o of window.__observers || []) o.disconnect(); window.__observers = []; \
    if ((PerformanceObserver.supportedEntryTypes || []).includes('longtask')) {{ \
      const o = new PerformanceObserver(l => {{ for (const e of l.getEntries()) seen(e.startTime, e.duration, 50); }}); o.observe({{type: 'longtask'}}); window.__observers.push(o); \
    }} else {{ \
      let last = performance.now(); \
      window.__beat = setInterval(() => {{ const now = performance.now(); seen(last, now - last, {}); last = now; }}, 10); \
    }} \
    window.__marks = []; const st = document.getElementById('status'); if (st) {{ const m = new MutationObserver(() => window.__marks.push([Math.round(performance.now() - t0), st.textContent.slice(0, 40)])); m.observe(st, {{subtree: true, childList: true, characterData: true}}); window.__observers.push(m); }} return 0",
        heartbeat_limit_ms(b.engine)
    )
}

/// The longest gap between a 10 ms heartbeat's ticks that is not a long task.
///
/// Firefox: 75 ms (a task of at least 65 ms). WebKit differs: it reports 4 cores on 2
/// (see the cold-batch test), so during a batch its page thread shares two cores with
/// four busy workers and WebKitGTK's software-GL threads (llvmpipe, under Xvfb), all at
/// the same nice level, and its short tasks stretch: gaps of 62-175 ms in the batches
/// measured here, none over 62 ms once the workers' threads were reniced to 19 from outside (the
/// page's thread waits for a core; it does no more work). WebKit's bound is 250 ms: a
/// task that is long in its own right still shows.
fn heartbeat_limit_ms(engine: Engine) -> u32 {
    match engine {
        Engine::WebKit => 250,
        _ => 75,
    }
}

/// The main thread stays free while the workers do the work: no long task
/// ([`arm_longtasks`]) during a cost run (timed runs of four placements, then their
/// rare-event rates), a checker run, or stepping through a trace.
#[test]
#[ignore = "needs trunk and chromedriver; .ci/test runs it"]
fn cost_runs_checks_and_trace_stepping_take_no_long_task() {
    let (server, b) = page();
    b.goto(&format!("{}#preset=merged&runs=200000&seed=2", server.base));
    b.wait_for(
        "the page",
        30,
        "return !!document.getElementById('cost')",
        |v| v == true,
    );
    std::thread::sleep(std::time::Duration::from_secs(1));
    // The observer sees long tasks here at all: a deliberate 300 ms one is counted.
    b.js(&arm_longtasks(&b));
    b.js("setTimeout(() => { const t = performance.now(); while (performance.now() - t < 300) {} }, 0); return 0");
    b.wait_for(
        "the observer to see a long task",
        10,
        "return window.__long",
        |v| v == 1,
    );
    let mut report = Vec::new();
    // `again`: a work that can be readied again by Reset is measured again when a long
    // task shows, up to three times (see the compare test: a host's one-off stall is not
    // the page blocking its thread); the checker and the stepping run once.
    let mut measure = |what: &str, start: &str, done: &str, again: bool| {
        let mut tries = Vec::new();
        loop {
            b.js(&arm_longtasks(&b));
            b.js(start);
            b.wait_for(what, 240, done, |v| v == true);
            // Long tasks are reported after they end: give the observer a moment.
            std::thread::sleep(std::time::Duration::from_millis(300));
            let longest = b.js("return window.__longest").as_f64().unwrap_or(0.0);
            let long = b.js("return window.__long").as_u64().unwrap_or(0);
            report.push(format!(
                "{what}: {long} long tasks, longest {longest:.0} ms"
            ));
            tries.push(format!(
                "longest main-thread task {longest:.0} ms; [start ms, ms] after the click: {}; status changes: {}",
                b.js("return window.__lt"),
                b.js("return window.__marks")
            ));
            if long == 0 || !again || tries.len() == 3 {
                assert_eq!(long, 0, "{what}: {tries:#?}");
                break;
            }
            b.js("document.getElementById('reset').click(); return 0");
            b.wait_for("the reset", 10, STATUS_DONE, |v| v == false);
        }
    };
    // As in the compare test: measured on a page that has done a cost run already.
    warm_up(
        &b,
        "document.getElementById('cost').click(); return 0",
        COST_DONE,
    );
    measure(
        "the cost run and its rates",
        "document.getElementById('cost').click(); return 0",
        COST_DONE,
        true,
    );
    let rows = b.js(
        "return [...document.querySelectorAll('g.rate-row text.note')].map(e => e.textContent)",
    );
    measure(
        "the checker",
        "location.hash = 'preset=seed-thread-v1&runs=1000'; return 0",
        "return !!document.getElementById('check') && !document.getElementById('check').disabled",
        false,
    );
    measure(
        "the checker run",
        "document.getElementById('check').click(); return 0",
        "return /torn/.test(document.getElementById('verdict')?.textContent || '') && !!document.querySelector('#verdict ~ * button.open-trace, button.open-trace')",
        false,
    );
    measure(
        "stepping a trace",
        "document.querySelector('button.open-trace').click(); const next = () => document.querySelector('button[aria-label=\"next step\"]'); let n = 0; const tick = () => { const b = next(); if (b) { b.click(); n++; } if (n < 12) setTimeout(tick, 30); else window.__stepped = true; }; window.__stepped = false; tick(); return 0",
        "return window.__stepped === true",
        false,
    );
    eprintln!("e2e long tasks: {}; rates {rows}", report.join("; "));
}

/// Accessibility: no WCAG 2.1 A/AA violation that axe-core finds on the main page (with
/// a batch's results, a verdict and an open trace on it) and an embed. The book's pages
/// are checked in `book_e2e.rs`.
#[test]
#[ignore = "needs trunk, chromedriver and axe-core; .ci/test runs it"]
fn axe_core_finds_no_wcag_violation_on_the_page_and_an_embed() {
    let (server, b) = page();
    let mut found = Vec::new();
    open(
        &b,
        &format!(
            "{}#preset=seed-thread-v1&compare=1&runs=20000&seed=7",
            server.base
        ),
    );
    b.js("document.getElementById('start').click(); return 0");
    b.wait_for("the batch", 120, STATUS, |v| {
        v.as_str().unwrap_or("").starts_with("done")
    });
    b.js("document.getElementById('check').click(); return 0");
    b.wait_for(
        "the verdict",
        60,
        "return /torn/.test(document.getElementById('verdict')?.textContent || '')",
        |v| v == true,
    );
    b.js("document.querySelector('button.open-trace').click(); return 0");
    std::thread::sleep(std::time::Duration::from_millis(500));
    found.extend(axe(&b).into_iter().map(|v| format!("main page: {v}")));
    b.goto("about:blank");
    b.goto(&format!(
        "{}#embed=1&preset=merged&compare=1&runs=2000&autorun=1",
        server.base
    ));
    b.wait_for("the embed's run", 60, STATUS, |v| {
        v.as_str().unwrap_or("").starts_with("done")
    });
    found.extend(axe(&b).into_iter().map(|v| format!("embed: {v}")));
    assert!(
        found.is_empty(),
        "{} violations:\n{}",
        found.len(),
        found.join("\n")
    );
}

/// The keyboard alone: Tab to Start and press Enter to run a batch, Tab to a torn
/// read's trace and open it, then step it with Next and with the arrow keys.
#[test]
#[ignore = "needs trunk and chromedriver; .ci/test runs it"]
fn the_keyboard_starts_a_batch_and_steps_a_trace() {
    const TAB: &str = "\u{E004}";
    const ENTER: &str = "\u{E007}";
    let (server, b) = page();
    open(
        &b,
        &format!("{}#preset=seed-thread-v1&runs=20000&seed=7", server.base),
    );
    // Tab until `matches` (a JS expression on `e`, the focused element) holds.
    let tab_to = |what: &str, matches: &str| {
        let mut seen = Vec::new();
        for _ in 0..200 {
            // The editor keeps Tab for indenting; Esc first lets Tab move on (as the
            // hint under it says).
            if b.js("return document.activeElement?.id === 'scenario-text'") == true {
                b.press("\u{E00C}");
            }
            b.press(TAB);
            seen.push(b.js("const e = document.activeElement; return e ? e.tagName + '#' + e.id + '.' + e.className : 'none'"));
            let ok = b.js(&format!(
                "const e = document.activeElement; return !!(e && ({matches}))"
            ));
            if ok == true {
                return;
            }
        }
        panic!(
            "Tab never reached {what}: {:?}",
            &seen[..seen.len().min(60)]
        );
    };
    tab_to("Start", "e.id === 'start'");
    b.press(ENTER);
    b.wait_for("the batch", 120, STATUS, |v| {
        v.as_str().unwrap_or("").starts_with("done")
    });
    tab_to("a trace button", "e.classList.contains('open-trace')");
    b.press(ENTER);
    let step = "return document.querySelector('.step-text')?.textContent || ''";
    b.wait_for("the trace", 10, step, |v| {
        !v.as_str().unwrap_or("").is_empty()
    });
    tab_to("Next", "e.getAttribute('aria-label') === 'next step'");
    let before = b.js(step);
    b.press(ENTER);
    let after = b.js(step);
    assert_ne!(before, after, "Enter on Next did not step");
    b.press("\u{E012}"); // left arrow: back one step
    b.wait_for("the arrow key to step back", 5, step, |v| *v == before);
}

/// Runs the 1M-run `seed-thread-v1` batch (seed 7) in the page with `workers` workers
/// (`None`: one per core) and returns (runs with a torn read, runs/s from the click to
/// "done", the status line).
fn timed_batch(b: &Browser, base: &str, workers: Option<usize>) -> (u64, f64, String) {
    let w = workers.map_or(String::new(), |n| format!("&workers={n}"));
    // A new document, not a fragment change: the pool is sized when the page loads.
    b.goto("about:blank");
    open(
        b,
        &format!("{base}#preset=seed-thread-v1&runs=1000000&seed=7{w}"),
    );
    // Let every worker load its wasm before the clock starts.
    std::thread::sleep(std::time::Duration::from_secs(2));
    click_and_time(b)
}

/// Clicks Start and times the batch from the click to "done": (runs with a torn read,
/// runs/s, the status line).
fn click_and_time(b: &Browser) -> (u64, f64, String) {
    b.js("window.__done = 0; const s = document.getElementById('status'); new MutationObserver(() => { if (!window.__done && s.textContent.startsWith('done')) window.__done = performance.now(); }).observe(s, {subtree: true, childList: true, characterData: true}); window.__t0 = performance.now(); document.getElementById('start').click(); return 0");
    // Until "done", the poll reads what the page says, so that a batch that never ends
    // panics with the status line and the Start button's state, not a bare 0.
    b.wait_for("the batch", 240, "return window.__done || ('status: ' + document.getElementById('status').textContent + '; Start disabled: ' + document.getElementById('start').disabled + '; ' + (performance.now() - window.__t0).toFixed(0) + ' ms after the click')", |v| {
        v.as_f64().unwrap_or(0.0) > 0.0
    });
    let ms = b.js("return window.__done - window.__t0").as_f64().unwrap();
    let torn = b.js(TORN)[0][1].as_u64().unwrap();
    let status = b.js(STATUS).as_str().unwrap_or("").to_string();
    (torn, 1e6 / (ms / 1000.0), status)
}

/// The middle of `v` (of an odd count: the median).
fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The worker pool: the same batch with one worker and with one per core finds exactly
/// the torn reads `tornsim run --seed 7` finds. The speed-up is printed, not asserted
/// (timing belongs in benchmarks; the closing note records it).
#[test]
#[ignore = "needs trunk and chromedriver; .ci/test runs it"]
fn a_pool_of_workers_gives_one_workers_results() {
    let cli = std::process::Command::new(env!("CARGO_BIN_EXE_tornsim"))
        .args([
            "run",
            "--preset",
            "seed-thread-v1",
            "--runs",
            "1000000",
            "--seed",
            "7",
            "--json",
        ])
        .output()
        .unwrap();
    let j: serde_json::Value = serde_json::from_slice(&cli.stdout).unwrap();
    let want = j["stats"]["runs_with_torn"]
        .as_u64()
        .or_else(|| j["runs_with_torn"].as_u64())
        .unwrap_or_else(|| panic!("no runs_with_torn in {j}"));
    let (server, b) = page();
    let (one, one_rate, one_status) = timed_batch(&b, &server.base, Some(1));
    let (many, many_rate, many_status) = timed_batch(&b, &server.base, None);
    assert!(one_status.contains("in a worker"), "{one_status}");
    let cores = b
        .js("return navigator.hardwareConcurrency")
        .as_u64()
        .unwrap_or(1);
    if cores > 1 {
        assert!(
            many_status.contains(&format!("in {} workers", cores.min(8))),
            "{many_status}"
        );
    }
    assert_eq!((one, many), (want, want), "page vs tornsim run --seed 7");
    eprintln!(
        "e2e pool: 1 worker {one_rate:.0} runs/s, {} workers {many_rate:.0} runs/s ({:.2}x); {want} runs with a torn read in each",
        cores.min(8),
        many_rate / one_rate
    );
}

/// A cold load, as a first visitor meets it: a browser that is running already (its own
/// start-up is over) opens the page for the first time, with nothing cached, and Start
/// is clicked the moment it appears. The workers start while the page loads, and no
/// core idles while they warm up, so on a machine with two cores or more:
/// - Chromium runs that first batch at 1.5 times one warm worker's rate (1.65-2.11x
///   here);
/// - Firefox at three quarters of its warm pool's rate: its cold batch ran at 0.83-1.00x
///   its pool in five runs here, but at 1.43-1.86x one worker in six, whose rate varies
///   more;
/// - WebKit at half its warm pool's rate: WebKit reports 4 or 8 cores whatever the
///   machine has (a clamp against fingerprinting; 4 on a 2-core machine), so its pool
///   has 4 workers on 2 cores. Most cold loads then run the 1 M runs in 1.1-2.0 s, but
///   about one in four runs slowly from the start (one did 80 k runs in its first 3 s
///   and took 5.5 s), as if the four workers' code waited to be optimised; with
///   `workers=2` eight cold loads took 1.1-2.0 s.
///
/// The cold side is the median of five fresh browsers and the warm sides of three
/// batches each, so that one noisy run on a shared machine (or two of WebKit's slow
/// loads) decides nothing. A browser measured in its own first seconds is not: its
/// start-up took 5-20% of two cores here, which is not the page's.
/// Prints the engine's row of the figures the closing notes keep.
#[test]
#[ignore = "needs trunk and chromedriver; .ci/test runs it"]
fn a_cold_first_batch_keeps_up_with_warm_workers() {
    let server = serve(build_page());
    let url = format!("{}#preset=seed-thread-v1&runs=1000000&seed=7", server.base);
    let (mut cold, mut first_render) = (Vec::new(), Vec::new());
    let mut engine = None;
    for _ in 0..5 {
        let b = Browser::start();
        engine = Some(b.engine);
        b.goto("about:blank");
        std::thread::sleep(std::time::Duration::from_secs(3));
        open(&b, &url);
        let (torn, rate, status) = click_and_time(&b);
        let marks = b.js("return [window.__t0, window.__done, performance.getEntriesByName('tornsim-first-render').map(e => e.startTime), performance.getEntriesByName('tornsim-worker-ready').map(e => e.startTime)].flat().map(Math.round)");
        eprintln!(
            "e2e cold load: {rate:.0} runs/s ({status}); ms after navigation: click, done, first render, workers ready: {marks}"
        );
        first_render.push(marks[2].as_f64().unwrap_or(f64::NAN));
        cold.push((rate, torn));
    }
    let warm = Browser::start();
    let (mut one, mut pool) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        let (torn, rate, _) = timed_batch(&warm, &server.base, Some(1));
        one.push((rate, torn));
        let (torn, rate, _) = timed_batch(&warm, &server.base, None);
        pool.push((rate, torn));
    }
    let torn: Vec<u64> = cold.iter().chain(&one).chain(&pool).map(|x| x.1).collect();
    assert!(
        torn.iter().all(|&t| t == torn[0]),
        "the same seed, the same torn reads: {torn:?}"
    );
    let rates = |v: &[(f64, u64)]| v.iter().map(|x| x.0).collect::<Vec<f64>>();
    let (cold_rate, one_rate, pool_rate) = (
        median(&rates(&cold)),
        median(&rates(&one)),
        median(&rates(&pool)),
    );
    let cores = warm
        .js("return navigator.hardwareConcurrency")
        .as_u64()
        .unwrap_or(1);
    let engine = engine.expect("five cold loads");
    eprintln!(
        "e2e cold first batch: median {cold_rate:.0} runs/s of {:.0?}; one warm worker median {one_rate:.0} of {:.0?}; warm pool median {pool_rate:.0} of {:.0?}; {:.2}x one worker, {:.2}x the pool, on {cores} reported cores",
        rates(&cold),
        rates(&one),
        rates(&pool),
        cold_rate / one_rate,
        cold_rate / pool_rate
    );
    eprintln!(
        "e2e engine row: {} | first render {:.0} ms | cold first batch {cold_rate:.0} runs/s | warm worker {one_rate:.0} runs/s | pool {pool_rate:.0} runs/s in {} workers",
        engine.name(),
        median(&first_render),
        cores.min(8)
    );
    if cores >= 2 {
        let (against, rate, at_least) = match engine {
            Engine::Chromium => ("one warm worker", one_rate, 1.5),
            Engine::Firefox => ("the warm pool", pool_rate, 0.75),
            Engine::WebKit => ("the warm pool", pool_rate, 0.5),
        };
        assert!(
            cold_rate >= at_least * rate,
            "a cold first batch ran at {:.2}x {against} (at least {at_least}x)",
            cold_rate / rate
        );
    }
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
    let (server, b) = page();
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

/// Types into the scenario editor as a user would (value, then an `input` event).
fn type_scenario(b: &Browser, text: &str) {
    let lit = serde_json::to_string(text).unwrap();
    b.js(&format!(
        "const t = document.getElementById('scenario-text'); t.value = {lit}; \
         t.dispatchEvent(new InputEvent('input', {{bubbles: true}})); return 0"
    ));
}

const VERDICT: &str = "return document.getElementById('verdict')?.textContent || ''";
const EDITOR: &str = "return document.getElementById('scenario-text')?.value || ''";

#[test]
#[ignore = "needs trunk and chromedriver; .ci/test runs it"]
fn the_scenario_editor_parses_and_checks_in_the_worker_and_travels_in_a_link() {
    let (server, b) = page();
    b.goto(&format!("{}#preset=merged", server.base));
    let src = b.wait_for("the editor", 30, EDITOR, |v| {
        v.as_str().unwrap_or("").contains("P0(khugepaged)")
    });
    let src = src.as_str().unwrap().to_string();
    // The acceptance edit: move spin_unlock() above pmdp_get_lockless_sync().
    let edited =
        tornsim_core::scenario::move_line(&src, "spin_unlock();", "pmdp_get_lockless_sync();")
            .unwrap();
    type_scenario(&b, &edited);
    b.wait_for(
        "the worker's parse",
        30,
        "return !!document.getElementById('scenario-ok') && !document.getElementById('scenario-check').disabled",
        |v| v == true,
    );
    b.js("document.getElementById('scenario-check').click(); return 0");
    let v = b.wait_for("the torn verdict", 60, VERDICT, |v| {
        v.as_str().unwrap_or("").contains("torn")
    });
    // The address bar is the share link: opened afresh, it shows and checks the same.
    let link = b.js("return location.href").as_str().unwrap().to_string();
    b.goto("about:blank");
    b.goto(&link);
    b.wait_for("the linked editor", 30, EDITOR, |v| {
        v.as_str().unwrap_or("").contains("P0(khugepaged)")
    });
    b.js("document.getElementById('check').click(); return 0");
    b.wait_for("the linked verdict", 60, VERDICT, |v| {
        v.as_str().unwrap_or("").contains("torn")
    });

    // A custom scenario (no built-in placement) travels packed in `scenario=`.
    let custom = tornsim_core::program::builtin_source("no-recheck").unwrap();
    type_scenario(&b, custom);
    let hash = b.wait_for("the packed link", 30, "return location.hash", |v| {
        v.as_str().unwrap_or("").starts_with("#scenario=")
    });
    eprintln!(
        "e2e scenario link: {} characters",
        hash.as_str().unwrap().len()
    );

    // An error is shown at its line, with the nearest name, and blocks Check and Run.
    let bad = custom.replace("read_pmd_high();", "read_pmd_hihg();");
    let line = bad.lines().position(|l| l.contains("hihg")).unwrap() + 1;
    type_scenario(&b, &bad);
    let err = b.wait_for(
        "the error",
        30,
        "return document.getElementById('scenario-error')?.textContent || ''",
        |v| !v.as_str().unwrap_or("").is_empty(),
    );
    let err = err.as_str().unwrap().to_string();
    assert!(err.starts_with(&format!("Line {line}, column ")), "{err}");
    assert!(err.contains("read_pmd_high"), "suggests the name: {err}");
    assert_eq!(
        b.js("return document.querySelector('.gutter .bad')?.textContent"),
        line.to_string()
    );
    assert_eq!(
        b.js("return document.getElementById('scenario-run').disabled"),
        true
    );
    eprintln!("e2e editor: {v}; error shown: {err}");
}

/// The widest element that sticks out of the page sideways, if any.
const OVERFLOW: &str = "const W = document.documentElement.clientWidth; \
    const out = [...document.querySelectorAll('body *')].filter(e => { const r = e.getBoundingClientRect(); return r.right > W + 1 && getComputedStyle(e).position !== 'fixed'; }) \
      .filter(e => !e.closest('.scroll-x')); \
    return { page: document.documentElement.scrollWidth, view: W, first: out.slice(0, 3).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)) };";

/// WebDriver's key codes.
const ALT: &str = "\u{E00A}";
const UP: &str = "\u{E013}";
const DOWN: &str = "\u{E015}";
const ENTER: &str = "\u{E007}";
const END: &str = "\u{E010}";

/// The editor by keyboard alone: the core's lexer colours it; Alt+Up moves the line under
/// the caret and the verdict follows (the withdrawn patch's move makes the merged code
/// torn, Alt+Down makes it safe again); the primitive under the caret shows its row; a
/// name completes as it is typed, chosen with the arrows and Enter; and the parser's
/// error is underlined at its column.
#[test]
#[ignore = "needs trunk and chromedriver; .ci/test runs it"]
fn the_editor_highlights_completes_shows_a_row_and_moves_lines_by_keyboard() {
    let (server, b) = page();
    b.goto(&format!("{}#preset=merged", server.base));
    let src = b.wait_for("the editor", 30, EDITOR, |v| {
        v.as_str().unwrap_or("").contains("P0(khugepaged)")
    });
    let src = src.as_str().unwrap().to_string();
    // Highlighting: the primitives are the lexer's, the hazard and the CPUs are classed.
    let classed = b.js("const h = document.querySelector('.scenario .highlight'); return [h.textContent, [...h.querySelectorAll('.tk-prim')].map(e => e.textContent), [...h.querySelectorAll('.tk-hazard')].map(e => e.textContent), h.querySelectorAll('.tk-cpu').length]");
    assert_eq!(
        classed[0].as_str().unwrap(),
        format!("{src}\n"),
        "the copy is the text"
    );
    let prims: Vec<&str> = classed[1]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        prims.contains(&"pmd_lock") && prims.contains(&"pmdp_get_lockless_sync"),
        "{prims:?}"
    );
    assert_eq!(classed[2][0], "torn");
    assert!(classed[3].as_u64().unwrap() >= 6, "{classed}");
    // The caret on khugepaged's spin_unlock(), then Alt+Up: the withdrawn patch.
    b.js("const t = document.getElementById('scenario-text'); const i = t.value.indexOf('spin_unlock();'); t.focus(); t.setSelectionRange(i + 3, i + 3); return 0");
    b.chord(ALT, UP);
    let moved =
        tornsim_core::scenario::move_line(&src, "spin_unlock();", "pmdp_get_lockless_sync();")
            .unwrap();
    b.wait_for("the moved line", 10, EDITOR, |v| {
        v.as_str() == Some(moved.as_str())
    });
    // The caret moved with its line, and the row shows what spin_unlock() models.
    let caret = b.js("const t = document.getElementById('scenario-text'); return t.value.slice(t.selectionStart - 3, t.selectionStart + 11)");
    assert_eq!(caret, "spin_unlock();");
    let row = b.wait_for(
        "the primitive's row",
        10,
        "return document.getElementById('scenario-row')?.textContent || ''",
        |v| v.as_str().unwrap_or("").contains("spinlock.h"),
    );
    assert!(row.as_str().unwrap().contains("spin_unlock"), "{row}");
    let v = b.wait_for("the verdict after the move", 60, VERDICT, |v| {
        v.as_str().unwrap_or("").contains("torn")
    });
    b.chord(ALT, DOWN);
    b.wait_for("the line moved back", 10, EDITOR, |v| {
        v.as_str() == Some(src.as_str())
    });
    let back = b.wait_for("the verdict after moving back", 60, VERDICT, |v| {
        v.as_str().unwrap_or("").contains("safe")
    });
    eprintln!("e2e editor: after Alt+Up: {v}; after Alt+Down: {back}");
    // Completion: a new line after pte_free_defer(); in khugepaged's block.
    b.js("const t = document.getElementById('scenario-text'); const i = t.value.indexOf('pte_free_defer();') + 'pte_free_defer();'.length; t.setSelectionRange(i, i); return 0");
    b.press(ENTER);
    b.type_text("    pmdp_get_l");
    let offered = b.wait_for("the completion list", 10, "return [...document.querySelectorAll('#scenario-complete [role=option]')].map(o => o.querySelector('code').textContent)", |v| v.as_array().is_some_and(|a| a.len() >= 2));
    let offered: Vec<String> = offered
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert!(
        offered.iter().all(|n| n.starts_with("pmdp_get_l")),
        "{offered:?}"
    );
    let active =
        "return document.getElementById('scenario-text').getAttribute('aria-activedescendant')";
    assert_eq!(b.js(active), "scenario-complete-0");
    b.press(DOWN);
    assert_eq!(b.js(active), "scenario-complete-1");
    if let Ok(path) = std::env::var("TORNSIM_COMPLETION_SCREENSHOT") {
        b.screenshot(std::path::Path::new(&path));
    }
    b.press(ENTER);
    let chosen = &offered[1];
    let text = b.wait_for("the completed name", 10, EDITOR, |v| {
        v.as_str()
            .unwrap_or("")
            .contains(&format!("    {chosen}();\n"))
    });
    assert_eq!(
        b.js("return !!document.getElementById('scenario-complete')"),
        false
    );
    assert!(text.as_str().unwrap().contains("pte_free_defer();\n"));
    // A reader's primitive in khugepaged's block is an error: underlined at its column.
    let err = b.wait_for(
        "the error",
        30,
        "return document.getElementById('scenario-error')?.textContent || ''",
        |v| !v.as_str().unwrap_or("").is_empty(),
    );
    let under = b.js("return [...document.querySelectorAll('.scenario .highlight .err')].map(e => e.textContent).join('')");
    eprintln!("e2e editor: completed {chosen}; error {err}; underlined {under}");
    assert!(
        chosen.starts_with(under.as_str().unwrap().trim_end_matches(['(', ')', ';']))
            && !under.as_str().unwrap().is_empty(),
        "{under} under {err}"
    );
    // Escape closes a list without leaving the editor; End and typing go on as before.
    b.press(END);
    b.type_text(" pmd_l");
    b.wait_for(
        "a second list",
        10,
        "return !!document.getElementById('scenario-complete')",
        |v| v == true,
    );
    b.press("\u{E00C}");
    assert_eq!(
        b.js("return !document.getElementById('scenario-complete') && document.activeElement.id"),
        "scenario-text"
    );
}

#[test]
#[ignore = "needs trunk and chromedriver; .ci/test runs it"]
fn at_390_px_nothing_scrolls_the_page_sideways() {
    let (server, b) = page();
    b.resize(390, 900);
    b.goto(&format!(
        "{}#preset=seed-thread-v1&compare=1&runs=20000&seed=7&autorun=1",
        server.base
    ));
    b.wait_for("the batch", 120, STATUS, |v| {
        v.as_str().unwrap_or("").starts_with("done")
    });
    // With the lane table, the charts, the editor and a trace open.
    b.js("document.querySelector('button.open-trace')?.click(); return 0");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let v = b.js(OVERFLOW);
    eprintln!("e2e 390 px: {v}");
    if let Ok(path) = std::env::var("TORNSIM_NARROW_SCREENSHOT") {
        b.js("document.querySelector('table.lanes').scrollIntoView(); return 0");
        std::thread::sleep(std::time::Duration::from_millis(300));
        b.screenshot(std::path::Path::new(&path));
    }
    assert_eq!(v["page"], v["view"], "the page scrolls sideways: {v}");
    // Chart text is drawn at its CSS size: one SVG unit per pixel, here and wide.
    let narrow = b.js(CHART_SCALES);
    // No chart title or label is cut off, narrow or wide.
    for width in [390, 1280, 1400] {
        b.resize(width, 900);
        std::thread::sleep(std::time::Duration::from_millis(500));
        let clipped = b.js(CLIPPED_CHART_TEXT);
        assert_eq!(clipped, serde_json::json!([]), "at {width} px");
    }
    let wide = b.js(CHART_SCALES);
    eprintln!("e2e chart scales: 390 px {narrow}, 1400 px {wide}");
    for v in [&narrow, &wide] {
        let scales = v.as_array().unwrap();
        assert!(scales.len() >= 3, "{v}");
        assert!(
            scales
                .iter()
                .all(|s| (s.as_f64().unwrap() - 1.0).abs() < 0.02),
            "{v}"
        );
    }
}

/// Chart text that does not fit: a caption wider than its box, or SVG text reaching past
/// its drawing's edge.
const CLIPPED_CHART_TEXT: &str = "const out = []; \
    for (const f of document.querySelectorAll('figure.chart')) { \
      const cap = f.querySelector('figcaption'); \
      if (!cap || cap.scrollWidth > cap.clientWidth + 1) out.push('caption: ' + (cap ? cap.textContent : 'none')); \
      const sr = f.querySelector('svg').getBoundingClientRect(); \
      for (const t of f.querySelectorAll('svg text')) { \
        const r = t.getBoundingClientRect(); \
        if (r.width > 0 && (r.left < sr.left - 1 || r.right > sr.right + 1)) out.push('text: ' + t.textContent); \
      } \
    } \
    return out;";

/// Each chart's drawing scale (screen pixels per SVG unit).
const CHART_SCALES: &str = "return [...document.querySelectorAll('figure.chart svg')].map(s => Math.round(s.getScreenCTM().a * 1000) / 1000)";

#[test]
#[ignore = "needs trunk and chromedriver; .ci/test runs it"]
fn the_first_screen_explains_the_race_and_links_the_book_and_the_proof() {
    let (server, b) = page();
    b.goto(&server.base);
    b.wait_for(
        "the intro",
        30,
        "return !!document.querySelector('section.intro')",
        |v| v == true,
    );
    let text = b.js("return document.querySelector('section.intro').textContent");
    assert!(text.as_str().unwrap().contains("torn read"), "{text}");
    assert_eq!(
        b.js("return document.querySelectorAll('.race .row').length"),
        3
    );
    assert_eq!(
        b.js("return [...document.querySelectorAll('.intro a')].map(a => a.getAttribute('href'))"),
        serde_json::json!(["book/race.html", "book/index.html"])
    );
    b.js("document.querySelector('.intro button.linkish').click(); return 0");
    b.wait_for("the proof", 60, VERDICT, |v| {
        v.as_str().unwrap_or("").contains("torn")
    });
    if let Ok(path) = std::env::var("TORNSIM_INTRO_SCREENSHOT") {
        b.screenshot(std::path::Path::new(&path));
    }
    // Time to first render: navigation start to the app's first effect.
    let first =
        b.js("return performance.getEntriesByName('tornsim-first-render')[0]?.startTime ?? -1");
    let wasm = b.js("return performance.getEntriesByType('resource').filter(r => r.name.endsWith('.wasm')).map(r => [r.name.split('/').pop(), r.encodedBodySize])");
    eprintln!("e2e first render: {first} ms after navigation; wasm fetched {wasm}");
    assert!(
        first.as_f64().unwrap_or(-1.0) > 0.0,
        "no first-render mark: {first}"
    );
}

const GENERAL_POS: &str = "return document.querySelector('#general-trace .pos')?.textContent || ''";

/// A file the general machine runs: its witness opens as a trace at the hazard, steps by
/// the arrow keys and by a click on a row, shows the state after each step, travels in
/// the link, and passes axe-core.
#[test]
#[ignore = "needs trunk and chromedriver; .ci/test runs it"]
fn a_general_files_witness_steps_in_the_trace_view_and_travels_in_a_link() {
    let (server, b) = page();
    let src = tornsim_core::general::builtin("retract-v1-xen").unwrap();
    open(
        &b,
        &format!(
            "{}#scenario={}",
            server.base,
            tornsim_core::scenario::pack(src)
        ),
    );
    b.wait_for(
        "the general machine's report",
        60,
        "return !!document.getElementById('general-open-witness')",
        |v| v == true,
    );
    b.js("document.getElementById('general-open-witness').click(); return 0");
    b.wait_for("the trace at its hazard", 30, GENERAL_POS, |v| {
        v == "18 / 18"
    });
    // The hazard's row, last of 18, is scrolled into the columns' box.
    b.wait_for(
        "the current row in view",
        10,
        "const d = document.querySelector('#general-trace .scroll-x').getBoundingClientRect(); \
         const r = document.querySelector('#general-columns tr.current').getBoundingClientRect(); \
         return r.top >= d.top && r.bottom <= d.bottom + 1",
        |v| v == true,
    );
    let note =
        b.js("return document.querySelector('#general-trace .hazard-note')?.textContent || ''");
    assert!(note.as_str().unwrap().starts_with("torn: "), "{note}");
    let changed = b.js(
        "return [...document.querySelectorAll('#general-state tr.changed th')].map(e => e.textContent)",
    );
    assert_eq!(
        changed,
        serde_json::json!(["P2 pmdval"]),
        "the torn value, and only it"
    );
    b.js("document.getElementById('general-trace').focus(); return 0");
    b.press("\u{E012}"); // left arrow
    b.wait_for("a step back", 10, GENERAL_POS, |v| v == "17 / 18");
    b.js("document.querySelector('#general-columns tr[data-step=\"4\"]').click(); return 0");
    b.wait_for("the clicked row", 10, GENERAL_POS, |v| v == "5 / 18");
    let lock = b.js(
        "return [...document.querySelectorAll('#general-state tr')].find(r => r.querySelector('th').textContent === \"t0's PTE lock\")?.querySelector('td').textContent",
    );
    assert_eq!(lock, "held by P0");
    b.js("document.getElementById('general-to-hazard').click(); return 0");
    b.wait_for("the hazard again", 10, GENERAL_POS, |v| v == "18 / 18");
    // Random runs in the workers: 10,000 under PCT at depth 8, with a chart.
    b.js("for (const [id, v] of [['general-runs-count', '10000'], ['general-scheduler', '2']]) { \
          const s = document.getElementById(id); s.value = v; s.dispatchEvent(new Event('change', {bubbles: true})); } \
          return 0");
    b.js("document.getElementById('general-run').click(); return 0");
    let status = b.wait_for(
        "the general runs",
        120,
        "return document.getElementById('general-runs-status')?.textContent || ''",
        |v| v.as_str().unwrap_or("").starts_with("done"),
    );
    assert!(
        status
            .as_str()
            .unwrap()
            .contains("10000 of 10000 runs (seed 1, PCT, depth 8)"),
        "{status}"
    );
    let torn = b.js("return +(document.querySelector('#general-runs-table tr[data-hazard=torn] .count')?.textContent || 0)");
    assert!(torn.as_u64().unwrap_or(0) > 0, "{torn}");
    let lines = b.js("return document.querySelectorAll('.general-runs svg path, .general-runs svg polyline').length");
    assert!(lines.as_u64().unwrap_or(0) > 0, "a chart line: {lines}");
    if let Ok(to) = std::env::var("TORNSIM_GENERAL_RUNS_SCREENSHOT") {
        b.js("document.getElementById('general-runs-status').scrollIntoView(); return 0");
        b.screenshot(std::path::Path::new(&to));
    }
    let violations = axe(&b);
    assert!(violations.is_empty(), "{}", violations.join("\n"));
    if let Ok(to) = std::env::var("TORNSIM_GENERAL_SCREENSHOT") {
        b.js("document.getElementById('general-trace').scrollIntoView(); return 0");
        b.screenshot(std::path::Path::new(&to));
    }
    // The address bar carries the run: opened afresh, the same trace at its hazard.
    let link = b.wait_for("the trace in the link", 10, "return location.href", |v| {
        v.as_str().unwrap_or("").contains("&trace=tg1.")
    });
    b.goto("about:blank");
    b.goto(link.as_str().unwrap());
    b.wait_for("the linked trace", 60, GENERAL_POS, |v| v == "18 / 18");
}

/// A worker whose wasm does not start says why, and the page runs the batch itself,
/// with a working pool's totals. (A failed start rejects a promise in the worker, which
/// reached the page as nothing at all: the page waited for the worker for ever.)
#[test]
#[ignore = "needs trunk and chromedriver; .ci/test runs it"]
fn a_worker_whose_wasm_does_not_start_says_so_and_the_page_runs_the_batch() {
    let site = build_page();
    let broken = std::env::temp_dir().join(format!("tornsim-broken-{}", std::process::id()));
    std::fs::create_dir_all(&broken).unwrap();
    for e in std::fs::read_dir(&site).unwrap().flatten() {
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), broken.join(e.file_name())).unwrap();
        }
    }
    // Not wasm: every worker's start fails, the two boot.js starts early and the rest.
    std::fs::write(broken.join("worker_bg.wasm"), b"not wasm").unwrap();
    let fragment = "#preset=seed-thread-v1&runs=20000&seed=7&workers=3";
    let totals = |base: &str| {
        let b = Browser::start();
        b.goto("about:blank");
        open(&b, &format!("{base}{fragment}"));
        std::thread::sleep(std::time::Duration::from_secs(2));
        // What the page said before the batch (which clears it).
        let alerts = b.js(&format!("return {ALERTS}"));
        let alerts = alerts.as_str().unwrap_or("").to_string();
        let (torn, _, status) = click_and_time(&b);
        (torn, status, alerts)
    };
    let (torn, status, alerts) = totals(&serve(broken.clone()).base);
    let (want, pool, none) = totals(&serve(site).base);
    std::fs::remove_dir_all(&broken).unwrap();
    eprintln!("e2e broken worker: {alerts:?}; {status:?}; the pool's {pool:?}");
    assert!(
        alerts.contains("The web worker failed") && alerts.contains("did not start"),
        "{alerts}"
    );
    assert!(none.is_empty(), "a working pool: {none}");
    assert!(status.contains("on the page"), "{status}");
    assert_eq!(
        torn, want,
        "runs with a torn read: on the page, in the pool"
    );
    assert!(want > 0);
}

/// The page's alerts, joined: a JavaScript expression.
const ALERTS: &str =
    "[...document.querySelectorAll('[role=alert]')].map(e => e.textContent).join(' | ')";

/// `window.__done` once set, else the verdict's line and the page's alerts.
fn prove_done() -> String {
    format!(
        "return window.__done || JSON.stringify({{ \
        verdict: document.getElementById('verdict')?.textContent ?? null, \
        alerts: {ALERTS}, ms: Math.round(performance.now() - window.__t0) }})"
    )
}

/// The page's Prove of `handshake-mb` at three readers (5.8 M states, the largest
/// built-in case) with `workers` workers (`None`: one per core): (ms from the click to
/// the verdict, the verdict line, whether a progress line showed states and depth, the
/// page's long tasks ([`arm_longtasks`]) as [start, ms] pairs).
fn timed_prove(b: &Browser, base: &str, workers: Option<usize>) -> (f64, String, bool, String) {
    let w = workers.map_or(String::new(), |n| format!("&workers={n}"));
    let src = std::fs::read_to_string("scenarios/handshake-mb.litmus").unwrap();
    b.goto("about:blank");
    open(
        b,
        &format!(
            "{base}#scenario={}&readers=3{w}",
            tornsim_core::scenario::pack(&src)
        ),
    );
    std::thread::sleep(std::time::Duration::from_secs(2));
    b.js(&arm_longtasks(b));
    b.js("window.__done = 0; window.__progress = false; new MutationObserver(() => { const v = document.getElementById('verdict'); if (!v) return; if (/states, depth \\d+/.test(v.textContent)) window.__progress = true; if (!window.__done && v.textContent.startsWith('Exhaustive search')) window.__done = performance.now(); }).observe(document.body, {subtree: true, childList: true, characterData: true}); window.__t0 = performance.now(); document.getElementById('check').click(); return 0");
    // Until the verdict, the poll returns what the page shows instead, for a timeout's
    // message: the search's progress line and any alert (a worker that failed).
    b.wait_for("the verdict", 300, &prove_done(), |v| {
        v.as_f64().unwrap_or(0.0) > 0.0
    });
    let ms = b.js("return window.__done - window.__t0").as_f64().unwrap();
    let text = b
        .js("return document.getElementById('verdict').textContent")
        .as_str()
        .unwrap_or("")
        .to_string();
    let progress = b.js("return window.__progress").as_bool().unwrap_or(false);
    let long = b.js("return JSON.stringify(window.__lt)");
    (ms, text, progress, long.as_str().unwrap_or("").to_string())
}

/// Prove spreads one search over the pool: its parts share no memory, the page only
/// numbers each layer, and the answer is `tornsim check`'s to the transition, with one
/// worker or all of them, and no long task ([`arm_longtasks`]) holds the page's thread
/// while the pool proves. It says how far it has got as it goes, and Cancel stops it
/// (a Prove after that answers as before). The speed-up over one worker is printed,
/// not asserted (the closing note records it).
#[test]
#[ignore = "needs trunk and chromedriver; .ci/test runs it"]
fn prove_spreads_over_the_pool_and_gives_the_clis_answer() {
    let cli = std::process::Command::new(env!("CARGO_BIN_EXE_tornsim"))
        .args([
            "check",
            "scenarios/handshake-mb.litmus",
            "--readers",
            "3",
            "--json",
        ])
        .output()
        .unwrap();
    let j: serde_json::Value = serde_json::from_slice(&cli.stdout).unwrap();
    let want = format!(
        "Exhaustive search: safe ({} states, {} transitions).",
        j["states"], j["transitions"]
    );
    let server = serve(build_page());
    // Three alternating pairs, each side's median: one noisy run decides nothing. Each
    // pair in a browser of its own, as a visitor would prove: a browser that has held
    // earlier pages' workers (hundreds of megabytes each) ran later pairs slower.
    let (mut ones, mut pools, mut longs) = (Vec::new(), Vec::new(), Vec::new());
    let mut b = Browser::start();
    for pair in 0..3 {
        if pair > 0 {
            b = Browser::start();
        }
        let (one_ms, one, _, _) = timed_prove(&b, &server.base, Some(1));
        let (pool_ms, pool, progress, long) = timed_prove(&b, &server.base, None);
        longs.push(long);
        assert!(one.starts_with(&want), "one worker: {one}\nwant: {want}");
        assert!(pool.starts_with(&want), "the pool: {pool}\nwant: {want}");
        assert!(progress, "no progress line while the pool searched");
        ones.push(one_ms / 1000.0);
        pools.push(pool_ms / 1000.0);
    }
    // The page numbers each layer between the workers' batches: never for long. That
    // work is the same in every proof, so it would hold the thread in all three; a
    // loaded host's one-off stall (see the compare test) shows in one.
    assert!(
        longs.iter().any(|l| l == "[]"),
        "long tasks on the page in every proof by the pool ([start ms, ms]): {longs:?}"
    );
    let cores = b
        .js("return navigator.hardwareConcurrency")
        .as_u64()
        .unwrap_or(1);
    eprintln!(
        "e2e prove: handshake-mb at 3 readers, 1 worker {ones:.2?} s, {} workers {pools:.2?} s; medians {:.2} s and {:.2} s ({:.2}x)",
        cores.min(8),
        median(&ones),
        median(&pools),
        median(&ones) / median(&pools)
    );
    // Cancel, once the search is under way; then the button proves again.
    b.js("document.getElementById('check').click(); return 0");
    b.wait_for(
        "a progress line",
        60,
        "return document.getElementById('verdict')?.textContent || ''",
        |v| v.as_str().unwrap_or("").contains("states, depth"),
    );
    b.js("document.getElementById('check-cancel').click(); return 0");
    b.wait_for(
        "the search dropped",
        10,
        "return !document.getElementById('verdict') && !document.getElementById('check').disabled",
        |v| v == true,
    );
    b.js("document.getElementById('check').click(); return 0");
    b.wait_for(
        "the verdict after a cancel",
        300,
        "return document.getElementById('verdict')?.textContent || ''",
        |v| v.as_str().unwrap_or("").starts_with(&want),
    );
}
