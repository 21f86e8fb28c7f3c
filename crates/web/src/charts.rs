//! Small SVG chart components. Hand-written SVG rather than a chart library: three
//! chart shapes are needed, SVG text stays crisp, inherits the page's colours (so dark
//! mode works through CSS) and is plain DOM that the browser tests can read.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use yew::prelude::*;

/// Okabe–Ito colours: distinguishable with the common colour-vision deficiencies.
pub const PALETTE: [&str; 6] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
];

/// A chart's width before its figure has been measured, and the narrowest it draws at
/// (narrower frames scale it down).
const W: f64 = 520.0;
const MIN_W: f64 = 300.0;

thread_local! {
    /// The width the last chart measured.
    static LAST_WIDTH: std::cell::Cell<f64> = const { std::cell::Cell::new(W) };
}
const H: f64 = 240.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 40.0;

/// Up to six tick values from 0 to at least `max`, at round steps.
fn ticks(max: f64) -> Vec<f64> {
    let max = if max > 0.0 { max } else { 1.0 };
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| s * 5.0 >= max)
        .unwrap_or(mag * 10.0);
    (0..=5)
        .map(|i| i as f64 * step)
        .take_while(|&v| v <= max + step * 0.999)
        .collect()
}

pub fn fmt_num(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.1}G", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// The width in CSS pixels of the figure `node` refers to, kept current as the frame
/// resizes. Charts draw one SVG unit per pixel at that width, so their text stays at the
/// page's size in any frame, where a fixed viewBox would scale it with the frame.
#[hook]
fn use_width(node: &NodeRef) -> f64 {
    // `_eq`: the observer also reports height changes, which must not re-render. A new
    // chart starts at the width the last one measured (charts share a column), so it
    // usually mounts at its final width and is drawn once.
    let width = use_state_eq(|| LAST_WIDTH.get());
    {
        let (node, width) = (node.clone(), width.clone());
        use_effect_with((), move |_| {
            let on_resize =
                Closure::<dyn FnMut(js_sys::Array)>::new(move |entries: js_sys::Array| {
                    let Ok(e) = entries.get(0).dyn_into::<web_sys::ResizeObserverEntry>() else {
                        return;
                    };
                    let w = e.content_rect().width().round();
                    if w > 0.0 {
                        LAST_WIDTH.set(w.max(MIN_W));
                        width.set(w.max(MIN_W));
                    }
                });
            let observer = web_sys::ResizeObserver::new(on_resize.as_ref().unchecked_ref()).ok();
            if let (Some(o), Some(el)) = (&observer, node.cast::<web_sys::Element>()) {
                o.observe(&el);
            }
            move || {
                if let Some(o) = observer {
                    o.disconnect();
                }
                drop(on_resize);
            }
        });
    }
    *width
}

/// Horizontal grid lines with y ticks, x ticks and axis labels of an x/y chart (its
/// title is the figure's caption, in HTML, so that it wraps).
fn axes(
    w: f64,
    x_label: &AttrValue,
    y_label: &AttrValue,
    xt: &[f64],
    yt: &[f64],
    sx: impl Fn(f64) -> f64,
    sy: impl Fn(f64) -> f64,
) -> Html {
    html! {
        <>
            { for yt.iter().map(|&v| html! {
                <g class="grid">
                    <line x1={LEFT.to_string()} x2={(w - RIGHT).to_string()} y1={sy(v).to_string()} y2={sy(v).to_string()} />
                    <text x={(LEFT - 6.0).to_string()} y={(sy(v) + 4.0).to_string()} text-anchor="end">{ fmt_num(v) }</text>
                </g>
            }) }
            { for xt.iter().map(|&v| html! {
                <text class="tick" x={sx(v).to_string()} y={(H - BOTTOM + 16.0).to_string()} text-anchor="middle">{ fmt_num(v) }</text>
            }) }
            <text class="axis" x={((LEFT + w) / 2.0).to_string()} y={(H - 4.0).to_string()} text-anchor="middle">{ x_label.clone() }</text>
            <text class="axis" transform={format!("translate(15 {}) rotate(-90)", (TOP + H - BOTTOM) / 2.0)} text-anchor="middle">{ y_label.clone() }</text>
        </>
    }
}

#[derive(Clone, PartialEq)]
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

