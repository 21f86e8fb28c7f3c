// Starts a worker: its wasm-bindgen glue, then its wasm. Trunk's loader shim did the
// same but let a failed start pass in silence: a rejected promise in a worker fires no
// event at the page, which then waited for the worker's "ready" for ever. Thrown from a
// task of its own, the failure reaches the page's `onerror` for the worker, with why.
importScripts("./worker.js");
wasm_bindgen({ module_or_path: "./worker_bg.wasm" }).catch((e) => {
    setTimeout(() => {
        throw new Error(`the worker's wasm did not start: ${e}`);
    });
});
