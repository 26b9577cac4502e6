// Line charts (Chart.js): each canvas with a data-line-chart attribute holding
// {labels: [...], datasets: [{label, data, stepped?, spanGaps?}], yMin?}. The page shows the same values
// in a table beside the chart. No inline script (CSP).
(function () {
  "use strict";

  function draw(canvas) {
    if (typeof Chart === "undefined" || canvas.dataset.drawn === "yes") {
      return;
    }
    var config = JSON.parse(canvas.dataset.lineChart || "{}");
    canvas.dataset.drawn = "yes";
    var y = config.yMin === undefined ? {} : { min: config.yMin };
    new Chart(canvas, {
      type: "line",
      data: { labels: config.labels || [], datasets: config.datasets || [] },
      options: {
        animation: false,
        responsive: false,
        scales: { y: y },
        plugins: { legend: { position: "bottom" } }
      }
    });
  }

  function drawAll() {
    document.querySelectorAll("canvas[data-line-chart]").forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
