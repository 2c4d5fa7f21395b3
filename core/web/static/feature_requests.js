// The feature-requests page: requests per product area and per capability (stacked by period), the
// capabilities in a sortable table whose rows open onto their example tickets and the accounts
// asking, and the CSV of the same report. Everything comes from the JSON API; server text (ticket
// subjects are customer text, labels are made of customers' words) is only ever written with
// textContent or drawn on a canvas, never as markup.
import { el, followDaysPicker, latestLoader } from "./page_kit.js";

const REPORT_PATH = "/insights/feature-requests";
/** Capabilities drawn on the chart: the most requested; the table lists them all. */
const CHARTED = 10;

const daysPicker = document.getElementById("days");
const csvLink = document.getElementById("csv-link");
const status = document.getElementById("report-status");
const summary = document.getElementById("report-summary");
const emptyState = document.getElementById("empty-state");
const charts = document.getElementById("charts");
const areasCanvas = document.getElementById("areas-chart");
const noAreas = document.querySelector('[data-testid="no-areas"]');
const capabilitiesCanvas = document.getElementById("capabilities-chart");
const table = document.querySelector("table.capabilities");
const card = document.getElementById("capabilities-card");

const isWebLink = (url) => typeof url === "string" && /^https?:\/\//i.test(url);
const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;
const earlier = (c) => Math.max(0, c.requests - c.last_4_weeks - c.previous_4_weeks);
const day = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });

// ---- the charts -----------------------------------------------------------------------------

let areasChart = null;
let capabilitiesChart = null;

/** Requests per product area over every capability, the busiest first. */
function areaTotals(capabilities) {
  const totals = new Map();
  for (const c of capabilities) {
    for (const [area, n] of Object.entries(c.areas)) totals.set(area, (totals.get(area) || 0) + n);
  }
  return [...totals].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

const barOptions = (stacked, title) => ({
  indexAxis: "y",
  responsive: true,
  maintainAspectRatio: false,
  animation: false,
  scales: {
    x: { stacked, beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: title } },
    y: { stacked, ticks: { autoSkip: false, callback(value) {
      const label = this.getLabelForValue(value);
      return label.length > 28 ? `${label.slice(0, 27)}…` : label;
    } } },
  },
  plugins: { legend: { display: stacked, labels: { boxWidth: 14 } } },
});

function drawAreas(capabilities) {
  const totals = areaTotals(capabilities);
  noAreas.hidden = totals.length > 0;
  areasCanvas.parentElement.hidden = totals.length === 0;
  areasCanvas.parentElement.style.height = `${Math.max(140, 48 + totals.length * 30)}px`;
  if (areasChart) areasChart.destroy();
  areasChart = new window.Chart(areasCanvas, {
    type: "bar",
    data: { labels: totals.map(([area]) => area),
            datasets: [{ label: "Requests", data: totals.map(([, n]) => n), backgroundColor: "#2563eb" }] },
    options: barOptions(false, "Requests"),
  });
  areasCanvas.dataset.ready = "true";
}

function drawCapabilities(capabilities) {
  const shown = [...capabilities].sort((a, b) => b.requests - a.requests || a.label.localeCompare(b.label))
    .slice(0, CHARTED);
  capabilitiesCanvas.parentElement.style.height = `${Math.max(160, 70 + shown.length * 34)}px`;
  if (capabilitiesChart) capabilitiesChart.destroy();
  capabilitiesChart = new window.Chart(capabilitiesCanvas, {
    type: "bar",
    data: {
      labels: shown.map((c) => c.label),
      datasets: [
        { label: "Last 4 weeks", data: shown.map((c) => c.last_4_weeks), backgroundColor: "#2563eb" },
        { label: "The 4 weeks before", data: shown.map((c) => c.previous_4_weeks), backgroundColor: "#93c5fd" },
        { label: "Earlier", data: shown.map(earlier), backgroundColor: "#cbd5e1" },
      ],
    },
    options: barOptions(true, "Requests"),
  });
  capabilitiesCanvas.dataset.ready = "true";
}

// ---- the table ------------------------------------------------------------------------------

/** How each sortable column orders capabilities, largest first; ties by requests, then label. */
const SORTS = {
  requests: (c) => c.requests,
  weighted_accounts: (c) => c.weighted_accounts,
  trend: (c) => c.last_4_weeks - c.previous_4_weeks,
};
let sort = { key: "weighted_accounts", descending: true };
let capabilities = [];

function sorted() {
  const value = SORTS[sort.key];
  const order = sort.descending ? -1 : 1;
  return [...capabilities].sort((a, b) => order * (value(a) - value(b)) || b.requests - a.requests
                                          || a.label.localeCompare(b.label));
}

