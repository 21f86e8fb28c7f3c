//! The page's entry point.

fn main() {
    #[cfg(target_arch = "wasm32")]
    tornsim_web::start();
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("the tornsim page runs in a browser: `trunk serve` (see README.md)");
}
