// The knowledge-gaps page: the top gaps' scores stacked by measure, the gaps in a table whose rows
// open onto their proposed article (with a button copying the Markdown the export writes), and the
// CSV of the same report. Everything comes from the JSON API; server text (intent and cluster
// labels are made of customers' words, the article of agents' replies) is only ever written with
// textContent or drawn on a canvas, never as markup.
import { base as tenantBase, el, followDaysPicker, latestLoader } from "./page_kit.js";

const REPORT_PATH = "/insights/knowledge-gaps";
/** Gaps drawn on the chart: the highest scores; the table lists every gap the API returned. */
const CHARTED = 10;
/** The measures in the order the score weighs them (30, 25, 20, 15, 10 points at most), with their colours. */
const MEASURES = [
  ["abstention", "Abstention", "#1d4ed8"],
  ["edits", "Edited drafts", "#7c3aed"],
  ["reopens", "Reopens", "#dc2626"],
  ["bad_csat", "Bad CSAT", "#ea580c"],
  ["long_unique_replies", "Long unique replies", "#64748b"],
];
const BASIS = {
  rated_good: "Drafted from well-rated replies.",
  unrated: "Drafted from solved tickets with no negative signal: none of them was rated.",
  none: "No reply qualified to draft from yet (none well rated, or every one reopened or rated badly).",
};

const daysPicker = document.getElementById("days");
const csvLink = document.getElementById("csv-link");
const status = document.getElementById("report-status");
const summary = document.getElementById("report-summary");
const emptyState = document.getElementById("empty-state");
const chartFigure = document.getElementById("chart-figure");
const canvas = document.getElementById("scores-chart");
const table = document.querySelector("table.gaps");
const card = document.getElementById("table-card");

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;
const day = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });

// ---- the chart ------------------------------------------------------------------------------

let chart = null;

function drawScores(gaps) {
  const shown = gaps.slice(0, CHARTED);
  canvas.parentElement.style.height = `${Math.max(180, 90 + shown.length * 34)}px`;
  if (chart) chart.destroy();
  chart = new window.Chart(canvas, {
    type: "bar",
    data: {
      labels: shown.map((g) => g.label),
      datasets: MEASURES.map(([measure, label, colour]) => ({
        label, data: shown.map((g) => g.points[measure] ?? 0), backgroundColor: colour })),
    },
    options: {
      indexAxis: "y",
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      scales: {
        x: { stacked: true, beginAtZero: true, suggestedMax: 50, title: { display: true, text: "Gap score (points)" } },
        y: { stacked: true, ticks: { autoSkip: false, callback(value) {
          const label = this.getLabelForValue(value);
          const room = this.chart.width < 480 ? 12 : 24;  // a narrow screen keeps the bars wide enough to read
          return label.length > room ? `${label.slice(0, room - 1)}…` : label;
        } } },
      },
      plugins: { legend: { labels: { boxWidth: 14 } } },
    },
  });
  canvas.dataset.ready = "true";
}

// ---- the article ----------------------------------------------------------------------------

/** The gap's article as the export writes it (a GET of ``.../knowledge-gaps/<key>.md``). */
async function articleMarkdown(gap, days) {
  let response;
  try {
    response = await fetch(`${tenantBase}${REPORT_PATH}/${encodeURIComponent(gap.key)}.md?days=${days}`,
                           { headers: { Accept: "text/markdown" } });
  } catch {
    throw new Error("Deskloop did not answer; check that the server is running");
  }
  if (response.ok) return response.text();
  let reason = `HTTP ${response.status}`;
  try {
    reason = (await response.json()).error.reason || reason;
  } catch {
    // Not the API's JSON error: the status says what happened.
  }
  throw new Error(reason);
}

function copyButton(gap, days) {
  const button = el("button", { type: "button", className: "button small-button", "data-testid": "copy-markdown",
                                "aria-label": `Copy the article for ${gap.label} as Markdown` }, "Copy as Markdown");
  const note = el("span", { className: "muted small copy-note", role: "status", "data-testid": "copy-note" });
  // Fetched when the row opens, so the click copies at once (a clipboard write must follow the click).
  let markdown = null;
  button.disabled = true;
  articleMarkdown(gap, days).then((text) => {
    markdown = text;
    button.disabled = false;
  }, (error) => { note.textContent = `Could not load the Markdown: ${error.message}`; });
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(markdown);
      note.textContent = "Copied.";
    } catch {
      note.textContent = "The browser refused the clipboard; download the articles with deskloop insights knowledge-gaps --export.";
    }
  });
  return el("p", { className: "copy-row" }, button, " ", note);
}

