// Help for patients who need it: text size, reading the question aloud, and a countdown on the idle warning.
// Everything here is optional: without script the text size buttons post the form, and the rest is hidden.
(function () {
  "use strict";
  var root = document.documentElement;
  var lang = (root.getAttribute("lang") || "en").toLowerCase();

  // Text size: applied at once and stored for this patient's session in the background, so a chosen but
  // unsent answer stays chosen. If the background request fails the form is posted as without script.
  var sizeForm = document.getElementById("text-size-form");
  if (sizeForm && window.fetch && window.FormData) {
    sizeForm.addEventListener("submit", function (event) {
      var button = event.submitter;
      if (!button || !button.value) { return; }
      event.preventDefault();
      var size = button.value;
      var data = new FormData(sizeForm);
      data.set("size", size);
      root.classList.remove("text-large", "text-larger");
      if (size !== "normal") { root.classList.add("text-" + size); }
      sizeForm.querySelectorAll("button[name=size]").forEach(function (other) {
        other.setAttribute("aria-pressed", other === button ? "true" : "false");
      });
      fetch(sizeForm.action, { method: "POST", body: data, credentials: "same-origin", cache: "no-store",
                               headers: { "X-Requested-With": "fetch" } })
        .then(function (response) { if (!response.ok) { throw new Error(String(response.status)); } })
        .catch(function () {
          var field = document.createElement("input");
          field.type = "hidden"; field.name = "size"; field.value = size;
          sizeForm.appendChild(field);
          sizeForm.submit();
        });
    });
  }

  // Read aloud, with the device's own speech synthesis, only where it has a voice for the page's language.
  var readButton = document.getElementById("read-aloud");
  var synth = window.speechSynthesis;
  function voiceFor() {
    var voices = synth ? synth.getVoices() : [];
    for (var k = 0; k < voices.length; k++) {
      if ((voices[k].lang || "").toLowerCase().replace("_", "-").split("-")[0] === lang) { return voices[k]; }
    }
    return null;
  }
  function text(node) { return node ? node.textContent.replace(/\s+/g, " ").trim() : ""; }
  function whatToRead() {
    var form = document.querySelector(".question-form");
    if (!form) { return text(document.querySelector("main")); }
    var parts = [text(form.querySelector(".gate")), text(form.querySelector(".question-text"))];
    form.querySelectorAll(".option-label").forEach(function (label) { parts.push(text(label)); });
    form.querySelectorAll(".scale-anchors li").forEach(function (anchor) { parts.push(text(anchor)); });
    return parts.filter(Boolean).join(". ");
  }
  function offerReading() {
    if (!readButton || !synth || !window.SpeechSynthesisUtterance) { return; }
    var voice = voiceFor();
    if (!voice) { readButton.hidden = true; return; }
    var readLabel = readButton.textContent;
    readButton.hidden = false;
    readButton.onclick = function () {
      if (synth.speaking) { synth.cancel(); return; }
      var utterance = new window.SpeechSynthesisUtterance(whatToRead());
      utterance.lang = voice.lang || lang;
      utterance.voice = voice;
      utterance.onend = utterance.onerror = function () { readButton.textContent = readLabel; };
      readButton.textContent = readButton.dataset.stopText || readLabel;
      synth.speak(utterance);
    };
  }
  if (synth) {
    offerReading();
    if (typeof synth.addEventListener === "function") { synth.addEventListener("voiceschanged", offerReading); }
    window.addEventListener("pagehide", function () { synth.cancel(); });  // never read on after the page
  }

  // The idle warning counts down the seconds left before the screen returns to the start screen.
  var dialog = document.getElementById("idle-dialog");
  var countdown = document.getElementById("idle-countdown");
  if (dialog && countdown && window.MutationObserver) {
    var warning = parseInt(document.body.dataset.warningSeconds || "60", 10);
    var timer = null;
    var show = function (seconds) { countdown.textContent = countdown.dataset.text.replace("{seconds}", seconds); };
    new window.MutationObserver(function () {
      clearInterval(timer);
      if (!dialog.open) { countdown.textContent = ""; return; }
      var ends = Date.now() + warning * 1000;
      show(warning);
      timer = setInterval(function () { show(Math.max(0, Math.ceil((ends - Date.now()) / 1000))); }, 1000);
    }).observe(dialog, { attributes: true, attributeFilter: ["open"] });
  }
})();
