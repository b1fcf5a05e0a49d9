// After a submission the tablet returns to the start screen by itself, so the next patient finds it ready.
(function () {
  "use strict";
  var seconds = parseInt(document.body.dataset.returnSeconds || "30", 10);
  var url = document.body.dataset.returnUrl || "/kiosk/";
  setTimeout(function () { window.location.replace(url); }, seconds * 1000);
})();
