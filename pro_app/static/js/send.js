// Answers survive a Wi-Fi drop: the page sends its own forms (the answer, a skip, Continue, Finish) with an
// idempotency key. When the connection fails, the patient sees that the answer is kept, the choice stays on the
// screen, and the page sends it again by itself until it gets through; the server stores it once (a form sent
// again with the key that stored it changes nothing) and the page goes on. Without this script the forms work
// as plain forms. Staff credentials (leaving patient mode) are always sent as a plain form.
(function () {
  "use strict";
  var HEADER = "X-Kiosk-Send";
  var WAIT_MS = 15000;  // a request that hangs this long (a dropped Wi-Fi) is sent again
  var banner = document.getElementById("connection-banner");
  var ended = false;
  var retryTimer = null;

  function newKey() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function managed(form) {
    return form && form.matches && form.matches("main form[method=post]") && !form.hasAttribute("data-native") &&
      !form.querySelector("input[type=password]");
  }
  document.querySelectorAll("main form[method=post]").forEach(function (form) {
    if (!managed(form)) { return; }
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = "request_key";
    input.value = newKey();  // one per page shown: sending again after a failure keeps it
    form.appendChild(input);
  });

  // Not form.action: the Next button is named "action", and a named control shadows the form's property.
  function target(form) { return new URL(form.getAttribute("action") || window.location.href, window.location.href).href; }

  function showBanner(on) { if (banner) { banner.hidden = !on; } }

  // The server answered with something other than "go on" (the question again with a message, an error page):
  // let the browser send the form the plain way and show what comes back.
  function sendPlainly(form, submitter) {
    form.setAttribute("data-native", "");
    if (submitter && submitter.name) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = submitter.name;
      input.value = submitter.value;
      form.appendChild(input);
    }
    HTMLFormElement.prototype.submit.call(form);
  }

  function send(form, data, submitter, attempt) {
    if (ended) { return; }
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = setTimeout(function () { if (controller) { controller.abort(); } }, WAIT_MS);
    var headers = {};
    headers[HEADER] = "1";
    fetch(target(form), { method: "POST", body: data, credentials: "same-origin", cache: "no-store",
                         headers: headers, signal: controller ? controller.signal : undefined })
      .then(function (response) {
        clearTimeout(timer);
        var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
        if (response.ok && json) {
          return response.json().then(function (answer) {
            showBanner(false);
            window.location.assign(answer.location);
          });
        }
        if (response.status >= 502 && response.status <= 504) { throw new Error("server unreachable"); }
        sendPlainly(form, submitter);
        return null;
      })
      .catch(function () {
        clearTimeout(timer);
        if (ended) { return; }
        showBanner(true);
        var again = function () {
          window.removeEventListener("online", again);
          clearTimeout(retryTimer);
          send(form, data, submitter, attempt + 1);
        };
        window.addEventListener("online", again);
        retryTimer = setTimeout(again, Math.min(1000 * Math.pow(2, attempt), 5000));
      });
  }

  // Registered after tap-guard.js's own listener: a second tap it refused (defaultPrevented) sends nothing.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || !managed(form) || typeof window.fetch !== "function") { return; }
    event.preventDefault();
    var submitter = event.submitter || null;
    var data = new FormData(form);
    if (submitter && submitter.name) { data.append(submitter.name, submitter.value); }
    send(form, data, submitter, 0);
  });
  // The idle timeout cleared the screen: what was not sent is dropped with it (the next patient's tablet).
  document.addEventListener("kiosk:ended", function () { ended = true; clearTimeout(retryTimer); });
})();
