// Starts the page's wasm. A file rather than trunk's injected inline script, so that the
// Content-Security-Policy in index.html can forbid inline script.
import init from "./app.js";
await init({ module_or_path: new URL("./app_bg.wasm", import.meta.url) });
