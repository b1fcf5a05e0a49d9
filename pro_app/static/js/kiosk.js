// Idle timeout on the shared tablet: warn, then clear the screen and return to the start screen (answers are
// already saved). The page and the server keep one idle clock: the page starts from what the server has left
// (data-idle-remaining-ms), and before the server's time runs out while the patient is still tapping, it tells
// the server how long ago the last tap was (POST /kiosk/alive), which answers with the time left. So the server
// ends the session at the moment the page does, even when the page cannot reach it then (Wi-Fi down): the page
// clears itself, and after the connection returns Back or reload show nothing of the patient.
(function () {
  "use strict";
  var body = document.body;
  var idle = parseInt(body.dataset.idleSeconds || "300", 10) * 1000;
  var warning = parseInt(body.dataset.warningSeconds || "60", 10) * 1000;
  var remaining = parseInt(body.dataset.idleRemainingMs || String(idle), 10);
  var dialog = document.getElementById("idle-dialog");
  var form = document.getElementById("timeout-form");
  var aliveUrl = form ? form.dataset.aliveUrl : null;
  var startUrl = form ? form.dataset.endedUrl : "/kiosk/?m=ended";

  var lastTap = Date.now();
  var serverEnds = Date.now() + remaining;  // when the server ends the session unless told of a later tap
  // Told this long before the server's time would run out (and before the warning), at the latest.
  var margin = Math.min(5000, Math.max(warning / 2, 250));
  var syncing = false;
  var lastTry = 0;
  var ended = false;

  function token() {
    var input = form ? form.querySelector("input[name=csrf_token]") : null;
    return input ? input.value : "";
  }
  // When the page will close: the patient's own idle time, or the server's if it could not be told of later taps.
  function endsAt() { return Math.min(lastTap + idle, serverEnds); }

  function sync() {
    if (!aliveUrl || syncing) { return; }
    syncing = true;
    lastTry = Date.now();
    var data = new URLSearchParams({ idle_ms: String(Math.max(Date.now() - lastTap, 0)) });
    fetch(aliveUrl, { method: "POST", credentials: "same-origin", cache: "no-store", body: data,
                      headers: { "X-CSRFToken": token() } })
      .then(function (response) {
        if (response.status === 401) { clear(); return null; }
        return response.ok ? response.json() : null;
      })
      .then(function (answer) {
        if (answer && typeof answer.remaining_ms === "number") { serverEnds = Date.now() + answer.remaining_ms; }
      })
      .catch(function () { /* offline: tried again on the next tick, until the server's time runs out */ })
      .then(function () { syncing = false; });
  }

  // The screen is cleared in the page itself first: nothing of the patient stays shown, and the history entry
  // becomes the start screen's, whether or not the server can be reached now.
  function clear() {
    if (ended) { return; }
    ended = true;
    if (dialog && dialog.open) { dialog.close(); }
    var notice = document.getElementById("ended-notice");
    var main = document.getElementById("main");
    if (main) { main.replaceChildren(); }
    document.querySelectorAll("header nav, footer .staff-link, #connection-banner").forEach(function (node) {
      node.remove();
    });
    if (main && notice) { main.appendChild(notice.content.cloneNode(true)); }
    document.title = "pro-app";
    try { history.replaceState(null, "", startUrl); } catch (error) { /* an old browser: the reload below */ }
    document.dispatchEvent(new CustomEvent("kiosk:ended"));
    leave();
  }
  // End the session on the server and open the start screen; offline, as soon as the connection returns.
  function leave() {
    var done = function () { window.location.replace(startUrl); };
    if (!form) { done(); return; }
    fetch(form.getAttribute("action"), { method: "POST", credentials: "same-origin", cache: "no-store",
                         body: new URLSearchParams({ csrf_token: token() }) })
      .then(done, function () {
        window.addEventListener("online", function () { setTimeout(leave, 500); }, { once: true });
        setTimeout(function () { if (navigator.onLine) { leave(); } }, 3000);
      });
  }

  function warn() { if (dialog && typeof dialog.showModal === "function" && !dialog.open) { dialog.showModal(); } }

  function tick() {
    if (ended) { return; }
    var now = Date.now();
    var untold = lastTap + idle > serverEnds;
    if (untold && now >= serverEnds - warning - margin && now - lastTry > 1000) { sync(); }
    if (untold && syncing && now < serverEnds) { return; }  // the server's answer decides: no warning yet
    var end = endsAt();
    if (now >= end) { clear(); return; }
    if (now >= end - warning) { warn(); }
  }

  function tapped() { lastTap = Date.now(); }
  ["pointerdown", "keydown", "touchstart", "input"].forEach(function (name) {
    document.addEventListener(name, function () { if (!dialog || !dialog.open) { tapped(); } }, { passive: true });
  });
  var keep = document.getElementById("idle-continue");
  if (keep) { keep.addEventListener("click", function () { dialog.close(); }); }
  if (dialog) {
    // "I am still here", or Escape (the dialog's own way out for keyboard users): the patient is back.
    dialog.addEventListener("close", function () {
      if (ended) { return; }
      tapped();
      sync();  // the server's session stays alive too
    });
  }
  // A page restored from the browser's back/forward cache must be checked with the server again.
  window.addEventListener("pageshow", function (event) { if (event.persisted) { window.location.reload(); } });
  setInterval(tick, 250);
})();
