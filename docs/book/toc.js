// Populate the sidebar
//
// This is a script, and not included directly in the page, to control the total size of the book.
// The TOC contains an entry for each page, so if each page includes a copy of the TOC,
// the total size of the page becomes O(n**2).
class MDBookSidebarScrollbox extends HTMLElement {
    constructor() {
        super();
    }
    connectedCallback() {
        this.innerHTML = '<ol class="chapter"><li class="chapter-item expanded affix "><a href="introduction.html">Introduction</a></li><li class="chapter-item expanded "><a href="getting-started.html"><strong aria-hidden="true">1.</strong> Getting started</a></li><li class="chapter-item expanded "><a href="race.html"><strong aria-hidden="true">2.</strong> The race, in live scenes</a></li><li class="chapter-item expanded "><a href="scenarios.html"><strong aria-hidden="true">3.</strong> The scenario language</a></li><li><ol class="section"><li class="chapter-item expanded "><a href="primitives.html"><strong aria-hidden="true">3.1.</strong> Primitives</a></li></ol></li><li class="chapter-item expanded "><a href="general.html"><strong aria-hidden="true">4.</strong> Beyond one PMD: the general machine</a></li><li><ol class="section"><li class="chapter-item expanded "><a href="general-primitives.html"><strong aria-hidden="true">4.1.</strong> General primitives</a></li><li class="chapter-item expanded "><a href="history.html"><strong aria-hidden="true">4.2.</strong> Real kernel bugs, found again</a></li></ol></li><li class="chapter-item expanded "><a href="checking.html"><strong aria-hidden="true">5.</strong> Checking and proofs</a></li><li><ol class="section"><li class="chapter-item expanded "><a href="cutoff.html"><strong aria-hidden="true">5.1.</strong> Safe at any CPU count</a></li><li class="chapter-item expanded "><a href="tso.html"><strong aria-hidden="true">5.2.</strong> On real x86: x86-TSO</a></li><li class="chapter-item expanded "><a href="litmus.html"><strong aria-hidden="true">5.3.</strong> Litmus tests: herd7&#39;s and the kernel&#39;s</a></li></ol></li><li class="chapter-item expanded "><a href="cost-model.html"><strong aria-hidden="true">6.</strong> The cost model and rare-event rates</a></li><li class="chapter-item expanded "><a href="embedding.html"><strong aria-hidden="true">7.</strong> Embedding tornsim in your docs</a></li><li class="chapter-item expanded "><a href="cli.html"><strong aria-hidden="true">8.</strong> The command line</a></li><li class="chapter-item expanded "><a href="testing.html"><strong aria-hidden="true">9.</strong> Testing and reliability</a></li></ol>';
        // Set the current, active page, and reveal it if it's hidden
        let current_page = document.location.href.toString().split("#")[0].split("?")[0];
        if (current_page.endsWith("/")) {
            current_page += "index.html";
        }
        var links = Array.prototype.slice.call(this.querySelectorAll("a"));
        var l = links.length;
        for (var i = 0; i < l; ++i) {
            var link = links[i];
            var href = link.getAttribute("href");
            if (href && !href.startsWith("#") && !/^(?:[a-z+]+:)?\/\//.test(href)) {
                link.href = path_to_root + href;
            }
            // The "index" page is supposed to alias the first chapter in the book.
            if (link.href === current_page || (i === 0 && path_to_root === "" && current_page.endsWith("/index.html"))) {
                link.classList.add("active");
                var parent = link.parentElement;
                if (parent && parent.classList.contains("chapter-item")) {
                    parent.classList.add("expanded");
                }
                while (parent) {
                    if (parent.tagName === "LI" && parent.previousElementSibling) {
                        if (parent.previousElementSibling.classList.contains("chapter-item")) {
                            parent.previousElementSibling.classList.add("expanded");
                        }
                    }
                    parent = parent.parentElement;
                }
            }
        }
        // Track and set sidebar scroll position
        this.addEventListener('click', function(e) {
            if (e.target.tagName === 'A') {
                sessionStorage.setItem('sidebar-scroll', this.scrollTop);
            }
        }, { passive: true });
        var sidebarScrollTop = sessionStorage.getItem('sidebar-scroll');
        sessionStorage.removeItem('sidebar-scroll');
        if (sidebarScrollTop) {
            // preserve sidebar scroll position when navigating via links within sidebar
            this.scrollTop = sidebarScrollTop;
        } else {
            // scroll sidebar to current active section when navigating via "next/previous chapter" buttons
            var activeSection = document.querySelector('#sidebar .active');
            if (activeSection) {
                activeSection.scrollIntoView({ block: 'center' });
            }
        }
        // Toggle buttons
        var sidebarAnchorToggles = document.querySelectorAll('#sidebar a.toggle');
        function toggleSection(ev) {
            ev.currentTarget.parentElement.classList.toggle('expanded');
        }
        Array.from(sidebarAnchorToggles).forEach(function (el) {
            el.addEventListener('click', toggleSection);
        });
    }
}
window.customElements.define("mdbook-sidebar-scrollbox", MDBookSidebarScrollbox);
