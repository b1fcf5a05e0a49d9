// Idle timeout on the shared tablet: warn, then return to the start screen (answers are already saved).
(function () {
  "use strict";
  var body = document.body;
  var idle = parseInt(body.dataset.idleSeconds || "300", 10) * 1000;
  var warning = parseInt(body.dataset.warningSeconds || "60", 10) * 1000;
  var dialog = document.getElementById("idle-dialog");
  var form = document.getElementById("timeout-form");
  var warnTimer = null;
  var endTimer = null;

  var aliveUrl = form ? form.dataset.aliveUrl : null;
  var lastPing = Date.now();
  var PING_EVERY = 20000;

  function end() { if (form) { form.submit(); } }
  // Taps and typing happen in the page only; tell the server now and then, so its idle clock agrees.
  function ping() {
    if (!aliveUrl) { return; }
    lastPing = Date.now();
    var token = form.querySelector("input[name=csrf_token]");
    fetch(aliveUrl, { method: "POST", credentials: "same-origin", cache: "no-store",
                      headers: { "X-CSRFToken": token ? token.value : "" } })
      .then(function (response) { if (response.status === 401) { window.location.reload(); } })
      .catch(function () { /* offline for a moment: the next tap tries again */ });
  }
  function warn() { if (dialog && typeof dialog.showModal === "function" && !dialog.open) { dialog.showModal(); } }
  function reset() {
    clearTimeout(warnTimer);
    clearTimeout(endTimer);
    warnTimer = setTimeout(warn, Math.max(idle - warning, 0));
    endTimer = setTimeout(end, idle);
  }
  ["pointerdown", "keydown", "touchstart", "input"].forEach(function (name) {
    document.addEventListener(name, function () {
      if (!dialog || !dialog.open) {
        reset();
        if (Date.now() - lastPing > PING_EVERY) { ping(); }
      }
    }, { passive: true });
  });
  var keep = document.getElementById("idle-continue");
  if (keep) { keep.addEventListener("click", function () { dialog.close(); }); }
  if (dialog) {
    // "I am still here", or Escape (the dialog's own way out for keyboard users): the patient is back.
    dialog.addEventListener("close", function () {
      ping();  // the server's session stays alive too
      reset();
    });
  }
  // A page restored from the browser's back/forward cache must be checked with the server again.
  window.addEventListener("pageshow", function (event) { if (event.persisted) { window.location.reload(); } });
  reset();
})();

