// The running timer on the patient page: shows how long it has run, ticking each second. The minutes
// recorded are the server's (whole minutes between start and stop); this display only helps the eye.
// It reads the start and the server's clock at render time from data attributes, so a wrong clock on the
// computer does not skew it. Elements swapped in by HTMX are picked up on the next tick. No inline script
// (CSP).
(function () {
  "use strict";

  function pad(n) {
    return n < 10 ? "0" + n : String(n);
  }

  function show(seconds) {
    var s = Math.max(0, Math.floor(seconds));
    var h = Math.floor(s / 3600);
    var m = Math.floor((s % 3600) / 60);
    return (h ? h + ":" + pad(m) : String(m)) + ":" + pad(s % 60) + (h ? "" : " min");
  }

  function tick() {
    document.querySelectorAll("[data-timer-started]").forEach(function (el) {
      if (!el.dataset.timerSeen) {
        el.dataset.timerSeen = String(Date.now());
      }
      var started = Date.parse(el.dataset.timerStarted);
      var serverNow = Date.parse(el.dataset.timerNow || "") || started;
      var sinceRender = (Date.now() - Number(el.dataset.timerSeen)) / 1000;
      el.textContent = show((serverNow - started) / 1000 + sinceRender);
    });
  }

  tick();
  window.setInterval(tick, 1000);
}());
