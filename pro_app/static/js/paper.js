/* Paper entry, keyboard first: in an item's row, typing the key shown on an option (the number printed on
   the paper, or a letter for an extra option) picks it and moves to the next item; Delete or Backspace
   clears the row; Tab leaves it blank. A row that the branching rules skip, given the answers keyed so
   far, is greyed out, its radios disabled (so not sent: the server skips it the same way), and passed
   over. Without JavaScript the form is plain radio buttons and works the same. */
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

  function skipped(row) {
    var rules = JSON.parse(row.getAttribute("data-skip") || "[]");
    return rules.some(function (rule) {
      var value = valueOf(byId[rule[0]]);
      return value !== null && rule[1].map(String).indexOf(value) !== -1;
    });
  }

  function update() {
    rows.forEach(function (row) {  // in order: a rule refers to an earlier item only
      var off = skipped(row);
      row.classList.toggle("is-branched", off);
      row.querySelector(".paper-skipped").hidden = !off;
      Array.prototype.forEach.call(row.querySelectorAll("input"), function (input) { input.disabled = off; });
    });
  }

  function focusRow(row) {
    var target = row.querySelector("input:checked:not(:disabled)") || row.querySelector("input:not(:disabled)");
    if (target) {
      target.focus();
      row.scrollIntoView({block: "nearest"});
    }
  }

  function focusAfter(row) {
    for (var i = rows.indexOf(row) + 1; i < rows.length; i++) {
      if (!rows[i].classList.contains("is-branched")) { focusRow(rows[i]); return; }
    }
    form.querySelector("button[type=submit]").focus();
  }

  form.addEventListener("keydown", function (event) {
    var row = event.target.closest ? event.target.closest(".paper-row") : null;
    if (!row || event.ctrlKey || event.metaKey || event.altKey) { return; }
    var key = (event.key || "").toLowerCase();
    if (key === "delete" || key === "backspace") {
      event.preventDefault();
      Array.prototype.forEach.call(row.querySelectorAll("input"), function (input) { input.checked = false; });
      update();
      focusRow(row);
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
