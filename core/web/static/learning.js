// The learning curve: accuracy per block for the learning and the frozen model, and acceptance.
const data = JSON.parse(document.getElementById("replay-data")?.textContent || "null");
const canvas = document.getElementById("curve");
if (data && canvas && window.Chart) {
  const labels = data.blocks.map((_, i) => String(i + 1));
  const percent = (rows, key) => rows.map((row) => (row[key] === null ? null : Math.round(row[key] * 1000) / 10));
  const chart = new window.Chart(canvas, {
    type: "line",
    data: {
      labels,
      datasets: [
        { label: "Accuracy, learning", data: percent(data.blocks, "accuracy"), borderColor: "#2563eb", backgroundColor: "#2563eb" },
        { label: "Accuracy, frozen after block 1", data: percent(data.frozen_blocks, "accuracy"), borderColor: "#9ca3af", backgroundColor: "#9ca3af", borderDash: [6, 4] },
        { label: "Drafts sent unchanged", data: percent(data.blocks, "acceptance"), borderColor: "#16a34a", backgroundColor: "#16a34a" },
        { label: "Offline cross-validated accuracy", data: labels.map(() => Math.round(data.offline_cv_accuracy * 1000) / 10), borderColor: "#f59e0b", backgroundColor: "#f59e0b", pointRadius: 0, borderDash: [2, 3] },
      ],
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "index", intersect: false },
      scales: {
        x: { title: { display: true, text: `Block of ${data.block_size} tickets` } },
        y: { min: 0, max: 100, title: { display: true, text: "%" } },
      },
    },
  });
  canvas.dataset.points = String(chart.data.datasets[0].data.length);
  canvas.dataset.ready = "true";
}
