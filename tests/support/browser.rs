//! Helpers for the browser tests: build the page with trunk, serve a directory on
//! 127.0.0.1, and drive Chromium, Firefox or WebKitGTK through their drivers' W3C WebDriver API
//! (plain JSON over HTTP, so no async runtime is needed).

#![allow(dead_code)]

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long [`Browser::wait_for`] goes on asking while every poll fails.
const POLL_ERRORS_FOR: Duration = Duration::from_secs(30);

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Builds the site (the page, and the book at `book/`) into `site/` with `bash .ci/site`,
/// once per test process (the tests run in parallel and trunk must not build the same
/// folder twice at once).
pub fn build_page() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT.get_or_init(build).clone()
}

fn build() -> PathBuf {
    let out = Command::new("bash")
        .args([".ci/site", "site"])
        .current_dir(root())
        .output()
        .expect("bash runs .ci/site");
    assert!(
        out.status.success(),
        "bash .ci/site failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    root().join("site")
}

fn mime(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript",
        "wasm" => "application/wasm",
        "css" => "text/css",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}

/// Serves `dir` at `http://127.0.0.1:PORT/` (and `/sub/` for sub-path checks) until the
/// test process ends. Every request is logged, so tests can assert the page fetched
/// nothing from elsewhere.
pub struct Server {
    pub base: String,
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

pub fn serve(dir: PathBuf) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = listener.local_addr().unwrap().port();
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log2 = log.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let dir = dir.clone();
            let log = log2.clone();
            std::thread::spawn(move || handle(stream, &dir, &log));
        }
    });
    Server {
        base: format!("http://127.0.0.1:{port}/"),
        log,
    }
}

fn handle(mut s: TcpStream, dir: &Path, log: &std::sync::Mutex<Vec<String>>) {
    let mut reader = BufReader::new(s.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    log.lock().unwrap().push(path.clone());
    let clean = path.split(['?', '#']).next().unwrap_or("/");
    let clean = clean.strip_prefix("/sub").unwrap_or(clean);
    // Host-page fixtures sit beside the page, same origin, as a self-hosted copy would.
    let (dir, clean) = match clean.strip_prefix("/fixtures") {
        Some(rest) => (root().join("tests/fixtures"), rest),
        None => (dir.to_path_buf(), clean),
    };
    let dir = dir.as_path();
    let mut file = dir.join(clean.trim_start_matches('/'));
    if clean.ends_with('/') {
        file = file.join("index.html");
    }
    let ok = file.starts_with(dir) && !clean.contains("..");
    match std::fs::read(&file) {
        Ok(body) if ok => {
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                mime(&file),
                body.len()
            );
            let _ = s.write_all(&body);
        }
        _ => {
            let _ = write!(
                s,
                "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    }
}

/// A browser engine the end-to-end tests drive, each through its own WebDriver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// Debian's chromium, through chromedriver (`CHROMEDRIVER`, `CHROME`).
    Chromium,
    /// Debian's firefox-esr, through geckodriver from crates.io (`GECKODRIVER`, `FIREFOX`).
    Firefox,
    /// WebKitGTK's MiniBrowser, through Debian's WebKitWebDriver, on an Xvfb display
    /// (WebKitGTK has no headless mode).
    WebKit,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Chromium => "chromium",
            Engine::Firefox => "firefox",
            Engine::WebKit => "webkit",
        }
    }

    /// The engines to test in: `TORNSIM_ENGINES` (a comma list), else every engine
    /// whose driver is installed (Chromium always: its absence is an error).
    pub fn all() -> Vec<Engine> {
        match std::env::var("TORNSIM_ENGINES") {
            Ok(v) => v
                .split(',')
                .filter(|n| !n.is_empty())
                .map(|n| match n.trim() {
                    "chromium" => Engine::Chromium,
                    "firefox" => Engine::Firefox,
                    "webkit" => Engine::WebKit,
                    other => {
                        panic!("TORNSIM_ENGINES: no engine '{other}' (chromium, firefox, webkit)")
                    }
                })
                .collect(),
            Err(_) => {
                let mut v = vec![Engine::Chromium];
                for e in [Engine::Firefox, Engine::WebKit] {
                    if on_path(&e.driver()) && (e != Engine::WebKit || on_path("Xvfb")) {
                        v.push(e);
                    }
                }
                v
            }
        }
    }

    fn driver(self) -> String {
        match self {
            Engine::Chromium => {
                std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into())
            }
            Engine::Firefox => {
                std::env::var("GECKODRIVER").unwrap_or_else(|_| "geckodriver".into())
            }
            Engine::WebKit => {
                std::env::var("WEBKITWEBDRIVER").unwrap_or_else(|_| "WebKitWebDriver".into())
            }
        }
    }

    fn capabilities(self, port: u16) -> Value {
        match self {
            Engine::Chromium => {
                let profile = std::env::temp_dir()
                    .join(format!("tornsim-chrome-{}-{port}", std::process::id()));
                json!({"capabilities": {"alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": std::env::var("CHROME").unwrap_or_else(|_| "/usr/bin/chromium".into()),
                        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                 "--disable-background-networking", "--disable-component-update", "--no-first-run",
                                 "--disable-sync", "--window-size=1280,1500",
                                 format!("--user-data-dir={}", profile.display())]
                    }
                }}})
            }
            Engine::Firefox => json!({"capabilities": {"alwaysMatch": {
                "browserName": "firefox",
                "moz:firefoxOptions": {
                    "binary": std::env::var("FIREFOX").unwrap_or_else(|_| "/usr/bin/firefox-esr".into()),
                    "args": ["-headless", "-width=1280", "-height=1500"],
                    // No update checks, telemetry or first-run pages: nothing leaves the machine.
                    "prefs": {
                        "app.update.disabledForTesting": true,
                        "datareporting.policy.dataSubmissionEnabled": false,
                        "toolkit.telemetry.reportingpolicy.firstRun": false,
                        "browser.shell.checkDefaultBrowser": false
                    }
                }
            }}}),
            Engine::WebKit => json!({"capabilities": {"alwaysMatch": {
                "webkitgtk:browserOptions": {
                    "binary": std::env::var("MINIBROWSER").unwrap_or_else(|_| {
                        "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser".into()
                    }),
                    "args": ["--automation", "--geometry=1280x1500"]
                }
            }}}),
        }
    }
}