function example(ticket) {
  const subject = ticket.subject || `Ticket ${ticket.external_id}`;
  const text = isWebLink(ticket.url) ? el("a", { href: ticket.url, rel: "noopener noreferrer" }, subject)
                                     : el("span", {}, subject);
  return el("li", { "data-testid": "example" }, text, el("span", { className: "muted small" }, ` #${ticket.external_id}`));
}

function details(c, id) {
  const unnamed = c.accounts - c.organizations.length;
  return el("tr", { id, className: "details", "data-testid": "capability-details", hidden: true },
    el("td", { colspan: 4 },
      el("div", { className: "detail-grid" },
        el("div", {},
          el("h3", {}, "Example tickets"),
          c.examples.length ? el("ul", { className: "examples" }, c.examples.map(example))
                            : el("p", { className: "muted small" }, `Tickets ${c.example_external_ids.join(", ")}`)),
        el("div", {},
          el("h3", {}, "Accounts asking"),
          c.organizations.length
            ? el("ul", { className: "organizations", "data-testid": "organizations" },
                 c.organizations.map((o) => el("li", {}, o)))
            : null,
          el("p", { className: "muted small", "data-testid": "accounts-note" },
             `${plural(c.accounts, "account", "accounts")} in all`,
             unnamed > 0 ? `; ${unnamed} counted but not named (people without an organization, or organizations `
                           + "past the first ten)." : ".")))));
}

function rows(c) {
  const id = `details-${c.key}`;
  const toggle = el("button", { type: "button", className: "button ghost small-button expand", "aria-expanded": "false",
                                "aria-controls": id, "data-testid": "expand",
                                "aria-label": `Examples and accounts of ${c.label}` }, "Details");
  const more = details(c, id);
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    more.hidden = !open;
  });
  const areas = Object.entries(c.areas).map(([area, n]) => `${area} ${n}`).join(", ");
  const main = el("tr", { dataset: { key: c.key }, "data-testid": "capability-row" },
    el("th", { scope: "row" }, el("span", { className: "capability-label", "data-testid": "capability-label" }, c.label),
       areas ? el("div", { className: "small muted", "data-testid": "capability-areas" }, `Areas: ${areas}`) : null,
       toggle),
    el("td", { className: "num", "data-testid": "capability-requests" }, c.requests),
    el("td", { className: "num", "data-testid": "capability-accounts" },
       el("span", { "data-testid": "capability-weighted" }, c.weighted_accounts),
       el("span", { className: "muted small" }, ` (${c.accounts})`)),
    el("td", { className: "num", "data-testid": "capability-trend" },
       `${c.last_4_weeks} vs ${c.previous_4_weeks} `, el("span", { className: `trend trend-${c.trend}` }, c.trend)));
  return [main, more];
}

function renderTable() {
  const open = new Set([...table.querySelectorAll('[data-testid="expand"][aria-expanded="true"]')]
    .map((b) => b.getAttribute("aria-controls")));
  table.tBodies[0].replaceChildren(...sorted().flatMap(rows));
  for (const id of open) document.getElementById(id)?.previousElementSibling.querySelector("button")?.click();
  for (const th of table.tHead.querySelectorAll("th[data-sort]")) {
    th.setAttribute("aria-sort", th.dataset.sort === sort.key ? (sort.descending ? "descending" : "ascending") : "none");
  }
  table.hidden = capabilities.length === 0;
}

for (const th of table.tHead.querySelectorAll("th[data-sort]")) {
  th.querySelector("button").addEventListener("click", () => {
    sort = { key: th.dataset.sort, descending: sort.key === th.dataset.sort ? !sort.descending : true };
    renderTable();
  });
}

// ---- loading --------------------------------------------------------------------------------

function show(report, days) {
  capabilities = report.capabilities;
  summary.textContent = `${plural(report.feature_requests, "feature request", "feature requests")} among `
    + `${plural(report.tickets_read, "ticket", "tickets")} created since ${day.format(new Date(report.since))}, in `
    + `${plural(capabilities.length, "requested capability", "requested capabilities")}`
    + `${report.plan_field ? `; accounts weighted by their "${report.plan_field}" plan` : ""}.`;
  emptyState.hidden = capabilities.length > 0;
  charts.hidden = capabilities.length === 0;
  renderTable();
  if (capabilities.length) {
    drawAreas(capabilities);
    drawCapabilities(capabilities);
  }
  document.body.dataset.loaded = days;
}

followDaysPicker({ picker: daysPicker, csvLink, path: REPORT_PATH, show,
                   load: latestLoader({ card, status, what: "the feature requests" }) });
