// The accounts-at-risk page: which churn score is in use, the accounts in a sortable table, the top
// ones' scores split by reason on a stacked chart, and one account's timeline (its tickets per week
// with their sentiment, bad ratings and reopens, and the list of them). Everything comes from the
// JSON API; account names are customer data, so they are only ever written with textContent (or
// drawn on a canvas) and always encoded where they go into a URL.
import { base as tenantBase, el, keepInAddress, latestLoader } from "./page_kit.js";

const RANKING_PATH = "/insights/accounts";
/** Accounts listed (and in the CSV link); the API answers at most 500. */
const LISTED = 200;
/** Accounts drawn on the chart: the highest scores. */
const CHARTED = 10;
/** The scoring windows: six recent weeks and twelve of baseline (core/insights/churn/features.py). */
const WEEKS = 18;
const WEEK_MS = 7 * 24 * 3600 * 1000;
/** A rating at or under this is a bad one (BAD_CSAT in core/insights/churn/features.py). */
const BAD_RATING = 2;
const PALETTE = ["#dc2626", "#ea580c", "#ca8a04", "#2563eb", "#7c3aed", "#0d9488", "#db2777", "#4b5563",
                 "#16a34a", "#9333ea", "#0891b2", "#b45309", "#65a30d"];

const status = document.getElementById("accounts-status");
const summary = document.getElementById("accounts-summary");
const method = document.querySelector('[data-testid="score-method"]');
const note = document.querySelector('[data-testid="score-note"]');
const auc = document.querySelector('[data-testid="score-auc"]');
const emptyState = document.getElementById("empty-state");
const scoresFigure = document.getElementById("scores-figure");
const scoresCanvas = document.getElementById("scores-chart");
const table = document.querySelector("table.accounts");
const card = document.getElementById("accounts-card");
const timelineCard = document.getElementById("timeline-card");
const timelineStatus = document.getElementById("timeline-status");
const timelineHeading = document.getElementById("timeline-heading");
const timelineScore = document.querySelector('[data-testid="timeline-score"]');
const timelineReasons = document.querySelector('[data-testid="timeline-reasons"]');
const timelineCanvas = document.getElementById("timeline-chart");
const ticketRows = document.querySelector('[data-testid="timeline-tickets"] tbody');

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;
const day = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
const shortDay = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", timeZone: "UTC" });
const accountPath = (account) => `${RANKING_PATH}/${encodeURIComponent(account)}`;
const troubled = (t) => (t.csat !== null && t.csat <= BAD_RATING) || t.reopen_count > 0;

// ---- the score in use and the chart of the top accounts ----------------------------------------

function describeScore(ranking) {
  method.textContent = ranking.method === "learned" ? "learned from this tenant's outcomes" : "the documented rules";
  note.textContent = ranking.note;
  const e = ranking.evaluation;
  auc.hidden = !e;
  if (e) {
    auc.textContent = `Measured on ${plural(e.evaluated_on, "later outcome", "later outcomes")} (trained on `
      + `${e.trained_on} before ${day.format(new Date(e.cut))}): AUC ${e.auc.toFixed(3)}, the rules `
      + `${e.rules_auc.toFixed(3)} on the same outcomes.`;
  }
}

let scoresChart = null;

/** One dataset per reason feature among the charted accounts, plus the rest of each score. */
function reasonDatasets(shown) {
  const features = new Map();
  for (const a of shown) for (const r of a.reasons) if (!features.has(r.feature)) features.set(r.feature, r.description);
  const datasets = [...features].map(([feature, description], i) => ({
    label: description, feature, backgroundColor: PALETTE[i % PALETTE.length],
    data: shown.map((a) => a.reasons.find((r) => r.feature === feature)?.contribution ?? 0),
  }));
  datasets.push({ label: "The rest of the score", feature: "rest", backgroundColor: "#cbd5e1",
    data: shown.map((a) => Math.max(0, Math.round(100 * (a.score - a.reasons.reduce((s, r) => s + r.contribution, 0))) / 100)) });
  return datasets;
}

