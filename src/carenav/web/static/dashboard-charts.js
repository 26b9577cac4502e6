// Bar charts of the supervisor dashboard (Chart.js): each canvas with a data-bar-chart attribute holding
// {labels, datasets: [{label, data}], stacked?, yMax?, yTitle?, counts?} (counts: whole-number ticks; a null
// in data: no figure). The page shows the same figures in tables. No inline script (CSP).
(function () {
  "use strict";

  function draw(canvas) {
    if (typeof Chart === "undefined" || canvas.dataset.drawn === "yes") {
      return;
    }
    var config = JSON.parse(canvas.dataset.barChart || "{}");
    canvas.dataset.drawn = "yes";
    var y = { beginAtZero: true, stacked: !!config.stacked };
    if (config.yMax !== undefined) {
      y.max = config.yMax;
    }
    if (config.counts) {
      y.ticks = { precision: 0 };
    }
    if (config.yTitle) {
      y.title = { display: true, text: config.yTitle };
    }
    new Chart(canvas, {
      type: "bar",
      data: { labels: config.labels || [], datasets: config.datasets || [] },
      options: {
        animation: false,
        responsive: false,
        scales: { x: { stacked: !!config.stacked }, y: y },
        plugins: { legend: { position: "bottom" } }
      }
    });
  }

  function drawAll() {
    document.querySelectorAll("canvas[data-bar-chart]").forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
