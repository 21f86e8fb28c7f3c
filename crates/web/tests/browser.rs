//! The real components mounted in headless Chrome (`wasm-pack test --headless --chrome
//! crates/web`), asserting on the DOM.

#![cfg(target_arch = "wasm32")]

use std::time::Duration;
use tornsim_web::{App, AppProps};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn doc() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

/// Mounts the page with `fragment` into a fresh element, chunks running on the page
/// (the test runner serves no worker script).
async fn mount(fragment: &str) -> web_sys::Element {
    mount_with(fragment, false).await
}

/// `sync_url`: the page keeps the address bar's fragment and follows its changes.
async fn mount_with(fragment: &str, sync_url: bool) -> web_sys::Element {
    let root = doc().create_element("div").unwrap();
    doc().body().unwrap().append_child(&root).unwrap();
    yew::Renderer::<App>::with_root_and_props(
        root.clone(),
        AppProps {
            fragment: fragment.to_string().into(),
            use_worker: false,
            sync_url,
        },
    )
    .render();
    // Yew renders on its scheduler, after this task.
    for _ in 0..100 {
        if root.query_selector("main.tornsim").unwrap().is_some() {
            break;
        }
        gloo_timers::future::sleep(Duration::from_millis(10)).await;
    }
    root
}

fn text(root: &web_sys::Element, sel: &str) -> String {
    root.query_selector(sel)
        .unwrap()
        .and_then(|e| e.text_content())
        .unwrap_or_default()
}

fn click(root: &web_sys::Element, sel: &str) {
    root.query_selector(sel)
        .unwrap()
        .unwrap_or_else(|| panic!("no {sel}"))
        .dyn_into::<web_sys::HtmlElement>()
        .unwrap()
        .click();
}

async fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    for _ in 0..secs * 20 {
        if f() {
            return;
        }
        gloo_timers::future::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

fn torn_counts(root: &web_sys::Element) -> Vec<(String, u64)> {
    let rows = root.query_selector_all("tr[data-lane]").unwrap();
    (0..rows.length())
        .map(|i| {
            let tr: web_sys::Element = rows.item(i).unwrap().dyn_into().unwrap();
            let lane = tr.get_attribute("data-lane").unwrap();
            let n = tr
                .query_selector("td.torn-count")
                .unwrap()
                .unwrap()
                .text_content()
                .unwrap();
            (lane, n.parse().unwrap())
        })
        .collect()
}

#[wasm_bindgen_test]
async fn the_withdrawn_patch_shows_torn_reads_and_a_chart_series() {
    let root = mount("preset=seed-thread-v1&runs=20000&seed=7").await;
    click(&root, "#start");
    wait_until("the batch to finish", 120, || {
        text(&root, "#status").starts_with("done")
    })
    .await;
    let counts = torn_counts(&root);
    assert_eq!(counts.len(), 1);
    assert!(counts[0].1 > 0, "{counts:?}");
    assert_eq!(
        root.query_selector_all("polyline.series").unwrap().length(),
        1
    );
    assert!(text(&root, "#status").contains("on the page"));
    // The first torn read opens as a trace.
    click(&root, "button.open-trace");
    wait_until("the trace viewer", 5, || {
        root.query_selector("section.trace").unwrap().is_some()
    })
    .await;
    assert!(root.query_selector_all(".step.torn").unwrap().length() == 1);
}

#[wasm_bindgen_test]
async fn the_merged_code_shows_zero() {
    let root = mount("preset=merged&runs=20000&seed=7").await;
    click(&root, "#start");
    wait_until("the batch to finish", 120, || {
        text(&root, "#status").starts_with("done")
    })
    .await;
    assert_eq!(torn_counts(&root), vec![("under-ptl".to_string(), 0)]);
}

#[wasm_bindgen_test]
async fn a_malformed_fragment_shows_a_notice_and_the_defaults() {
    for bad in [
        "mode=arm",
        "readers=%3Cimg%20src=x%20onerror=alert(1)%3E",
        "trace=ts1.garbage",
        "<script>alert(1)</script>",
        "runs=0",
    ] {
        let root = mount(bad).await;
        gloo_timers::future::sleep(Duration::from_millis(30)).await;
        let notice = text(&root, ".notice");
        assert!(notice.contains("could not be used"), "{bad}: {notice:?}");
        assert!(
            root.query_selector("img").unwrap().is_none(),
            "{bad} injected markup"
        );
        assert!(root.query_selector("script").unwrap().is_none());
        // Defaults: the withdrawn patch's preset, ready to start.
        assert!(root.query_selector("#start").unwrap().is_some());
    }
}

#[wasm_bindgen_test]
async fn an_invalid_combination_is_explained_not_clamped() {
    let root = mount("preset=seed-thread-v1").await;
    let input: web_sys::HtmlInputElement = root
        .query_selector("input[name=cpus]")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    input.set_value("3");
    input
        .dispatch_event(&web_sys::Event::new("change").unwrap())
        .unwrap();
    wait_until("the explanation", 5, || {
        text(&root, "#invalid").contains("cpus")
    })
    .await;
    let start: web_sys::HtmlButtonElement = root
        .query_selector("#start")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    assert!(start.disabled());
    assert_eq!(input.value(), "3");
}

#[wasm_bindgen_test]
async fn the_trace_viewer_steps() {
    let cfg = tornsim_core::preset("seed-thread-v1").unwrap().config;
    let r = tornsim_core::check(&cfg, Default::default()).unwrap();
    let schedule = r.witness.as_ref().unwrap().encode();
    let root = mount(&format!("preset=seed-thread-v1&trace={schedule}")).await;
    wait_until("the trace", 5, || {
        root.query_selector("section.trace").unwrap().is_some()
    })
    .await;
    let n = r.witness_len();
    assert_eq!(text(&root, ".pos"), format!("0 / {n}"));
    click(&root, "button[aria-label='next step']");
    wait_until("a step", 5, || text(&root, ".pos") == format!("1 / {n}")).await;
    assert!(text(&root, ".step-text").contains("pmd_lock"));
    // Arrow keys step too.
    let init = web_sys::KeyboardEventInit::new();
    init.set_key("ArrowRight");
    init.set_bubbles(true);
    let ev = web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    root.query_selector("section.trace")
        .unwrap()
        .unwrap()
        .dispatch_event(&ev)
        .unwrap();
    wait_until("a key step", 5, || {
        text(&root, ".pos") == format!("2 / {n}")
    })
    .await;
    // To the end: the torn read is announced and its three loads are highlighted.
    for _ in 2..n {
        click(&root, "button[aria-label='next step']");
    }
    wait_until("the end", 5, || text(&root, ".pos") == format!("{n} / {n}")).await;
    assert!(text(&root, ".hazard-note").contains("Torn read"));
    assert_eq!(
        root.query_selector_all(".step.torn-load").unwrap().length(),
        3
    );
}

/// Checks a built-in scenario file and mounts the page with that file and its shortest
/// witness open in the trace viewer: the page's root, the check's result, and the file
/// packed as a link carries it.
async fn mount_witness(name: &str) -> (web_sys::Element, tornsim_core::CheckResult, String) {
    let src = tornsim_core::program::builtin_source(name).unwrap();
    let (_, cfg) = tornsim_core::program::load(src).unwrap();
    let r = tornsim_core::check(&cfg, Default::default()).unwrap();
    let schedule = r.witness.as_ref().unwrap().encode();
    let packed = tornsim_core::scenario::pack(src);
    let root = mount(&format!("scenario={packed}&trace={schedule}")).await;
    wait_until("the trace", 5, || {
        root.query_selector("section.trace").unwrap().is_some()
    })
    .await;
    (root, r, packed)
}

/// Under `memory = tso` the trace has a store-buffer row for khugepaged, its drains sit
/// on that row, and the step text lists what each buffer holds; the memory model
/// toggles in the controls, and from the link.
#[wasm_bindgen_test]
async fn a_tso_trace_shows_store_buffers_and_the_memory_model_toggles() {
    let (root, r, _) = mount_witness("x2apic-no-fence").await;
    assert_eq!(text(&root, ".store-buffer text"), "CPU0 store buffer");
    assert_eq!(root.query_selector_all(".step.drain").unwrap().length(), 3);
    let n = r.witness_len();
    for _ in 0..3 {
        click(&root, "button[aria-label='next step']");
    }
    wait_until("three steps", 5, || {
        text(&root, ".pos") == format!("3 / {n}")
    })
    .await;
    assert!(
        root.text_content()
            .unwrap_or_default()
            .contains("Store buffers: CPU0: pmd_low = 0, pmd_high = 0"),
        "{}",
        text(&root, ".step-text")
    );
    for _ in 3..n {
        click(&root, "button[aria-label='next step']");
    }
    wait_until("the end", 5, || text(&root, ".pos") == format!("{n} / {n}")).await;
    assert!(text(&root, ".hazard-note").contains("Stale use"));
    let memory = |root: &web_sys::Element| {
        root.query_selector("select[name=memory]")
            .unwrap()
            .unwrap()
            .dyn_into::<web_sys::HtmlSelectElement>()
            .unwrap()
    };
    assert_eq!(memory(&root).value(), "tso");
    let root = mount("preset=merged").await;
    assert_eq!(memory(&root).value(), "sc");
    memory(&root).set_value("tso");
    memory(&root)
        .dispatch_event(&web_sys::Event::new("change").unwrap())
        .unwrap();
    // The scenario panel's file takes the setting.
    wait_until("the file to say memory = tso", 5, || {
        editor(&root)
            .value()
            .contains("memory = tso; apic = xapic;")
    })
    .await;
    root.remove();
}

#[wasm_bindgen_test]
async fn a_trace_of_a_scenario_with_shared_words_shows_them_and_its_final_state() {
    let (root, r, packed) = mount_witness("handshake-no-mb").await;
    assert_eq!(r.verdict, tornsim_core::Verdict::Observed);
    let n = r.witness_len();
    click(&root, "button[aria-label='next step']");
    wait_until("one step", 5, || text(&root, ".pos") == format!("1 / {n}")).await;
    let step = text(&root, ".step-text");
    assert!(step.contains("WRITE_ONCE(collapsing, 1)"), "{step}");
    assert!(
        step.contains("Shared words and registers: collapsing=0 walking=0 P0:r0=- P2:r1=-"),
        "{step}"
    );
    for _ in 1..n {
        click(&root, "button[aria-label='next step']");
    }
    wait_until("the end", 5, || text(&root, ".pos") == format!("{n} / {n}")).await;
    let step = text(&root, ".step-text");
    assert!(
        step.contains("collapsing=1 walking=1 P0:r0=0 P2:r1=0"),
        "{step}"
    );
    assert!(text(&root, ".hazard-note").contains("exists clause describes"));
    root.remove();
    // Random runs in the page count the runs that end as the clause says.
    let root = mount(&format!("scenario={packed}&runs=20000&seed=3")).await;
    click(&root, "#start");
    wait_until("the batch to finish", 120, || {
        text(&root, "#status").starts_with("done")
    })
    .await;
    let n: u64 = text(&root, "td.observed-count").parse().unwrap();
    assert!(n > 0, "{n}");
    root.remove();
}

#[wasm_bindgen_test]
async fn be_the_scheduler_produces_a_torn_read() {
    let cfg = tornsim_core::preset("seed-thread-v1").unwrap().config;
    let w = tornsim_core::check(&cfg, Default::default())
        .unwrap()
        .witness
        .unwrap();
    let root = mount("preset=seed-thread-v1").await;
    click(&root, "#manual");
    wait_until("the choices", 5, || {
        root.query_selector("button.choice").unwrap().is_some()
    })
    .await;
    // Play the checker's witness by clicking the matching CPU each time.
    for ch in &w.choices {
        let want = format!(
            "CPU{}{}:",
            ch.cpu,
            if ch.ack {
                " IRQ"
            } else if ch.drain {
                " store buffer"
            } else {
                ""
            }
        );
        let buttons = root.query_selector_all("button.choice").unwrap();
        let b = (0..buttons.length())
            .map(|i| {
                buttons
                    .item(i)
                    .unwrap()
                    .dyn_into::<web_sys::HtmlElement>()
                    .unwrap()
            })
            .find(|b| b.text_content().unwrap_or_default().starts_with(&want))
            .unwrap_or_else(|| panic!("no choice {want}"));
        b.click();
        gloo_timers::future::sleep(Duration::from_millis(5)).await;
    }
    wait_until("the win", 5, || text(&root, ".win").contains("torn read")).await;
}

#[wasm_bindgen_test]
fn core_statistics_in_wasm_equal_the_native_golden_file() {
    let cfg = tornsim_core::preset("seed-thread-v1").unwrap().config;
    let stats = tornsim_core::Batch::new(&cfg, tornsim_core::SchedulerSpec::Random, 7)
        .unwrap()
        .run(5_000);
    let got = serde_json::to_string_pretty(&stats).unwrap() + "\n";
    let want = include_str!("../../core/tests/golden/seed-thread-v1-seed7-5000.json");
    assert_eq!(got, want);
}

trait WitnessLen {
    fn witness_len(&self) -> usize;
}
impl WitnessLen for tornsim_core::CheckResult {
    fn witness_len(&self) -> usize {
        self.witness.as_ref().map_or(0, |w| w.choices.len())
    }
}

#[wasm_bindgen_test]
async fn the_cost_trade_off_plots_one_point_per_placement() {
    let root = mount("preset=merged&runs=3000&seed=2").await;
    click(&root, "#cost");
    wait_until("the timed runs", 120, || {
        text(&root, "#status").starts_with("done")
    })
    .await;
    assert_eq!(root.query_selector_all("g.dot").unwrap().length(), 4);
    let p99 = |lane: &str| -> f64 {
        text(&root, &format!("tr[data-timed-lane='{lane}'] td.hold-p99"))
            .parse()
            .unwrap()
    };
    // The sync under the lock holds it longer than the sync after the unlock.
    assert!(
        p99("under-ptl") > p99("after-unlock"),
        "{} vs {}",
        p99("under-ptl"),
        p99("after-unlock")
    );
    // Then each placement's rare-event rate: the safe ones exactly 0 by proof, the
    // withdrawn one a rate with its interval drawn on the log axis.
    let note = |lane: &str| {
        text(
            &root,
            &format!("g.rate-row[data-series='{lane}'] text.note"),
        )
    };
    wait_until("the rare-event rates", 240, || {
        let text = root.text_content().unwrap_or_default();
        root.query_selector_all("g.rate-row").unwrap().length() == 4
            && !text.contains("estimating…")
            && !text.contains("after the timed runs")
    })
    .await;
    assert_eq!(note("under-ptl"), "0: proved safe");
    let rare = note("after-unlock");
    assert!(rare.contains("e-") && rare.contains('±'), "{rare}");
    let row = root
        .query_selector("g.rate-row[data-series='after-unlock']")
        .unwrap()
        .unwrap();
    assert_eq!(row.query_selector_all("circle").unwrap().length(), 1);
    assert_eq!(row.query_selector_all("line.whisker").unwrap().length(), 3);
}

fn editor(root: &web_sys::Element) -> web_sys::HtmlTextAreaElement {
    root.query_selector("#scenario-text")
        .unwrap()
        .expect("the scenario editor")
        .dyn_into()
        .unwrap()
}

/// Types `text` into the editor as a user would: the value, then an `input` event; then
/// waits for the page to have shown it as being read (the worker's answer may follow).
async fn type_into(root: &web_sys::Element, text: &str) {
    let t = editor(root);
    t.set_value(text);
    let ev = web_sys::InputEvent::new("input").unwrap();
    t.dispatch_event(&ev).unwrap();
    gloo_timers::future::sleep(Duration::from_millis(300)).await;
}

/// The acceptance edit: the unlock moved above the sync.
fn unlock_first(src: &str) -> String {
    tornsim_core::scenario::move_line(src, "spin_unlock();", "pmdp_get_lockless_sync();").unwrap()
}

fn disabled(root: &web_sys::Element, sel: &str) -> bool {
    root.query_selector(sel)
        .unwrap()
        .unwrap_or_else(|| panic!("no {sel}"))
        .has_attribute("disabled")
}

#[wasm_bindgen_test]
async fn the_editor_shows_merged_and_moving_the_unlock_line_tears() {
    let root = mount("preset=merged").await;
    let src = editor(&root).value();
    assert!(src.contains("P0(khugepaged)"), "{src}");
    click(&root, "#scenario-check");
    wait_until("the unedited verdict", 60, || {
        text(&root, "#verdict").contains("safe")
    })
    .await;

    type_into(&root, &unlock_first(&src)).await;
    wait_until("the edit to parse", 10, || {
        root.query_selector("#scenario-ok").unwrap().is_some()
    })
    .await;
    click(&root, "#scenario-check");
    wait_until("the torn verdict", 60, || {
        text(&root, "#verdict").contains("torn")
    })
    .await;
    assert!(text(&root, "#verdict").contains("Shortest witness"));
}

#[wasm_bindgen_test]
async fn an_error_is_shown_at_its_line_and_blocks_check_and_run() {
    let root = mount("preset=seed-thread-v1").await;
    let src = editor(&root).value();
    let line = src.lines().position(|l| l.trim() == "pmd_lock();").unwrap() + 1;
    let bad: String = src
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i + 1 == line {
                l.replace("pmd_lock", "pmd_lok")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    type_into(&root, &bad).await;
    wait_until("the error", 10, || {
        root.query_selector("#scenario-error").unwrap().is_some()
    })
    .await;
    let msg = text(&root, "#scenario-error");
    assert!(msg.starts_with(&format!("Line {line}, column ")), "{msg}");
    assert!(
        msg.contains("pmd_lok") && msg.contains("pmd_lock"),
        "suggests the name: {msg}"
    );
    assert_eq!(text(&root, ".gutter .bad"), line.to_string());
    assert!(disabled(&root, "#scenario-check") && disabled(&root, "#scenario-run"));
    assert!(disabled(&root, "#start"));
    // Fixing it clears the error.
    type_into(&root, &src).await;
    wait_until("the fix", 10, || {
        root.query_selector("#scenario-ok").unwrap().is_some()
    })
    .await;
    assert!(!disabled(&root, "#scenario-run"));
}

#[wasm_bindgen_test]
async fn a_share_link_carries_an_edited_scenario_and_its_claim() {
    let text_src = tornsim_core::program::builtin_source("no-recheck").unwrap();
    let (_, cfg) = tornsim_core::program::load(text_src).unwrap();
    let share = tornsim_core::Share {
        config: cfg,
        ..Default::default()
    };
    let root = mount(&share.to_query()).await;
    assert_eq!(editor(&root).value(), text_src);
    assert!(text(&root, "#scenario-desc").len() > 10);
    click(&root, "#scenario-check");
    wait_until("the verdict", 60, || {
        text(&root, "#verdict").contains("torn")
    })
    .await;
    assert!(
        text(&root, "#claim").contains("holds"),
        "{}",
        text(&root, "#verdict")
    );

    // A link whose scenario has an error opens it with the error, not an empty page.
    let broken = text_src.replace("pmdp_get_lockless_sync();", "pmdp_get_lockless_sync()");
    let root = mount(&format!(
        "scenario={}",
        tornsim_core::scenario::pack(&broken)
    ))
    .await;
    assert!(root.query_selector(".notice").unwrap().is_some());
    wait_until("the error", 10, || {
        root.query_selector("#scenario-error").unwrap().is_some()
    })
    .await;
    assert_eq!(editor(&root).value(), broken);
}

#[wasm_bindgen_test]
async fn a_fragment_change_applies_a_new_preset_and_controls_push_history() {
    let w = web_sys::window().unwrap();
    let root = mount_with("preset=seed-thread-v1", true).await;
    assert!(editor(&root).value().starts_with("tornsim seed-thread-v1"));
    // A pasted link: the hash changes under the page.
    w.location().set_hash("preset=merged&seed=5").unwrap();
    wait_until("the new preset", 10, || {
        editor(&root).value().starts_with("tornsim merged")
    })
    .await;
    let seed: web_sys::HtmlInputElement = root
        .query_selector("input[name=seed]")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    assert_eq!(seed.value(), "5");
    // A preset picked by a click is its own history entry.
    let before = w.history().unwrap().length().unwrap();
    click(&root, "button.preset[data-preset=non-pae]");
    wait_until("the pushed entry", 10, || {
        w.history().unwrap().length().unwrap() == before + 1
    })
    .await;
    assert!(w.location().hash().unwrap().contains("mode=non-pae"));
    // Back returns to the pasted link's settings.
    w.history().unwrap().back().unwrap();
    wait_until("Back", 10, || {
        editor(&root).value().starts_with("tornsim merged")
    })
    .await;
    root.remove();
    w.location().set_hash("").unwrap();
}

#[wasm_bindgen_test]
async fn prove_for_any_number_of_cpus_shows_the_argument_and_the_fewest_readers() {
    let root = mount("preset=merged").await;
    click(&root, "#check-any");
    wait_until("the proof", 60, || {
        text(&root, "#verdict").contains("every CPU count")
    })
    .await;
    let v = text(&root, "#verdict");
    assert!(v.contains("safe for any number of CPUs"), "{v}");
    let arg = text(&root, "#argument");
    for c in [
        "C1 holds",
        "C2 holds",
        "C3 holds",
        "Checked: 1 reader: safe",
    ] {
        assert!(arg.contains(c), "{c}: {arg}");
    }
    // The withdrawn patch: torn with one reader, and its witness opens on 3 CPUs.
    let root = mount("preset=seed-thread-v1").await;
    click(&root, "#check-any");
    wait_until("the torn read", 60, || {
        text(&root, "#verdict").contains("every CPU count")
    })
    .await;
    let v = text(&root, "#verdict");
    assert!(
        v.contains("torn with 1 reader, the fewest that reach it"),
        "{v}"
    );
    click(&root, "#verdict .open-trace");
    wait_until("the trace", 30, || {
        root.query_selector("section.trace").unwrap().is_some()
    })
    .await;
    let summary = text(&root, "section.trace .summary");
    assert!(summary.contains("1x gup-fast / 3 CPUs"), "{summary}");
}

/// A file the general machine runs, typed into the editor and opened from a link: the
/// Scenario panel shows its verdict, its witness as CPU columns and its random runs, and
/// the classic controls say why they do not run it.
#[wasm_bindgen_test]
async fn a_general_file_shows_the_general_machines_verdict_witness_and_runs() {
    let file = |name: &str| tornsim_core::general::builtin(name).unwrap();
    let root = mount("preset=merged").await;
    type_into(&root, file("mremap-retract-before")).await;
    wait_until("the general machine's answer", 30, || {
        root.query_selector("#general-verdict").unwrap().is_some()
    })
    .await;
    let verdict = text(&root, "#general-verdict");
    assert!(
        verdict.starts_with("bogus-table:") && verdict.contains("claim holds"),
        "{verdict}"
    );
    let witness = text(&root, "#general-witness");
    assert!(
        witness.contains("P1(mremap)") && witness.contains("<-- bogus-table"),
        "{witness}"
    );
    assert!(
        text(&root, "#general-runs").contains("bogus-table in"),
        "{}",
        text(&root, "#general-runs")
    );
    assert!(disabled(&root, "#start") && disabled(&root, "#scenario-check"));
    // The witness opens as a trace at its hazard, with the state after each step.
    click(&root, "#general-open-witness");
    wait_until("the general trace", 10, || {
        root.query_selector("#general-trace").unwrap().is_some()
    })
    .await;
    let rows = root
        .query_selector_all("#general-columns tbody tr")
        .unwrap()
        .length();
    let pos = text(&root, "#general-trace .pos");
    assert_eq!(pos, format!("{rows} / {rows}"), "opened at the hazard");
    assert!(text(&root, "#general-columns tr.current").contains("bogus-table"));
    assert!(text(&root, "#general-state caption").contains(&format!("after step {rows}")));
    click(&root, "#general-trace button[aria-label='previous step']");
    wait_until("a step back", 10, || {
        text(&root, "#general-trace .pos") == format!("{} / {rows}", rows - 1)
    })
    .await;
    click(&root, "#general-trace .trace-head button");
    wait_until("the trace closed", 10, || {
        root.query_selector("#general-trace").unwrap().is_none()
    })
    .await;
    // Random runs, on the page when no worker starts: the count chosen, a hazard found.
    let count: web_sys::HtmlSelectElement = root
        .query_selector("#general-runs-count")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    count.set_value("10000");
    count
        .dispatch_event(&web_sys::Event::new("change").unwrap())
        .unwrap();
    // The Run button reads the count as rendered.
    gloo_timers::future::sleep(Duration::from_millis(200)).await;
    click(&root, "#general-run");
    wait_until("the general runs", 120, || {
        text(&root, "#general-runs-status").starts_with("done")
    })
    .await;
    let status = text(&root, "#general-runs-status");
    assert!(status.contains("10000 of 10000 runs"), "{status}");
    assert!(
        root.query_selector("#general-runs-table tr[data-hazard='bogus-table']")
            .unwrap()
            .is_some(),
        "{status}"
    );
    // The same from a link, for a safe file.
    let share = tornsim_core::Share {
        general: Some(file("collapse-v1-order").to_string()),
        ..Default::default()
    };
    let root = mount(&share.to_query()).await;
    wait_until("the linked file's answer", 30, || {
        root.query_selector("#general-verdict").unwrap().is_some()
    })
    .await;
    assert!(text(&root, "#general-verdict").starts_with("safe:"));
    assert_eq!(editor(&root).value(), file("collapse-v1-order"));
    assert!(root.query_selector("#general-witness").unwrap().is_none());
    assert!(text(&root, "#general-runs").contains("no hazard"));
    // Proved for every walker count on request; the button goes once answered.
    click(&root, "#general-prove-any");
    wait_until("the proof for any count", 60, || {
        text(&root, "#general-verdict").contains("any number of walkers")
    })
    .await;
    let v = text(&root, "#general-verdict");
    assert!(
        v.starts_with("safe:") && v.contains("C1 holds, C2 holds, C3 holds"),
        "{v}"
    );
    assert!(root.query_selector("#general-prove-any").unwrap().is_none());
}

/// An embed of a general file (no editor on an embed): its name in the head, its
/// answer, and its witness opening as a trace.
#[wasm_bindgen_test]
async fn an_embed_of_a_general_file_shows_its_answer() {
    let src = tornsim_core::general::builtin("munmap-get-page-before").unwrap();
    let share = tornsim_core::Share {
        general: Some(src.to_string()),
        ..Default::default()
    };
    let root = mount(&format!("embed=1&{}", share.to_query())).await;
    wait_until("the embed's general answer", 30, || {
        root.query_selector("#general-verdict").unwrap().is_some()
    })
    .await;
    assert!(
        root.query_selector("#scenario-text").unwrap().is_none(),
        "no editor"
    );
    assert!(text(&root, ".embed-head strong").starts_with("tornsim: munmap-get-page-before ("));
    assert!(text(&root, "#general-verdict").starts_with("freed-page:"));
    click(&root, "#general-open-witness");
    wait_until("the trace", 10, || {
        root.query_selector("#general-trace").unwrap().is_some()
    })
    .await;
}

/// The kernel history gallery loads a race's files into the editor: the pre-fix order
/// reaches its hazard, the fix is safe. A book scene names a file by `file=`.
#[wasm_bindgen_test]
async fn the_history_gallery_loads_a_race_before_and_after_its_fix() {
    let root = mount("").await;
    let pair = tornsim_core::general::history::pairs()
        .into_iter()
        .find(|p| p.race == "gup-thp-collapse")
        .unwrap();
    click(&root, "[data-history='gup-thp-collapse-before']");
    wait_until("the pre-fix file's answer", 30, || {
        text(&root, "#general-verdict").starts_with("stale-pin:")
    })
    .await;
    assert_eq!(editor(&root).value(), pair.before);
    let pressed = |which: &str| {
        root.query_selector(&format!("[data-history='gup-thp-collapse-{which}']"))
            .unwrap()
            .unwrap()
            .get_attribute("aria-pressed")
    };
    assert_eq!(pressed("before").as_deref(), Some("true"));
    click(&root, "[data-history='gup-thp-collapse-fix']");
    wait_until("the fix's answer", 30, || {
        text(&root, "#general-verdict").starts_with("safe:")
    })
    .await;
    assert_eq!(editor(&root).value(), pair.fix);
    assert_eq!(pressed("before").as_deref(), Some("false"));
    // The book's scenes: an embed that names the file.
    let root = mount("embed=1&file=collapse-pt-reclaim-before").await;
    wait_until("the named file's answer", 30, || {
        text(&root, "#general-verdict").starts_with("bogus-table:")
    })
    .await;
    assert!(text(&root, ".embed-head strong").starts_with("tornsim: collapse-pt-reclaim-before ("));
}
