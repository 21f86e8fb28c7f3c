//! Prove on every worker: the transport for `tornsim_core::check`'s split search. Each
//! worker holds one [`Part`]; the page holds the [`Coordinator`]. The parts send each
//! other their successors over `MessageChannel` ports made for the check (so batches
//! never wait for the page's thread), and the page's thread only numbers each layer
//! from the parts' keys. Messages are bytes in transferred buffers. The search, the
//! numbering and the stop are the core's; this file only carries bytes.

use crate::runner::{Reply, Request};
use std::cell::RefCell;
use std::rc::Rc;
use tornsim_core::check::{Coordinator, Part, Post, To};
use tornsim_core::{CheckOptions, Config};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use yew::Callback;

/// A progress line at most this often.
const PROGRESS_MS: f64 = 250.0;

/// The page's side of a check split over its workers.
pub struct Prove {
    seq: u64,
    coord: Coordinator,
    workers: Vec<web_sys::Worker>,
    /// Buffers each worker sent back.
    spare: Vec<Vec<js_sys::ArrayBuffer>>,
    done: Callback<Reply>,
    shown_ms: f64,
}

/// The check running on the pool, if any: shared by the workers' message handlers.
pub type Running = Rc<RefCell<Option<Prove>>>;

fn now() -> f64 {
    js_sys::Date::now()
}

/// What came on a channel of the pool's search: on every channel (page and workers,
/// worker and worker) a message is a `Uint8Array` over a transferred buffer, and a bare
/// `ArrayBuffer` is one of the sender's buffers sent back once read, for its next
/// message: allocating megabytes a layer cost a worker up to 30 ms a batch.
pub enum Came {
    Message(Vec<u8>, js_sys::ArrayBuffer),
    Spare(js_sys::ArrayBuffer),
    /// Text: a request or an answer, for `crate::engine`.
    Other,
}

pub fn came(data: JsValue) -> Came {
    match data.dyn_into::<js_sys::ArrayBuffer>() {
        Ok(buf) => Came::Spare(buf),
        Err(data) => match data.dyn_into::<js_sys::Uint8Array>() {
            Ok(view) => Came::Message(view.to_vec(), view.buffer()),
            Err(_) => Came::Other,
        },
    }
}

/// Posts `bytes` through `post` in a spare buffer of the receiver's, or a new one.
fn send(spare: &mut Vec<js_sys::ArrayBuffer>, bytes: &[u8], post: impl FnOnce(&JsValue, &JsValue)) {
    let len = bytes.len() as u32;
    let buf = match spare.pop() {
        Some(b) if b.byte_length() >= len => b,
        _ => js_sys::ArrayBuffer::new(len + len / 4),
    };
    let view = js_sys::Uint8Array::new_with_byte_offset_and_length(&buf, 0, len);
    view.copy_from(bytes);
    post(&view, &js_sys::Array::of1(&buf));
}

/// Sends the buffer a message came in back through `post`, for the sender's next one.
fn send_back(buf: js_sys::ArrayBuffer, post: impl FnOnce(&JsValue, &JsValue)) {
    post(&buf, &js_sys::Array::of1(&buf));
}

/// Starts the check of `config` on `workers` (each a worker that has said it is ready),
/// stopping the one running. The answer comes to `done` as [`Reply::Checked`], with
/// [`Reply::CheckProgress`] on the way.
pub fn start(
    running: &Running,
    workers: Vec<web_sys::Worker>,
    seq: u64,
    config: Config,
    opts: CheckOptions,
    done: Callback<Reply>,
) {
    stop(running);
    let n = workers.len();
    let coord = match Coordinator::new(&config, opts, n) {
        // Searches numbered apart from any earlier check's, whose messages may still
        // be on their way.
        Ok(c) => c.numbered_from((seq as u32).wrapping_mul(16)),
        Err(e) => {
            let result = Err(e.to_string());
            return done.emit(Reply::Checked { seq, result });
        }
    };
    // One channel for each pair of workers: port `ports[i][j]` is i's end towards j.
    let mut ports: Vec<Vec<Option<web_sys::MessagePort>>> = vec![vec![None; n]; n];
    for (i, j) in (0..n).flat_map(|i| (i + 1..n).map(move |j| (i, j))) {
        let Ok(ch) = web_sys::MessageChannel::new() else {
            let result = Err("this browser cannot open a channel between workers".into());
            return done.emit(Reply::Checked { seq, result });
        };
        ports[i][j] = Some(ch.port1());
        ports[j][i] = Some(ch.port2());
    }
    for (me, w) in workers.iter().enumerate() {
        let req = Request::Part {
            seq,
            config: config.clone(),
            opts,
            me,
            n,
        };
        let list = js_sys::Array::new();
        for p in ports[me].iter().flatten() {
            list.push(p);
        }
        let msg = serde_json::to_string(&req).expect("requests serialise");
        let _ = w.post_message_with_transfer(&JsValue::from_str(&msg), &list);
    }
    let mut p = Prove {
        seq,
        coord,
        spare: vec![Vec::new(); workers.len()],
        workers,
        done,
        shown_ms: now(),
    };
    let mut out = Vec::new();
    p.coord.start(&mut out);
    p.send(out);
    *running.borrow_mut() = Some(p);
}

/// Stops the check running on the pool, if any: its parts are dropped.
pub fn stop(running: &Running) {
    if let Some(p) = running.borrow_mut().take() {
        let msg = serde_json::to_string(&Request::PartStop { seq: p.seq }).expect("serialises");
        for w in &p.workers {
            let _ = w.post_message(&JsValue::from_str(&msg));
        }
    }
}