function article(gap, id, days) {
  const a = gap.article;
  return el("tr", { id, className: "details", "data-testid": "gap-article", hidden: true },
    el("td", { colspan: 5 },
      el("article", { className: "article-draft", "aria-label": `Proposed article: ${a.title}` },
        el("h3", { "data-testid": "article-title" }, a.title, " ", el("span", { className: "draft-badge" }, a.status)),
        el("p", { className: "muted small", "data-testid": "article-basis" }, BASIS[a.basis] || a.basis,
           a.source_ticket_ids.length ? ` Tickets ${a.source_ticket_ids.join(", ")}.` : ""),
        a.answer ? el("div", { className: "answer", "data-testid": "article-answer" }, a.answer)
                 : el("p", { className: "muted small", "data-testid": "article-answer" }, "No well-rated reply to draft from yet."),
        a.alternatives.length ? el("h4", {}, "Other ways agents answered") : null,
        a.alternatives.map((text) => el("div", { className: "answer alternative", "data-testid": "article-alternative" }, text)),
        a.questions.length ? el("h4", {}, "Questions this answers") : null,
        a.questions.length ? el("ul", { className: "questions" },
                                a.questions.map((q) => el("li", { "data-testid": "article-question" }, q))) : null,
        copyButton(gap, days))));
}

// ---- the table ------------------------------------------------------------------------------

function rows(gap, rank, days) {
  const id = `article-${rank}`;
  const toggle = el("button", { type: "button", className: "button ghost small-button expand", "aria-expanded": "false",
                                "aria-controls": id, "data-testid": "expand",
                                "aria-label": `Proposed article for ${gap.label}` }, "Article");
  let more = null;
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    if (open && more === null) {  // built on first opening: only then is its Markdown fetched
      more = article(gap, id, days);
      main.after(more);
    }
    toggle.setAttribute("aria-expanded", String(open));
    more.hidden = !open;
  });
  const main = el("tr", { dataset: { key: gap.key }, "data-testid": "gap-row" },
    el("td", { className: "num", "data-testid": "gap-rank" }, rank),
    el("th", { scope: "row" },
       el("span", { className: "gap-label", "data-testid": "gap-label" }, gap.label),
       el("div", { className: "small muted" }, gap.kind === "intent" ? "intent" : "cluster of tickets without an intent"),
       toggle),
    el("td", { className: "num", "data-testid": "gap-tickets" }, gap.tickets),
    el("td", { className: "num", "data-testid": "gap-score" }, gap.score.toFixed(1)),
    el("td", { className: "reasons" },
       gap.reasons.length ? el("ul", {}, gap.reasons.map((r) => el("li", { "data-testid": "gap-reason" }, r.detail)))
                          : el("span", { className: "muted small" }, "No measure stands out")));
  return main;
}

function renderTable(gaps, days) {
  table.tBodies[0].replaceChildren(...gaps.map((g, i) => rows(g, i + 1, days)));
  table.hidden = gaps.length === 0;
}

// ---- loading --------------------------------------------------------------------------------

function show(report, days) {
  const { gaps } = report;
  summary.textContent = `${plural(gaps.length, "gap", "gaps")} among `
    + `${plural(report.tickets_read, "ticket", "tickets")} with an intent or a cluster created since `
    + `${day.format(new Date(report.since))}; ${plural(report.groups_measured, "group", "groups")} of 5 tickets `
    + `or more measured, those scoring under ${report.min_score} left out.`;
  emptyState.hidden = gaps.length > 0;
  chartFigure.hidden = gaps.length === 0;
  renderTable(gaps, days);
  if (gaps.length) drawScores(gaps);
  document.body.dataset.loaded = days;
}

followDaysPicker({ picker: daysPicker, csvLink, path: REPORT_PATH, show,
                   load: latestLoader({ card, status, what: "the knowledge gaps" }) });