function drawScores(accounts) {
  const shown = [...accounts].sort((a, b) => b.score - a.score || a.account.localeCompare(b.account)).slice(0, CHARTED);
  scoresCanvas.parentElement.style.height = `${Math.max(180, 90 + shown.length * 32)}px`;
  if (scoresChart) scoresChart.destroy();
  scoresChart = new window.Chart(scoresCanvas, {
    type: "bar",
    data: { labels: shown.map((a) => a.account), datasets: reasonDatasets(shown) },
    options: {
      indexAxis: "y", responsive: true, maintainAspectRatio: false, animation: false,
      scales: {
        x: { stacked: true, beginAtZero: true, title: { display: true, text: "Points of the score" } },
        y: { stacked: true, ticks: { autoSkip: false, callback(value) {
          const label = this.getLabelForValue(value);
          return label.length > 24 ? `${label.slice(0, 23)}…` : label;
        } } },
      },
      plugins: { legend: { labels: { boxWidth: 14 } } },
      onClick(_event, elements) {
        if (elements.length) openAccount(shown[elements[0].index].account);
      },
    },
  });
  scoresCanvas.dataset.ready = "true";
}

// ---- the table -----------------------------------------------------------------------------

/** How each sortable column orders accounts; ties by score, then name. */
const SORTS = {
  account: { value: (a) => a.account, first: "ascending" },
  score: { value: (a) => a.score, first: "descending" },
  tickets: { value: (a) => a.tickets, first: "descending" },
};
let sort = { key: "score", descending: true };
let accounts = [];

function sorted() {
  const { value } = SORTS[sort.key];
  const order = sort.descending ? -1 : 1;
  const compare = (x, y) => (typeof x === "string" ? x.localeCompare(y) : x - y);
  return [...accounts].sort((a, b) => order * compare(value(a), value(b)) || b.score - a.score
                                      || a.account.localeCompare(b.account));
}

function row(a) {
  const open = el("button", { type: "button", className: "link-button account-name", "data-testid": "open-account",
                              "aria-controls": "timeline-card" }, a.account);
  open.addEventListener("click", () => openAccount(a.account));
  return el("tr", { "data-testid": "account-row" },
    el("th", { scope: "row" }, open),
    el("td", { className: "num", "data-testid": "account-score" }, a.score.toFixed(1)),
    el("td", { className: "num", "data-testid": "account-tickets" }, a.tickets),
    el("td", { "data-testid": "account-reasons" },
       a.reasons.length ? el("ul", { className: "reasons" }, a.reasons.map((r) => el("li", {}, r.description)))
                        : el("span", { className: "muted small" }, "none")));
}

function renderTable() {
  table.tBodies[0].replaceChildren(...sorted().map(row));
  for (const th of table.tHead.querySelectorAll("th[data-sort]")) {
    th.setAttribute("aria-sort", th.dataset.sort === sort.key ? (sort.descending ? "descending" : "ascending") : "none");
  }
  table.hidden = accounts.length === 0;
}

for (const th of table.tHead.querySelectorAll("th[data-sort]")) {
  th.querySelector("button").addEventListener("click", () => {
    const key = th.dataset.sort;
    sort = { key, descending: sort.key === key ? !sort.descending : SORTS[key].first === "descending" };
    renderTable();
  });
}

// ---- one account's timeline ----------------------------------------------------------------

let timelineChart = null;

/** The 18 weeks ending at ``asOf``: each week's tickets, troubled tickets and mean sentiment. */
function weeks(tickets, asOf) {
  const end = new Date(asOf).getTime();
  const buckets = Array.from({ length: WEEKS }, (_, i) => ({ start: end - (WEEKS - i) * WEEK_MS, count: 0, troubled: 0,
                                                               tones: [] }));
  for (const t of tickets) {
    const index = WEEKS - 1 - Math.floor((end - new Date(t.created_at).getTime()) / WEEK_MS);
    if (index < 0 || index >= WEEKS) continue;
    const week = buckets[index];
    week.count += 1;
    if (troubled(t)) week.troubled += 1;
    if (t.tone !== null) week.tones.push(t.tone);
  }
  return buckets.map((w) => ({ ...w, tone: w.tones.length ? w.tones.reduce((s, v) => s + v, 0) / w.tones.length : null }));
}