/// Whether `cmd` is a command (on PATH, or a path).
fn on_path(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", "command -v \"$0\"", cmd])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A headless browser session.
pub struct Browser {
    driver: Child,
    /// WebKit's X server.
    display: Option<Child>,
    url: String,
    session: String,
    pub engine: Engine,
}

impl Browser {
    /// Headless Chromium, or the one engine `TORNSIM_ENGINE` names.
    pub fn start() -> Browser {
        let engine = match std::env::var("TORNSIM_ENGINE").as_deref() {
            Ok("firefox") => Engine::Firefox,
            Ok("webkit") => Engine::WebKit,
            _ => Engine::Chromium,
        };
        Browser::start_in(engine)
    }

    pub fn start_in(engine: Engine) -> Browser {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver_bin = engine.driver();
        // WebKitGTK draws on an X display: a private Xvfb one.
        let display = (engine == Engine::WebKit).then(|| {
            let n = 90 + port % 400;
            let x = Command::new("Xvfb")
                .args([
                    &format!(":{n}"),
                    "-screen",
                    "0",
                    "1280x1500x24",
                    "-nolisten",
                    "tcp",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start Xvfb: {e} (apt-get install xvfb)"));
            std::thread::sleep(Duration::from_millis(500));
            (n, x)
        });
        let mut cmd = Command::new(&driver_bin);
        if let Some((n, _)) = &display {
            cmd.env("DISPLAY", format!(":{n}"));
        }
        let driver = cmd
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {driver_bin}: {e} (bash .ci/setup installs it)")
            });
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "{driver_bin} did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let v = post(&format!("{url}/session"), &engine.capabilities(port));
        let session = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session in {}: {v}", engine.name()))
            .to_string();
        Browser {
            driver,
            display: display.map(|d| d.1),
            url,
            session,
            engine,
        }
    }

