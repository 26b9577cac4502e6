// The score-history chart of the patient summary's risk panel. Reads the points from the canvas's
// data-score-history attribute (JSON: [{as_of, tier, hcc_v28, charlson, lace}]); no inline script (CSP).
(function () {
  "use strict";

  function draw(canvas) {
    if (typeof Chart === "undefined" || canvas.dataset.drawn === "yes") {
      return;
    }
    var points = JSON.parse(canvas.dataset.scoreHistory || "[]");
    var series = function (key) {
      return points.map(function (p) { return p[key] === undefined ? null : p[key]; });
    };
    canvas.dataset.drawn = "yes";
    new Chart(canvas, {
      type: "line",
      data: {
        labels: points.map(function (p) { return p.as_of; }),
        datasets: [
          { label: "Tier", data: series("tier"), stepped: true },
          { label: "HCC V28", data: series("hcc_v28") },
          { label: "Charlson", data: series("charlson") },
          { label: "LACE", data: series("lace"), spanGaps: true }
        ]
      },
      options: {
        animation: false,
        responsive: false,
        scales: { y: { beginAtZero: true } },
        plugins: { legend: { position: "bottom" } }
      }
    });
  }

  function drawAll() {
    document.querySelectorAll("canvas[data-score-history]").forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