function drawTimeline(timeline) {
  const buckets = weeks(timeline.tickets, timeline.as_of);
  if (timelineChart) timelineChart.destroy();
  timelineChart = new window.Chart(timelineCanvas, {
    data: {
      labels: buckets.map((w) => shortDay.format(new Date(w.start))),
      datasets: [
        { type: "bar", label: "Tickets", data: buckets.map((w) => w.count), backgroundColor: "#93c5fd", yAxisID: "y" },
        { type: "bar", label: "With a bad rating or a reopen", data: buckets.map((w) => w.troubled),
          backgroundColor: "#dc2626", yAxisID: "y" },
        { type: "line", label: "Mean sentiment", data: buckets.map((w) => w.tone), borderColor: "#0f766e",
          backgroundColor: "#0f766e", spanGaps: true, yAxisID: "sentiment" },
      ],
    },
    options: {
      responsive: true, maintainAspectRatio: false, animation: false,
      scales: {
        y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "Tickets" } },
        sentiment: { position: "right", min: -1, max: 1, grid: { drawOnChartArea: false },
                     title: { display: true, text: "Sentiment" } },
      },
      plugins: { legend: { labels: { boxWidth: 14 } } },
    },
  });
  timelineCanvas.dataset.ready = "true";
}

function ticketRow(t) {
  const tone = t.tone === null ? "–" : t.tone.toFixed(2);
  return el("tr", { "data-testid": "timeline-ticket", className: troubled(t) ? "troubled" : null },
    el("td", {}, day.format(new Date(t.created_at))),
    el("td", {}, `#${t.external_id}`),
    el("td", {}, t.status ?? "–"),
    el("td", { className: "num" }, tone, t.frustrated ? el("span", { className: "flag" }, " frustrated") : null),
    el("td", { className: "num" }, t.csat ?? "–"),
    el("td", { className: "num" }, t.reopen_count),
    el("td", { className: "small" }, t.reasons.join(", ")));
}

function showTimeline(timeline) {
  timelineHeading.textContent = timeline.account;
  timelineScore.textContent = `Score ${timeline.score.toFixed(1)} (${timeline.method}); `
    + `${plural(timeline.tickets.length, "ticket", "tickets")} in the 18 weeks up to ${day.format(new Date(timeline.as_of))}.`;
  timelineReasons.replaceChildren(...timeline.reasons.map((r) => el("li", {},
    `${r.description}: ${r.contribution.toFixed(1)} points (${r.feature} ${r.value}), tickets `
    + `${r.ticket_ids.length}`)));
  const newest = [...timeline.tickets].sort((a, b) => b.created_at.localeCompare(a.created_at));
  ticketRows.replaceChildren(...newest.map(ticketRow));
  drawTimeline(timeline);
  timelineCard.dataset.account = timeline.account;
}

const timelineLoader = latestLoader({
  card: timelineCard, status: timelineStatus, what: "this account's timeline",
  failed() {
    delete timelineCard.dataset.account;
    ticketRows.replaceChildren();
  },
});

function openAccount(account, { scroll = true } = {}) {
  keepInAddress({ account });
  timelineCard.hidden = false;
  timelineHeading.textContent = account;
  return timelineLoader(accountPath(account), (timeline) => {
    showTimeline(timeline);
    if (scroll) timelineCard.scrollIntoView({ block: "start" });
  });
}

// ---- loading --------------------------------------------------------------------------------

function showRanking(ranking) {
  accounts = ranking.accounts;
  describeScore(ranking);
  summary.textContent = `${plural(ranking.total, "account", "accounts")} with tickets in the 18 weeks up to `
    + `${day.format(new Date(ranking.as_of))}${ranking.total > accounts.length ? `; the ${accounts.length} most at risk listed` : ""}.`;
  emptyState.hidden = accounts.length > 0;
  scoresFigure.hidden = accounts.length === 0;
  renderTable();
  if (accounts.length) drawScores(accounts);
  document.body.dataset.loaded = "true";
}

document.getElementById("csv-link").href = `${tenantBase}${RANKING_PATH}.csv?limit=${LISTED}`;
latestLoader({ card, status, what: "the accounts" })(`${RANKING_PATH}?limit=${LISTED}`, showRanking);
const asked = new URLSearchParams(window.location.search).get("account");
if (asked) openAccount(asked, { scroll: false });
