// The weekly digest page: the learning loop's last four weeks on a chart, and the digest's
// sections as tables and lists. Everything comes from the JSON API; server text (organization
// names, capability and gap labels, categories) is only ever written with textContent or drawn
// on a canvas, never as markup.
import { el, keepInAddress, latestLoader } from "./page_kit.js";

const DIGEST_PATH = "/insights/digest";

const form = document.getElementById("week-controls");
const weekInput = document.getElementById("week");
const status = document.getElementById("digest-status");
const summary = document.getElementById("digest-summary");
const notes = document.getElementById("digest-notes");
const trendCanvas = document.getElementById("trend-chart");
const learningSummary = document.getElementById("learning-summary");
const card = document.getElementById("digest-card");

const percent = (rate) => (rate === null || rate === undefined ? "–" : `${Math.round(rate * 100)}%`);
const body = (testid) => document.querySelector(`[data-testid="${testid}"] tbody`);
const list = (testid) => document.querySelector(`[data-testid="${testid}"]`);

/** A section's rows, or one row saying why there are none (nothing that week, or left out). */
function fill(target, items, render, columns, none) {
  const empty = (text) => (columns ? el("tr", {}, el("td", { colspan: columns, className: "muted" }, text))
                                   : el("li", { className: "muted" }, text));
  if (items === null || items === undefined) target.replaceChildren(empty("Left out this time: see the note above."));
  else if (!items.length) target.replaceChildren(empty(none));
  else target.replaceChildren(...items.map(render));
}

let trendChart = null;

function drawTrend(trend) {
  if (trendChart) trendChart.destroy();
  const share = (key) => trend.map((w) => (w[key] === null ? null : Math.round(w[key] * 1000) / 10));
  trendChart = new window.Chart(trendCanvas, {
    type: "line",
    data: {
      labels: trend.map((w) => w.week),
      datasets: [
        { label: "Drafts sent unchanged (%)", data: share("acceptance"), borderColor: "#2563eb",
          backgroundColor: "#2563eb", spanGaps: true },
        { label: "Intents not corrected (%)", data: share("accuracy"), borderColor: "#16a34a",
          backgroundColor: "#16a34a", borderDash: [6, 4], spanGaps: true },
      ],
    },
    options: { responsive: true, maintainAspectRatio: false, animation: false,
               scales: { y: { min: 0, max: 100, title: { display: true, text: "%" } } },
               plugins: { legend: { labels: { boxWidth: 14 } } } },
  });
  trendCanvas.dataset.ready = "true";
}

function render(digest) {
  summary.textContent = `Week ${digest.week}: ${digest.starts.slice(0, 10)} to ${digest.ends.slice(0, 10)} (UTC).`;
  notes.replaceChildren(...digest.notes.map((n) => el("li", { "data-testid": "digest-note" }, n)));
  notes.hidden = digest.notes.length === 0;
  fill(body("churn-table"), digest.churn_risks, (r) => el("tr", { "data-testid": "churn-row" },
    el("th", { scope: "row" }, r.account), el("td", { className: "num" }, r.score), el("td", {}, r.reasons.join("; "))),
  3, "No account stands out.");
  fill(body("rising-table"), digest.rising_capabilities, (c) => el("tr", { "data-testid": "rising-row" },
    el("th", { scope: "row" }, c.label), el("td", { className: "num" }, c.requests_this_week),
    el("td", { className: "num" }, `${c.last_4_weeks} vs ${c.previous_4_weeks} (${c.trend})`)),
  3, "No request is on the rise.");
  fill(list("gaps-list"), digest.knowledge_gaps, (g) => el("li", { "data-testid": "gap-item" },
    el("strong", {}, g.label), ` (score ${g.score}): ${g.reasons.join("; ")}`), 0, "No knowledge gap.");
  fill(list("spikes-list"), digest.incidents, (i) => el("li", { "data-testid": "spike-item" },
    el("strong", {}, i.category), `: ${i.observed} tickets, ~${Math.round(i.expected)} expected`,
    i.deploy ? `, after deploy ${i.deploy}` : ""), 0, "No spike opened this week.");
  const loop = digest.learning;
  trendCanvas.parentElement.hidden = !loop;
  if (loop) {
    drawTrend(loop.trend);
    const kinds = Object.entries(loop.signals_by_kind).map(([k, n]) => `${k} ${n}`).join(", ") || "none";
    learningSummary.textContent = `Signals this week: ${kinds}. Drafts sent unchanged: ${loop.sent_unchanged} of `
      + `${loop.drafts_sent} (${percent(loop.acceptance)}).`;
  } else {
    learningSummary.textContent = "";
  }
}

const loader = latestLoader({ card, status, what: "the digest", pending: "Computing the digest…" });

function load() {
  const week = weekInput.value.trim();
  keepInAddress({ week: week || null });
  return loader(week ? `${DIGEST_PATH}?week=${encodeURIComponent(week)}` : DIGEST_PATH, (digest) => {
    render(digest);
    document.body.dataset.loaded = digest.week;
  });
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  load();
});
weekInput.value = new URLSearchParams(window.location.search).get("week") || "";
load();
