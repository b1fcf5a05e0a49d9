// Switching language keeps a choice the patient made on the question but has not sent yet. It is kept in this
// tab's sessionStorage for the next page only, never in the address: the browser's history would keep it for
// the next patient.
(function () {
  "use strict";
  var KEY = "pro-app-unsent-choice";
  var MAX_AGE_MS = 15000;
  var kept = null;
  try {
    kept = JSON.parse(window.sessionStorage.getItem(KEY) || "null");
    window.sessionStorage.removeItem(KEY);
  } catch (e) { kept = null; }

  function restore() {
    if (!kept || kept.path !== window.location.pathname || Date.now() - kept.at > MAX_AGE_MS) { return; }
    var inputs = document.querySelectorAll('.question-form input[name="choice"]');
    for (var n = 0; n < inputs.length; n++) {
      if (inputs[n].value === kept.value) { inputs[n].checked = true; }
    }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", restore); } else { restore(); }

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("nav.language a[hreflang]") : null;
    var chosen = document.querySelector('.question-form input[name="choice"]:checked');
    if (!link || !chosen) { return; }
    try {
      window.sessionStorage.setItem(KEY, JSON.stringify({ path: window.location.pathname, value: chosen.value,
                                                           at: Date.now() }));
    } catch (e) { /* storage not available: the page in the other language shows the choice as stored */ }
  });
})();