    fn cmd(&self, path: &str, body: Value) -> Value {
        self.try_cmd(path, body).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A command, or the driver's error as `WebDriver PATH: ERROR: MESSAGE`.
    fn try_cmd(&self, path: &str, body: Value) -> Result<Value, String> {
        let v = post(
            &format!("{}/session/{}/{path}", self.url, self.session),
            &body,
        );
        match v["value"].get("error") {
            Some(err) => Err(format!(
                "WebDriver {path}: {err}: {}",
                v["value"]["message"]
            )),
            None => Ok(v["value"].clone()),
        }
    }

    pub fn goto(&self, url: &str) {
        self.cmd("url", json!({ "url": url }));
    }

    /// Presses a key as the keyboard would (WebDriver key actions): `\u{E004}` Tab,
    /// `\u{E007}` Enter, `\u{E014}` right arrow, or a character.
    pub fn press(&self, key: &str) {
        self.cmd(
            "actions",
            json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
                {"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}
            ]}]}),
        );
    }

    /// Types `text` into the focused element, a key press per character.
    pub fn type_text(&self, text: &str) {
        let keys: Vec<Value> = text
            .chars()
            .flat_map(|c| {
                let k = c.to_string();
                [
                    json!({"type": "keyDown", "value": k}),
                    json!({"type": "keyUp", "value": k}),
                ]
            })
            .collect();
        self.cmd(
            "actions",
            json!({"actions": [{"type": "key", "id": "keyboard", "actions": keys}]}),
        );
    }

    /// Presses `key` with `modifier` held (WebDriver key codes: Alt is "\u{E00A}").
    pub fn chord(&self, modifier: &str, key: &str) {
        self.cmd(
            "actions",
            json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
                {"type": "keyDown", "value": modifier}, {"type": "keyDown", "value": key},
                {"type": "keyUp", "value": key}, {"type": "keyUp", "value": modifier}
            ]}]}),
        );
    }

    /// Runs a script in the page; `arguments` are passed through.
    pub fn js(&self, script: &str) -> Value {
        self.try_js(script).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Browser::js`], or the driver's error.
    fn try_js(&self, script: &str) -> Result<Value, String> {
        self.try_cmd("execute/sync", json!({ "script": script, "args": [] }))
    }

    /// Polls `script` (which returns a value) until `ok` accepts it, or panics.
    ///
    /// A poll only reads, so one the driver fails to answer is asked again: ChromeDriver
    /// answered "Could not parse script result" once on a loaded CI host while four
    /// workers proved (not seen here in six proofs by four workers on two busy cores).
    /// A page that crashed loses the session, and polls that fail for
    /// [`POLL_ERRORS_FOR`] on end mean a page that hangs: both panic with every failure.
    pub fn wait_for(
        &self,
        what: &str,
        secs: u64,
        script: &str,
        ok: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        let mut failing_since = None;
        let mut failures = Vec::new();
        loop {
            match self.try_js(script) {
                Ok(v) => {
                    if ok(&v) {
                        return v;
                    }
                    failing_since = None;
                    if Instant::now() > deadline {
                        panic!("timed out waiting for {what}; last value {v}");
                    }
                }
                Err(e) => {
                    eprintln!("e2e: a poll for {what} failed, asking again: {e}");
                    let since = *failing_since.get_or_insert_with(Instant::now);
                    let lost = e.contains("invalid session id");
                    failures.push(e);
                    if lost || since.elapsed() > POLL_ERRORS_FOR || Instant::now() > deadline {
                        panic!("waiting for {what}, the driver failed: {failures:#?}");
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Sets the window's outer size (as a phone would have it, for layout tests).
    pub fn resize(&self, width: u32, height: u32) {
        self.cmd("window/rect", json!({"width": width, "height": height}));
    }

    pub fn screenshot(&self, to: &Path) {
        let v = self.cmd_get("screenshot");
        let b64 = v.as_str().expect("base64 PNG");
        std::fs::write(to, base64_decode(b64)).expect("screenshot written");
    }

    fn cmd_get(&self, path: &str) -> Value {
        let mut r = ureq::get(&format!("{}/session/{}/{path}", self.url, self.session))
            .call()
            .expect("WebDriver answers")
            .into_reader();
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        serde_json::from_str::<Value>(&s).unwrap()["value"].clone()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = ureq::delete(&format!("{}/session/{}", self.url, self.session)).call();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        if let Some(x) = &mut self.display {
            let _ = x.kill();
            let _ = x.wait();
        }
    }
}

fn post(url: &str, body: &Value) -> Value {
    let resp = match ureq::post(url).send_json(body.clone()) {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("WebDriver request {url} failed: {e}"),
    };
    let mut s = String::new();
    resp.into_reader().read_to_string(&mut s).unwrap();
    serde_json::from_str(&s).unwrap_or_else(|e| panic!("bad WebDriver answer ({e}): {s}"))
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let bytes: Vec<u8> = s
        .bytes()
        .filter(|&c| c != b'=' && !c.is_ascii_whitespace())
        .collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let v: Vec<u32> = chunk.iter().map(|&c| val(c) as u32).collect();
        let n = v
            .iter()
            .enumerate()
            .fold(0u32, |a, (i, &x)| a | x << (18 - 6 * i));
        out.push((n >> 16) as u8);
        if v.len() > 2 {
            out.push((n >> 8) as u8);
        }
        if v.len() > 3 {
            out.push(n as u8);
        }
    }
    out
}

/// Runs axe-core (installed from npm into `tests/a11y` by `.ci/setup`) on the page in
/// the browser and returns its WCAG 2.0/2.1 A and AA violations, one line each.
pub fn axe(b: &Browser) -> Vec<String> {
    let src = std::fs::read_to_string(root().join("tests/a11y/node_modules/axe-core/axe.min.js"))
        .expect("axe-core is installed: npm ci --prefix tests/a11y (.ci/setup does it)");
    b.js(&format!("{src}\n; return 0"));
    b.js("window.__axe = null; axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}}).then(r => { window.__axe = r.violations.map(v => v.id + ' (' + v.impact + '): ' + v.help + ' — ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')); }); return 0");
    let v = b.wait_for("axe-core", 60, "return window.__axe", |v| v.is_array());
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap_or("").to_string())
        .collect()
}