#[derive(Properties, PartialEq)]
pub struct LineChartProps {
    pub title: AttrValue,
    pub x_label: AttrValue,
    pub y_label: AttrValue,
    pub series: Vec<Series>,
}

/// Cumulative counts against runs, one line per series.
#[function_component(LineChart)]
pub fn line_chart(p: &LineChartProps) -> Html {
    let node = use_node_ref();
    let w = use_width(&node);
    let xmax = p
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|q| q.0))
        .fold(0.0, f64::max);
    let ymax = p
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|q| q.1))
        .fold(0.0, f64::max);
    let (xt, yt) = (ticks(xmax), ticks(ymax));
    let (xm, ym) = (
        *xt.last().unwrap_or(&1.0),
        yt.last().copied().unwrap_or(1.0).max(1.0),
    );
    let sx = |x: f64| LEFT + x / xm * (w - LEFT - RIGHT);
    let sy = |y: f64| H - BOTTOM - y / ym * (H - TOP - BOTTOM);
    html! {
        <figure class="chart" ref={node.clone()}>
            <figcaption class="title">{ p.title.clone() }</figcaption>
            <svg viewBox={format!("0 0 {w} {H}")} role="img" aria-label={p.title.clone()}>
                { axes(w, &p.x_label, &p.y_label, &xt, &yt, sx, sy) }
                { for p.series.iter().enumerate().map(|(i, s)| {
                    let pts: Vec<String> = s.points.iter().map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y))).collect();
                    html! {
                        <polyline class="series" data-series={s.label.clone()} fill="none" stroke={PALETTE[i % PALETTE.len()]}
                            stroke-width="2" stroke-dasharray={if i % 2 == 1 { "6 3" } else { "" }} points={pts.join(" ")} />
                    }
                }) }
                { for p.series.iter().enumerate().map(|(i, s)| html! {
                    <g class="legend" transform={format!("translate({} {})", LEFT + 8.0, TOP + 4.0 + 14.0 * i as f64)}>
                        <rect width="12" height="4" y="-4" fill={PALETTE[i % PALETTE.len()]} />
                        <text x="16" y="0">{ format!("{} ({})", s.label, fmt_num(s.points.last().map_or(0.0, |q| q.1))) }</text>
                    </g>
                }) }
            </svg>
        </figure>
    }
}

#[derive(Clone, PartialEq)]
pub struct Interval {
    pub label: String,
    pub value: f64,
    pub low: f64,
    pub high: f64,
    /// From fewer than ten events: shown as a rough value (`~`).
    pub few: bool,
}

#[derive(Properties, PartialEq)]
pub struct IntervalChartProps {
    pub title: AttrValue,
    pub unit: AttrValue,
    pub rows: Vec<Interval>,
}

