//! The Web Worker: answers each posted request (a chunk of runs, a scenario to parse,
//! a configuration to check, a part of a search on the pool) through
//! `tornsim_web::engine::worker_message`.

#[cfg(target_arch = "wasm32")]
fn main() {
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    let scope: web_sys::DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let reply = scope.clone();
    let on_message = Closure::<dyn FnMut(_)>::new(move |e: web_sys::MessageEvent| {
        tornsim_web::engine::worker_message(&reply, e)
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    tornsim_web::runner::warm_up();
    // Messages that arrived before this handler existed were dropped; the page holds
    // its chunks until it hears this.
    let _ = scope.post_message(&JsValue::from_str(tornsim_web::runner::READY));
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the tornsim worker runs in a browser; build it with trunk");
}
