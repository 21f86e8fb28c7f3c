// Starts the page's wasm. A file rather than trunk's injected inline script, so that the
// Content-Security-Policy in index.html can forbid inline script.
//
// The first two workers start here, before the page's own wasm is fetched: their wasm
// loads and warms up while the page's does, so a Start clicked as soon as the page
// appears finds them ready. The page adopts them (engine.rs, Engine::new) and starts any
// more it wants; a worker that said "ready", or failed, before the page listened is
// marked so.
const early = [];
if (typeof Worker === "function") {
    const n = Math.min(navigator.hardwareConcurrency || 1, 2);
    for (let i = 0; i < n; i++) {
        try {
            const w = new Worker(new URL("./worker_start.js", import.meta.url));
            w.tornsimReady = false;
            w.onmessage = (e) => { if (e.data === "ready") { w.tornsimReady = true; } };
            // An error before the page listens (its wasm did not start) is kept for it.
            w.onerror = (e) => { w.tornsimFailed = e.message || "the worker failed"; };
            early.push(w);
        } catch (_) {
            break;
        }
    }
}
globalThis.tornsimEarlyWorkers = early;
import init from "./app.js";
await init({ module_or_path: new URL("./app_bg.wasm", import.meta.url) });