/// One horizontal bar per row with its 95% interval as whiskers.
#[function_component(IntervalChart)]
pub fn interval_chart(p: &IntervalChartProps) -> Html {
    let node = use_node_ref();
    let w = use_width(&node);
    let row_h = 26.0;
    let h = TOP + BOTTOM + row_h * p.rows.len().max(1) as f64;
    let left = 120.0;
    let max = p
        .rows
        .iter()
        .map(|r| r.high.max(r.value))
        .fold(0.0, f64::max);
    let xt = ticks(max);
    let xm = xt.last().copied().unwrap_or(1.0).max(1e-9);
    let sx = |x: f64| left + x / xm * (w - left - RIGHT - 60.0);
    html! {
        <figure class="chart" ref={node.clone()}>
            <figcaption class="title">{ p.title.clone() }</figcaption>
            <svg viewBox={format!("0 0 {w} {h}")} role="img" aria-label={p.title.clone()}>
                { for xt.iter().map(|&v| html! {
                    <g class="grid">
                        <line x1={sx(v).to_string()} x2={sx(v).to_string()} y1={TOP.to_string()} y2={(h - BOTTOM).to_string()} />
                        <text x={sx(v).to_string()} y={(h - BOTTOM + 16.0).to_string()} text-anchor="middle">{ fmt_num(v) }</text>
                    </g>
                }) }
                <text class="axis" x={(w / 2.0).to_string()} y={(h - 4.0).to_string()} text-anchor="middle">{ p.unit.clone() }</text>
                { for p.rows.iter().enumerate().map(|(i, r)| {
                    let y = TOP + row_h * i as f64 + 4.0;
                    let c = PALETTE[i % PALETTE.len()];
                    html! {
                        <g class="bar" data-series={r.label.clone()}>
                            <text x={(left - 6.0).to_string()} y={(y + 13.0).to_string()} text-anchor="end">{ r.label.clone() }</text>
                            <rect x={left.to_string()} y={y.to_string()} height="16" width={(sx(r.value) - left).max(0.0).to_string()} fill={c} opacity="0.75" />
                            <line class="whisker" x1={sx(r.low).to_string()} x2={sx(r.high).to_string()} y1={(y + 8.0).to_string()} y2={(y + 8.0).to_string()} />
                            <line class="whisker" x1={sx(r.low).to_string()} x2={sx(r.low).to_string()} y1={(y + 3.0).to_string()} y2={(y + 13.0).to_string()} />
                            <line class="whisker" x1={sx(r.high).to_string()} x2={sx(r.high).to_string()} y1={(y + 3.0).to_string()} y2={(y + 13.0).to_string()} />
                            <text x={(sx(r.high) + 6.0).to_string()} y={(y + 13.0).to_string()}>
                                { format!("{}{}", if r.few { "~" } else { "" }, fmt_num(r.value)) }
                                if r.few { <title>{ "fewer than 10 events: a rough rate, see its interval" }</title> }
                            </text>
                        </g>
                    }
                }) }
            </svg>
        </figure>
    }
}

#[derive(Clone, PartialEq)]
pub struct Dot {
    pub label: String,
    pub x: f64,
    pub y: f64,
    /// The y value's 95% interval, drawn as a whisker.
    pub y_range: Option<(f64, f64)>,
}

#[derive(Properties, PartialEq)]
pub struct ScatterProps {
    pub title: AttrValue,
    pub x_label: AttrValue,
    pub y_label: AttrValue,
    pub dots: Vec<Dot>,
}

/// One labelled point per series: the cost model's trade-off.
#[function_component(Scatter)]
pub fn scatter(p: &ScatterProps) -> Html {
    let node = use_node_ref();
    let w = use_width(&node);
    let xt = ticks(p.dots.iter().map(|d| d.x).fold(0.0, f64::max) * 1.1);
    let yt = ticks(
        p.dots
            .iter()
            .map(|d| d.y_range.map_or(d.y, |r| r.1).max(d.y))
            .fold(0.0, f64::max)
            * 1.1,
    );
    let xm = xt.last().copied().unwrap_or(1.0).max(1e-9);
    let ym = yt.last().copied().unwrap_or(1.0).max(1e-9);
    let sx = |x: f64| LEFT + x / xm * (w - LEFT - RIGHT);
    let sy = |y: f64| H - BOTTOM - y / ym * (H - TOP - BOTTOM);
    html! {
        <figure class="chart" ref={node.clone()}>
            <figcaption class="title">{ p.title.clone() }</figcaption>
            <svg viewBox={format!("0 0 {w} {H}")} role="img" aria-label={p.title.clone()}>
                { axes(w, &p.x_label, &p.y_label, &xt, &yt, sx, sy) }
                { for p.dots.iter().enumerate().map(|(i, d)| html! {
                    <g class="dot" data-series={d.label.clone()}>
                        if let Some((lo, hi)) = d.y_range {
                            <line class="whisker" x1={sx(d.x).to_string()} x2={sx(d.x).to_string()} y1={sy(lo).to_string()} y2={sy(hi).to_string()} />
                            <line class="whisker" x1={(sx(d.x) - 4.0).to_string()} x2={(sx(d.x) + 4.0).to_string()} y1={sy(hi).to_string()} y2={sy(hi).to_string()} />
                        }
                        <circle cx={sx(d.x).to_string()} cy={sy(d.y).to_string()} r="6" fill={PALETTE[i % PALETTE.len()]} />
                        <text x={(sx(d.x) + 9.0).to_string()} y={(sy(d.y) - 6.0 - 11.0 * (i % 2) as f64).to_string()}>{ d.label.clone() }</text>
                    </g>
                }) }
            </svg>
        </figure>
    }
}

