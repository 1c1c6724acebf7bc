// The page that waits for an answer: polls its status URL, shows the text written so far, and opens
// the question page once the answer is ready. Loaded as a file: the CSP allows no inline script.
(function () {
  "use strict";
  var box = document.getElementById("answer-wait");
  if (!box) { return; }
  var partial = document.getElementById("answer-partial");
  var state = document.getElementById("answer-state");
  var url = box.getAttribute("data-status-url");
  var failures = 0;
  var delay = 500;

  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        failures = 0;
        if (data.ready) { window.location.assign(data.url); return; }
        if (data.partial) { partial.textContent = data.partial; }  // text, never markup
        delay = Math.min(delay * 1.2, 2000);
        window.setTimeout(poll, delay);
      })
      .catch(function () {
        failures += 1;
        if (failures >= 5) { state.textContent = box.getAttribute("data-failed"); return; }
        window.setTimeout(poll, 2000);
      });
  }
  poll();
}());
