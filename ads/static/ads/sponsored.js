/* Viewability of sponsored cards (MRC display standard): a card is viewable once at least half of
   its pixels were in view for one continuous second. Then its beacon is sent, once. A card that
   leaves the view (or a page that is hidden) before the second is up starts again from zero. */
(function () {
  "use strict";
  var SECONDS = 1000;
  var cards = document.querySelectorAll(".sponsored-card[data-beacon]");
  if (!cards.length || !("IntersectionObserver" in window)) {
    return; // no measurement, no beacon: an impression is never claimed viewable without it
  }
  var timers = new Map();
  var inView = new Set();

  function send(card) {
    var url = card.getAttribute("data-beacon");
    card.removeAttribute("data-beacon");
    card.setAttribute("data-viewable", "sent");
    if (!(navigator.sendBeacon && navigator.sendBeacon(url))) {
      fetch(url, { method: "POST", keepalive: true, credentials: "same-origin" });
    }
  }

  function start(card) {
    if (timers.has(card) || document.visibilityState !== "visible") return;
    timers.set(card, window.setTimeout(function () {
      timers.delete(card);
      observer.unobserve(card);
      inView.delete(card);
      send(card);
    }, SECONDS));
  }

  function stop(card) {
    if (timers.has(card)) {
      window.clearTimeout(timers.get(card));
      timers.delete(card);
    }
  }

  var observer = new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      if (entry.isIntersecting && entry.intersectionRatio >= 0.5) {
        inView.add(entry.target);
        start(entry.target);
      } else {
        inView.delete(entry.target);
        stop(entry.target);
      }
    });
  }, { threshold: [0, 0.5, 1] });

  document.addEventListener("visibilitychange", function () {
    inView.forEach(function (card) {
      if (document.visibilityState === "visible") start(card); else stop(card);
    });
  });
  cards.forEach(function (card) { observer.observe(card); });
})();