/// A row of a [`LogRateChart`]: a rate with its 95% interval, or why there is none.
#[derive(Clone, PartialEq)]
pub struct LogRow {
    pub label: String,
    /// Rate, low and high ends (the high end absent when unbounded).
    pub rate: Option<(f64, f64, Option<f64>)>,
    /// Shown at the row's end: the relative error, "proved safe", "estimating…".
    pub note: String,
}

#[derive(Properties, PartialEq)]
pub struct LogRateChartProps {
    pub title: AttrValue,
    pub unit: AttrValue,
    pub rows: Vec<LogRow>,
}

/// Rates spanning many orders of magnitude on a log axis, one row each, with the 95%
/// interval as whiskers.
#[function_component(LogRateChart)]
pub fn log_rate_chart(p: &LogRateChartProps) -> Html {
    let node = use_node_ref();
    let w = use_width(&node);
    let row_h = 26.0;
    let h = TOP + BOTTOM + row_h * p.rows.len().max(1) as f64;
    let left = 120.0;
    let right = w - RIGHT - 110.0;
    let (lo_dec, hi_dec) = decades(
        p.rows
            .iter()
            .filter_map(|r| r.rate)
            .flat_map(|(v, lo, hi)| [v, lo, hi.unwrap_or(v)]),
    );
    let sx = |v: f64| {
        let d = if v > 0.0 { v.log10() } else { lo_dec as f64 };
        left + (d.clamp(lo_dec as f64, hi_dec as f64) - lo_dec as f64) / (hi_dec - lo_dec) as f64
            * (right - left)
    };
    html! {
        <figure class="chart" ref={node.clone()}>
            <figcaption class="title">{ p.title.clone() }</figcaption>
            <svg viewBox={format!("0 0 {w} {h}")} role="img" aria-label={p.title.clone()}>
                { for (lo_dec..=hi_dec).map(|d| html! {
                    <g class="grid">
                        <line x1={sx(10f64.powi(d)).to_string()} x2={sx(10f64.powi(d)).to_string()} y1={TOP.to_string()} y2={(h - BOTTOM).to_string()} />
                        <text x={sx(10f64.powi(d)).to_string()} y={(h - BOTTOM + 16.0).to_string()} text-anchor="middle">{ format!("1e{d}") }</text>
                    </g>
                }) }
                <text class="axis" x={(w / 2.0).to_string()} y={(h - 4.0).to_string()} text-anchor="middle">{ p.unit.clone() }</text>
                { for p.rows.iter().enumerate().map(|(i, r)| {
                    let y = TOP + row_h * i as f64 + 12.0;
                    let c = PALETTE[i % PALETTE.len()];
                    html! {
                        <g class="rate-row" data-series={r.label.clone()}>
                            <text x={(left - 6.0).to_string()} y={(y + 5.0).to_string()} text-anchor="end">{ r.label.clone() }</text>
                            if let Some((v, lo, hi)) = r.rate.filter(|(v, _, _)| *v > 0.0) {
                                <line class="whisker" x1={sx(lo).to_string()} x2={sx(hi.unwrap_or(10f64.powi(hi_dec))).to_string()} y1={y.to_string()} y2={y.to_string()} />
                                <line class="whisker" x1={sx(lo).to_string()} x2={sx(lo).to_string()} y1={(y - 5.0).to_string()} y2={(y + 5.0).to_string()} />
                                if let Some(hi) = hi {
                                    <line class="whisker" x1={sx(hi).to_string()} x2={sx(hi).to_string()} y1={(y - 5.0).to_string()} y2={(y + 5.0).to_string()} />
                                }
                                <circle cx={sx(v).to_string()} cy={y.to_string()} r="5" fill={c} />
                            }
                            <text class="note" x={(right + 8.0).to_string()} y={(y + 5.0).to_string()}>{ r.note.clone() }</text>
                        </g>
                    }
                }) }
            </svg>
        </figure>
    }
}

/// The decades an axis spans to show every positive value (at least one decade).
fn decades(values: impl Iterator<Item = f64>) -> (i32, i32) {
    let (mut lo, mut hi) = (f64::INFINITY, 0.0f64);
    for v in values.filter(|v| *v > 0.0 && v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if hi == 0.0 {
        return (-9, -3);
    }
    let (a, b) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    (a, b.max(a + 1))
}
