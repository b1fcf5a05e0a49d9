/* Paper entry, keyboard first: in an item's row, typing the key shown on an option (the number printed on
   the paper, or a letter for an extra option) picks it and moves to the next item; Delete or Backspace
   clears the row; Tab leaves it blank. Enter moves on to the next field anywhere in the form (out of the date,
   past an item without changing it) and never saves a half-keyed form: only the save button does.
   A row that the branching rules skip, given the answers keyed so far, is greyed out, its radios disabled (so
   not sent: the server skips it the same way), and passed over. A row that its gate makes not applicable (a
   BR45 item after "Not at all") is greyed out and passed over too, but stays keyable: if the patient marked it
   anyway, the paper is what is recorded. Without JavaScript the form is plain radio buttons and works the same. */
(function () {
  "use strict";
  var form = document.querySelector("form.paper-form");
  if (!form) { return; }
  var rows = Array.prototype.slice.call(form.querySelectorAll(".paper-row"));
  var byId = {};
  rows.forEach(function (row) { byId[row.getAttribute("data-item")] = row; });

  function valueOf(row) {
    if (!row || row.classList.contains("is-branched")) { return null; }
    var checked = row.querySelector("input:checked");
    return checked ? checked.value : null;
  }

  function holds(rule) {
    var value = valueOf(byId[rule[0]]);
    return value !== null && rule[1].map(String).indexOf(value) !== -1;
  }

  function update() {
    rows.forEach(function (row) {  // in order: a rule refers to an earlier item only
      var off = JSON.parse(row.getAttribute("data-skip") || "[]").some(holds);
      var gate = JSON.parse(row.getAttribute("data-gate") || "null");
      var gated = !off && gate !== null && holds(gate);
      row.classList.toggle("is-branched", off);
      row.classList.toggle("is-gated", gated);
      row.querySelector(".paper-skipped").hidden = !off;
      var note = row.querySelector(".paper-gated");
      if (note) { note.hidden = !gated; }
      Array.prototype.forEach.call(row.querySelectorAll("input"), function (input) { input.disabled = off; });
    });
  }

  function passedOver(row) {
    return row.classList.contains("is-branched") || row.classList.contains("is-gated");
  }

  /* The places Enter and the item keys move between, in the page's order: each field of the form's header
     (a group of radio buttons is one place), each item not passed over, then the save button. */
  function stops() {
    var out = [], seen = {};
    Array.prototype.forEach.call(form.querySelectorAll("input, select, textarea, button[type=submit]"),
      function (el) {
        if (el.type === "hidden" || el.disabled || el.closest("[hidden]")) { return; }
        var row = el.closest(".paper-row");
        if (row) {
          if (passedOver(row) || seen[row.id]) { return; }
          seen[row.id] = true;
          out.push(row);
        } else if (el.type === "radio") {
          if (seen["radio:" + el.name]) { return; }
          seen["radio:" + el.name] = true;
          out.push(form.querySelector("input[type=radio][name='" + el.name + "']:checked") || el);
        } else {
          out.push(el);
        }
      });
    return out;
  }

  function focusStop(stop) {
    if (stop.classList && stop.classList.contains("paper-row")) {
      var target = stop.querySelector("input:checked:not(:disabled)") || stop.querySelector("input:not(:disabled)");
      if (target) {
        target.focus();
        stop.scrollIntoView({block: "center"});  // the rows to come stay in sight
      }
      return;
    }
    stop.focus();
  }

  function focusAfter(el) {
    var all = stops();
    var row = el.closest(".paper-row");
    var here = row ? row : el;
    var i = all.indexOf(here);
    if (i === -1 && el.type === "radio") {  // a header radio not checked: its group's place
      i = all.findIndex(function (s) { return s.type === "radio" && s.name === el.name; });
    }
    if (i === -1) {  // a row now passed over, say: the next place after it in the page
      i = all.findIndex(function (s) {
        return here.compareDocumentPosition(s) & Node.DOCUMENT_POSITION_FOLLOWING;
      }) - 1;
      if (i < -1) { i = all.length - 1; }
    }
    var next = all[i + 1];
    if (next) { focusStop(next); }
  }

  form.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var el = event.target;
    var key = (event.key || "").toLowerCase();
    if (key === "enter") {
      if (el.tagName === "BUTTON" || el.tagName === "A" || el.tagName === "TEXTAREA") { return; }
      event.preventDefault();  // no implicit submission of a form keyed half-way
      focusAfter(el);
      return;
    }
    var row = el.closest ? el.closest(".paper-row") : null;
    if (!row) { return; }
    if (key === "delete" || key === "backspace") {
      event.preventDefault();
      Array.prototype.forEach.call(row.querySelectorAll("input"), function (input) { input.checked = false; });
      update();
      focusStop(row);
      return;
    }
    var radio = Array.prototype.filter.call(row.querySelectorAll("input"), function (input) {
      return input.getAttribute("data-key") === key && !input.disabled;
    })[0];
    if (!radio) { return; }
    event.preventDefault();
    radio.checked = true;
    update();
    focusAfter(row);
  });
  form.addEventListener("change", update);
  update();
}());