/// The sequence number of the check running on the pool.
pub fn running_seq(running: &Running) -> Option<u64> {
    running.borrow().as_ref().map(|p| p.seq)
}

impl Prove {
    fn send(&mut self, out: Vec<Post>) {
        for p in out {
            let to: Vec<usize> = match p.to {
                To::All => (0..self.workers.len()).collect(),
                To::Part(j) => vec![j],
                To::Coordinator => Vec::new(),
            };
            for j in to {
                let w = &self.workers[j];
                send(&mut self.spare[j], &p.bytes, |m, t| {
                    let _ = w.post_message_with_transfer(m, t);
                });
            }
        }
    }
}

/// What worker `from` sent the page about the check running on the pool.
pub fn from_part(running: &Running, from: usize, came: Came) {
    let mut emit = None;
    {
        let mut guard = running.borrow_mut();
        let Some(p) = guard.as_mut() else {
            return;
        };
        let (bytes, buf) = match came {
            Came::Message(bytes, buf) => (bytes, buf),
            Came::Spare(buf) => return p.spare[from].push(buf),
            Came::Other => return,
        };
        if let Some(w) = p.workers.get(from) {
            send_back(buf, |m, t| {
                let _ = w.post_message_with_transfer(m, t);
            });
        }
        let mut out = Vec::new();
        p.coord.handle(&bytes, &mut out);
        p.send(out);
        if let Some(r) = p.coord.result() {
            emit = Some((
                p.done.clone(),
                Reply::Checked {
                    seq: p.seq,
                    result: Ok(r.clone()),
                },
            ));
            *guard = None;
        } else if now() - p.shown_ms >= PROGRESS_MS {
            p.shown_ms = now();
            let progress = p.coord.progress();
            let reply = Reply::CheckProgress {
                seq: p.seq,
                progress,
            };
            emit = Some((p.done.clone(), reply));
        }
    }
    // Outside the borrow: the page's answer to this may start another check.
    if let Some((done, reply)) = emit {
        done.emit(reply);
    }
}

/// A worker's part of the check on the pool, with its ports to the other parts.
struct Held {
    seq: u64,
    part: Part,
    ports: Vec<Option<web_sys::MessagePort>>,
    /// Buffers each other part sent back, and the page.
    spare: Vec<Vec<js_sys::ArrayBuffer>>,
    spare_up: Vec<js_sys::ArrayBuffer>,
    _handlers: Vec<Closure<dyn FnMut(web_sys::MessageEvent)>>,
}

thread_local! {
    static HELD: RefCell<Option<Held>> = const { RefCell::new(None) };
}

/// In a worker: becomes part `me` of `n` of the check `seq`, with `ports` to the other
/// parts (in their order, this worker's own left out); answers go to `scope`.
pub fn hold(
    scope: &web_sys::DedicatedWorkerGlobalScope,
    seq: u64,
    part: Part,
    me: usize,
    given: js_sys::Array,
) {
    let n = given.length() as usize + 1;
    let mut ports = vec![None; n];
    let mut handlers = Vec::new();
    for (k, p) in given.iter().enumerate() {
        let j = if k < me { k } else { k + 1 };
        let port: web_sys::MessagePort = p.unchecked_into();
        let scope = scope.clone();
        let h = Closure::<dyn FnMut(_)>::new(move |e: web_sys::MessageEvent| {
            take(&scope, Some(j), came(e.data()));
        });
        port.set_onmessage(Some(h.as_ref().unchecked_ref()));
        handlers.push(h);
        ports[j] = Some(port);
    }
    let held = Held {
        seq,
        part,
        ports,
        spare: vec![Vec::new(); n],
        spare_up: Vec::new(),
        _handlers: handlers,
    };
    HELD.with(|h| drop_held(h.replace(Some(held))));
}

/// In a worker: drops the part of check `seq`.
pub fn release(seq: u64) {
    HELD.with(|h| {
        if h.borrow().as_ref().is_some_and(|held| held.seq == seq) {
            drop_held(h.take());
        }
    });
}

fn drop_held(held: Option<Held>) {
    for p in held.into_iter().flat_map(|h| h.ports).flatten() {
        p.set_onmessage(None);
        p.close();
    }
}

/// In a worker: what came for its part from another part (`from`) or the page.
pub fn take(scope: &web_sys::DedicatedWorkerGlobalScope, from: Option<usize>, came: Came) {
    HELD.with(|h| {
        let mut h = h.borrow_mut();
        let Some(held) = h.as_mut() else {
            return;
        };
        let (bytes, buf) = match (came, from) {
            (Came::Message(bytes, buf), _) => (bytes, buf),
            (Came::Spare(buf), Some(j)) => return held.spare[j].push(buf),
            (Came::Spare(buf), None) => return held.spare_up.push(buf),
            (Came::Other, _) => return,
        };
        match from.and_then(|j| held.ports[j].as_ref()) {
            Some(port) => send_back(buf, |m, t| {
                let _ = port.post_message_with_transferable(m, t);
            }),
            None => send_back(buf, |m, t| {
                let _ = scope.post_message_with_transfer(m, t);
            }),
        }
        let mut out = Vec::new();
        held.part.handle(bytes, &mut out);
        for p in out {
            match p.to {
                To::Part(j) => {
                    if let Some(port) = &held.ports[j] {
                        send(&mut held.spare[j], &p.bytes, |m, t| {
                            let _ = port.post_message_with_transferable(m, t);
                        });
                    }
                }
                _ => send(&mut held.spare_up, &p.bytes, |m, t| {
                    let _ = scope.post_message_with_transfer(m, t);
                }),
            }
        }
    });
}
