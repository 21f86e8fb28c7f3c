/*
 * tornsim embed snippet. Dependency-free. A host page writes
 *
 *   <div data-tornsim="preset=seed-thread-v1&autorun=1&controls=locked"></div>
 *   <script src="https://example.org/tornsim/embed.js"></script>
 *
 * and each such div becomes an iframe of the simulator in embed mode, sized to its
 * content. The page it loads is the index.html next to this script, so a self-hosted
 * copy of dist/ works as is. The attribute is only ever placed in the iframe's URL
 * fragment (percent-encoded) and parsed by the simulator, which renders everything as
 * text: nothing in it can become markup or script in the host page or the frame.
 */
(function () {
    "use strict";
    var script = document.currentScript;
    var base = new URL("index.html", script ? script.src : document.baseURI).href;
    var frames = [];

    function settings(raw) {
        // Keep only key=value pairs of safe characters; encode everything else.
        return String(raw || "")
            .split("&")
            .filter(function (p) { return p.length > 0; })
            .map(function (p) {
                var i = p.indexOf("=");
                var k = i < 0 ? p : p.slice(0, i);
                var v = i < 0 ? "" : p.slice(i + 1);
                return encodeURIComponent(k) + "=" + encodeURIComponent(v);
            })
            .join("&");
    }

    function mount(div) {
        if (div.getAttribute("data-tornsim-mounted")) { return; }
        div.setAttribute("data-tornsim-mounted", "1");
        var frame = document.createElement("iframe");
        frame.src = base + "#embed=1&" + settings(div.getAttribute("data-tornsim"));
        frame.title = "tornsim simulator";
        frame.loading = "lazy";
        frame.style.width = "100%";
        frame.style.border = "0";
        frame.style.height = "420px";
        frame.setAttribute("scrolling", "no");
        div.textContent = "";
        div.appendChild(frame);
        frames.push(frame);
    }

    window.addEventListener("message", function (e) {
        var d = e.data;
        if (!d || d.tornsim !== "height" || typeof d.height !== "number") { return; }
        for (var i = 0; i < frames.length; i++) {
            if (frames[i].contentWindow === e.source) {
                var h = Math.max(120, Math.min(5000, Math.ceil(d.height)));
                frames[i].style.height = h + "px";
                frames[i].setAttribute("data-tornsim-height", String(h));
            }
        }
    });

    function mountAll() {
        var divs = document.querySelectorAll("div[data-tornsim]");
        for (var i = 0; i < divs.length; i++) { mount(divs[i]); }
    }
    if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", mountAll);
    } else {
        mountAll();
    }
})();
