//! tornsim-web owns the web page: a Yew front end (controls, live charts, the trace
//! viewer and "be the scheduler", shareable links) and the Web Worker that runs batches
//! off the main thread. Every simulation step, statistic, check and trace comes from
//! `tornsim-core`; this crate decides only what to show and when to ask for more.

pub mod app;
pub mod charts;
pub mod editor;
pub mod engine;
pub mod general_runs;
pub mod general_trace;
pub mod history;
pub mod model;
pub mod pool;
pub mod prove_pool;
pub mod runner;
pub mod scenario_panel;
pub mod trace_view;
pub mod verdict;

pub use app::{App, AppProps};

/// Mounts the page into `#tornsim` (or the body), reading the settings from the URL
/// fragment.
pub fn start() {
    let doc = web_sys::window().and_then(|w| w.document());
    let fragment = web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default();
    let props = AppProps {
        fragment: fragment.trim_start_matches('#').to_string().into(),
        use_worker: true,
        sync_url: true,
    };
    match doc.as_ref().and_then(|d| d.get_element_by_id("tornsim")) {
        Some(root) => {
            yew::Renderer::<App>::with_root_and_props(root, props).render();
        }
        None => {
            yew::Renderer::<App>::with_props(props).render();
        }
    }
}
