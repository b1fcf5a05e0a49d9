// No ghost input: a tap that arrives just after a page is shown (the second tap of a double tap on Next,
// landing on the next item's options) or after the patient pressed Next, Back or Skip is ignored. Keys
// are ignored for the same short time, so a held Enter does not answer the next item either.
(function () {
  "use strict";
  // Loaded in <head> without defer, so no tap reaches the page before it runs.
  var setting = document.querySelector('meta[name="tap-guard-ms"]');
  var guard = parseInt(setting ? setting.content : "600", 10);
  var root = document.documentElement;
  var quietUntil = 0;
  var leaving = false;

  var timer = null;
  // While taps are ignored the page says so (data-quiet on <html>), for tests and for styling.
  function quiet() {
    quietUntil = Date.now() + guard;
    root.setAttribute("data-quiet", "");
    clearTimeout(timer);
    timer = setTimeout(function () { root.removeAttribute("data-quiet"); }, guard);
  }
  function ignored() { return leaving || Date.now() < quietUntil; }
  // The idle warning takes taps even while an answer is on its way (a Wi-Fi drop: send.js keeps sending it).
  function inDialog(event) { return !!(event.target && event.target.closest && event.target.closest("dialog[open]")); }
  function swallow(event) {
    if (ignored() && !inDialog(event)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }
  ["click", "pointerdown", "pointerup", "touchstart", "touchend", "mousedown", "mouseup"].forEach(function (name) {
    document.addEventListener(name, swallow, { capture: true, passive: false });
  });
  document.addEventListener("keydown", function (event) {
    if (ignored() && !inDialog(event) && (event.key === "Enter" || event.key === " ")) { event.preventDefault(); }
  }, true);

  function working(button) {
    if (!button) { return; }
    button.classList.add("is-working");
    button.setAttribute("aria-busy", "true");
    var text = document.body.dataset.workingText;
    if (text) { button.textContent = text; }
  }
  // After Next (or any form on the page is sent, or a link followed), nothing more is taken from this
  // page: the button says it is working until the next page is shown.
  // A form marked data-stays (the text size) is sent in the background and the page stays.
  document.addEventListener("submit", function (event) {
    if (leaving) { event.preventDefault(); return; }
    if (event.target.hasAttribute("data-stays")) { quiet(); return; }
    leaving = true;
    working(event.submitter || event.target.querySelector("button[type=submit]"));
  });
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[href]") : null;
    if (link && !event.defaultPrevented && !link.classList.contains("skip-link")) { leaving = true; }
  });
  window.addEventListener("pageshow", function () { leaving = false; quiet(); });
  quiet();
})();
