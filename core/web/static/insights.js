// The spike-alerts page: one category's tickets per hour against its expected band, with its
// incidents and the deploys on the same chart; the incidents table; the emerging groups. Everything
// comes from the JSON API; server text (ticket subjects are customer text) is only ever written
// with textContent, never as markup.
import { el, get, keepInAddress, pickFromAddress, say } from "./page_kit.js";

const HOUR_MS = 3600 * 1000;

const picker = document.getElementById("category");
const hoursPicker = document.getElementById("hours");
const canvas = document.getElementById("volume-chart");
const summary = document.getElementById("chart-summary");
const volumeStatus = document.getElementById("volume-status");
const deployList = document.querySelector('[data-testid="deploy-list"]');
const noDeploys = document.querySelector('[data-testid="no-deploys"]');
const incidentsTable = document.querySelector("table.incidents");
const noIncidents = document.querySelector('[data-testid="no-incidents"]');
const incidentsStatus = document.getElementById("incidents-status");
const emergingList = document.querySelector('[data-testid="emerging-list"]');
const noEmerging = document.querySelector('[data-testid="no-emerging"]');
const emergingStatus = document.getElementById("emerging-status");

const utc = new Intl.DateTimeFormat("en-GB", { weekday: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
                                                timeZone: "UTC" });
const when = (iso) => utc.format(new Date(iso));
const categoryName = (kind, category) => `${kind} · ${category}`;
const keyOf = (kind, category) => JSON.stringify([kind, category]);
const deployName = (d) => `${d.service}@${d.version}`;
const isWebLink = (url) => typeof url === "string" && /^https?:\/\//i.test(url);

function minutes(value) {
  const m = Math.round(value);
  return m < 90 ? `${m} min` : `${Math.round((m / 60) * 10) / 10} h`;
}

// ---- the chart ------------------------------------------------------------------------------

/** Incident spans and deploy lines, drawn behind and over the bars at their exact minute. */
const markers = {
  id: "deskloopMarkers",
  beforeDatasetsDraw(chart, _args, options) {
    const { ctx, chartArea } = chart;
    ctx.save();
    ctx.fillStyle = "rgba(220, 38, 38, 0.13)";
    for (const span of options.incidents || []) {
      const left = Math.max(at(chart, span.from, options.first), chartArea.left);
      const right = Math.min(at(chart, span.to, options.first), chartArea.right);
      if (right > left) ctx.fillRect(left, chartArea.top, right - left, chartArea.bottom - chartArea.top);
    }
    ctx.restore();
  },
  afterDatasetsDraw(chart, _args, options) {
    const { ctx, chartArea } = chart;
    ctx.save();
    ctx.strokeStyle = "#7c3aed";
    ctx.fillStyle = "#7c3aed";
    ctx.lineWidth = 1.5;
    ctx.setLineDash([4, 3]);
    ctx.font = "12px system-ui, sans-serif";
    for (const deploy of options.deploys || []) {
      const x = at(chart, deploy.time, options.first);
      if (x < chartArea.left || x > chartArea.right) continue;
      ctx.beginPath();
      ctx.moveTo(x, chartArea.top);
      ctx.lineTo(x, chartArea.bottom);
      ctx.stroke();
      const label = deploy.label;
      const width = ctx.measureText(label).width;
      ctx.fillText(label, Math.min(x + 4, chartArea.right - width), chartArea.top + 12);
    }
    ctx.restore();
  },
};

/** The x pixel of a moment: each bar stands for one hour, its centre half past. */
function at(chart, time, first) {
  const x = chart.scales.x;
  const step = chart.data.labels.length > 1 ? x.getPixelForValue(1) - x.getPixelForValue(0) : x.width;
  return x.getPixelForValue(0) + ((time - first) / HOUR_MS - 0.5) * step;
}

let chart = null;

function draw(series, incidents, deploys) {
  const points = series.points;
  const first = Date.parse(points[0].hour);
  const end = first + points.length * HOUR_MS;
  const indexOf = (time) => Math.floor((time - first) / HOUR_MS);
  const nulls = () => points.map(() => null);
  const ownIncidents = incidents.filter((i) => i.category_kind === series.kind && i.category === series.category);

  const incidentPoints = nulls();
  const incidentNotes = {};
  for (const incident of ownIncidents) {
    const index = indexOf(Date.parse(incident.started_at));
    if (index < 0 || index >= points.length) continue;
    incidentPoints[index] = points[index].opening;  // on the line it crossed
    incidentNotes[index] = `Incident ${incident.ended_at ? "ended" : "open"}: ${incident.observed} tickets where ${incident.expected} were expected`;
  }
  const deployPoints = nulls();
  const deployNotes = {};
  for (const deploy of deploys) {
    const index = indexOf(Date.parse(deploy.deployed_at));
    if (index < 0 || index >= points.length) continue;
    deployPoints[index] = 0;
    deployNotes[index] = [...(deployNotes[index] || []), `Deploy ${deployName(deploy)} at ${when(deploy.deployed_at)}`];
  }
  const markerOptions = {
    first,
    incidents: ownIncidents.map((i) => ({ from: Date.parse(i.started_at),
                                           to: Math.min(i.ended_at ? Date.parse(i.ended_at) : end, end) })),
    deploys: deploys.map((d) => ({ time: Date.parse(d.deployed_at), label: deployName(d) })),
  };
  const data = {
    labels: points.map((p) => p.hour),
    datasets: [
      { type: "line", label: "Usual range, low", data: points.map((p) => p.lower), borderWidth: 0, pointRadius: 0,
        fill: false, order: 5 },
      { type: "line", label: "Usual range", data: points.map((p) => p.upper), borderWidth: 0, pointRadius: 0,
        backgroundColor: "rgba(37, 99, 235, 0.16)", fill: "-1", order: 5 },
      { type: "line", label: "Expected", data: points.map((p) => p.expected), borderColor: "#2563eb", borderWidth: 1.5,
        borderDash: [6, 4], pointRadius: 0, order: 4 },
      { type: "line", label: "Opens an incident", data: points.map((p) => p.opening), borderColor: "#dc2626",
        borderWidth: 1, borderDash: [2, 3], pointRadius: 0, order: 4 },
      { type: "bar", label: "Tickets", data: points.map((p) => p.observed), backgroundColor: "#334155",
        barPercentage: 1, categoryPercentage: 0.9, order: 3 },
      { type: "line", label: "Incident started", data: incidentPoints, showLine: false, pointStyle: "triangle",
        pointRadius: 8, pointHoverRadius: 10, borderColor: "#b91c1c", backgroundColor: "#dc2626", order: 1 },
      { type: "line", label: "Deploy", data: deployPoints, showLine: false, pointStyle: "rectRot", pointRadius: 7,
        pointHoverRadius: 9, borderColor: "#6d28d9", backgroundColor: "#7c3aed", order: 1 },
    ],
  };
  const notes = { "Incident started": incidentNotes, Deploy: deployNotes };
  const options = {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    interaction: { mode: "index", intersect: false },
    scales: {
      x: { ticks: { callback: (_value, index) => when(points[index].hour), maxRotation: 0, autoSkipPadding: 16 },
           grid: { display: false } },
      y: { beginAtZero: true, title: { display: true, text: "Tickets per hour" }, ticks: { precision: 0 } },
    },
    plugins: {
      deskloopMarkers: markerOptions,
      legend: { labels: { filter: (item) => item.text !== "Usual range, low", sort: (a, b) => a.datasetIndex - b.datasetIndex,
                          boxWidth: 14 } },
      tooltip: {
        filter: (item) => item.dataset.label !== "Usual range, low" && item.raw !== null,
        callbacks: {
          title: (items) => (items.length ? `${when(points[items[0].dataIndex].hour)} UTC` : ""),
          label: (item) => {
            const p = points[item.dataIndex];
            const note = notes[item.dataset.label]?.[item.dataIndex];
            if (note) return note;
            if (item.dataset.label === "Usual range") return `Usual range: ${p.lower} to ${p.upper}`;
            if (item.dataset.label === "Tickets") return `Tickets: ${p.observed}${p.complete ? "" : " so far"}`;
            return `${item.dataset.label}: ${item.formattedValue}`;
          },
        },
      },
    },
  };
  if (chart) chart.destroy();
  chart = new window.Chart(canvas, { data, options, plugins: [markers] });
  canvas.dataset.category = keyOf(series.kind, series.category);
  canvas.dataset.points = String(points.length);
  canvas.dataset.ready = "true";

  const total = points.reduce((sum, p) => sum + p.observed, 0);
  const above = points.filter((p) => p.observed > p.upper).length;
  summary.textContent = `${categoryName(series.kind, series.category)}: ${total} tickets in ${points.length} hours, `
    + `${above} ${above === 1 ? "hour" : "hours"} above the usual range, ${markerOptions.incidents.length} `
    + `${markerOptions.incidents.length === 1 ? "incident" : "incidents"}.`;
}

// ---- deploys --------------------------------------------------------------------------------

function renderDeploys(deploys, incidents) {
  deployList.replaceChildren(...deploys.map((d) => {
    const name = isWebLink(d.link) ? el("a", { href: d.link, rel: "noopener noreferrer" }, deployName(d))
                                   : el("span", {}, deployName(d));
    const before = incidents.filter((i) => i.deploy && i.deploy.deployed_at === d.deployed_at
                                           && deployName(i.deploy) === deployName(d));
    return el("li", { "data-testid": "deploy" }, el("strong", {}, name), ` at ${when(d.deployed_at)} UTC`,
      before.length ? el("span", { className: "muted" }, ` · before ${before.length === 1 ? "an incident" : `${before.length} incidents`}`) : null);
  }));
  noDeploys.hidden = deploys.length > 0;
}

// ---- incidents ------------------------------------------------------------------------------

function incidentRow(incident) {
  const open = !incident.ended_at;
  const deploy = incident.deploy
    ? el("span", {}, deployName(incident.deploy),
         incident.deploy_lead_minutes === null ? "" : `, ${minutes(incident.deploy_lead_minutes)} before`)
    : el("span", { className: "muted" }, "—");
  const show = el("button", { type: "button", className: "button ghost small-button", "data-testid": "show-incident",
                              "aria-label": `Show ${categoryName(incident.category_kind, incident.category)} on the chart` },
                  "Show");
  show.addEventListener("click", () => {
    choose(incident.category_kind, incident.category);
    canvas.scrollIntoView({ block: "center" });
  });
  return el("tr", { dataset: { incident: incident.incident_id }, "data-testid": "incident-row" },
    el("td", {}, el("span", { className: "category-name" }, categoryName(incident.category_kind, incident.category)),
       incident.area ? el("div", { className: "small muted" }, `Area: ${incident.area}`) : null,
       (incident.related || []).length
         ? el("div", { className: "small muted", "data-testid": "incident-related" },
              `Also seen as: ${incident.related.map((r) => categoryName(r.kind, r.category)).join(", ")}`)
         : null),
    el("td", {}, el("span", { className: `status status-${open ? "open" : "solved"}`, "data-testid": "incident-status" },
                    open ? "open" : "ended")),
    el("td", { className: "num", "data-testid": "incident-observed" }, incident.observed),
    el("td", { className: "num", "data-testid": "incident-expected" }, incident.expected.toFixed(incident.expected < 1 ? 2 : 1)),
    el("td", { className: "num" }, when(incident.started_at)),
    el("td", { "data-testid": "incident-deploy" }, deploy),
    el("td", {}, show));
}

function renderIncidents(incidents) {
  incidentsTable.tBodies[0].replaceChildren(...incidents.map(incidentRow));
  incidentsTable.hidden = incidents.length === 0;
  noIncidents.hidden = incidents.length > 0;
}

// ---- emerging groups ------------------------------------------------------------------------

function example(ticket) {
  const subject = ticket.subject || `Ticket ${ticket.external_id}`;
  const text = isWebLink(ticket.url) ? el("a", { href: ticket.url, rel: "noopener noreferrer" }, subject)
                                     : el("span", {}, subject);
  return el("li", { "data-testid": "emerging-example" }, text, el("span", { className: "muted small" }, ` #${ticket.external_id}`));
}

function renderEmerging(listing) {
  emergingList.replaceChildren(...listing.groups.map((group) => el("li", { className: "emerging-group",
                                                                          dataset: { category: group.category },
                                                                          "data-testid": "emerging-group" },
    el("h3", {}, group.category, " ", el("span", { className: "chip-score" }, `${group.tickets} tickets`),
       group.open_incident ? el("span", { className: "status status-open" }, "open incident") : null),
    group.examples.length
      ? el("ul", { className: "examples" }, group.examples.map(example))
      : el("p", { className: "muted small" }, "No example among the latest tickets."))));
  noEmerging.hidden = listing.groups.length > 0;
}

// ---- loading --------------------------------------------------------------------------------

let categories = [];
let incidents = [];
let drawing = 0;

function fillPicker(listing) {
  categories = listing.categories;
  const options = categories.map((c, index) => el("option", { value: String(index) },
    `${c.incidents ? "⚠ " : ""}${categoryName(c.kind, c.category)} (${c.tickets})`));
  picker.replaceChildren(...options);
  picker.disabled = categories.length === 0;
  if (!categories.length) picker.append(el("option", {}, "No tickets counted in these hours"));
}

function choose(kind, category) {
  const index = categories.findIndex((c) => c.kind === kind && c.category === category);
  if (index >= 0) picker.value = String(index);
  showChosen(kind, category);
}

async function showChosen(kind, category) {
  const ticket = ++drawing;
  const hours = hoursPicker.value;
  keepInAddress({ kind, category, hours });
  canvas.dataset.ready = "false";
  try {
    const query = new URLSearchParams({ kind, category, hours });
    const [series, deploys] = await Promise.all([get(`/volumes?${query}`), get(`/deploys?hours=${hours}`)]);
    if (ticket !== drawing) return;  // a later choice won
    say(volumeStatus, "");
    draw(series, incidents, deploys.deploys);
    renderDeploys(deploys.deploys, incidents);
  } catch (error) {
    if (ticket === drawing) say(volumeStatus, `Could not draw ${categoryName(kind, category)}: ${error.message}`, true);
  }
}

/** The category to show first: the one in the address, else one with an open incident, else the busiest. */
function initialChoice() {
  const params = new URLSearchParams(window.location.search);
  const named = categories.find((c) => c.kind === params.get("kind") && c.category === params.get("category"));
  return named || categories.find((c) => c.open_incident) || categories[0];
}

async function loadAll() {
  const hours = hoursPicker.value;
  const [listing, incidentList] = await Promise.all([get(`/insights/categories?hours=${hours}`),
                                                     get("/incidents?limit=200")]);
  incidents = incidentList.incidents;
  const previous = categories[Number(picker.value)];
  fillPicker(listing);
  renderIncidents(incidents);
  const chosen = (previous && categories.find((c) => c.kind === previous.kind && c.category === previous.category))
    || initialChoice();
  if (chosen) choose(chosen.kind, chosen.category);
  else say(volumeStatus, "No ticket was counted in these hours: the chart appears once a scan has counted some.");
  get(`/insights/emerging?hours=${hours}`).then(renderEmerging)
    .catch((error) => say(emergingStatus, `Could not load the emerging groups: ${error.message}`, true));
}

picker.addEventListener("change", () => {
  const c = categories[Number(picker.value)];
  if (c) showChosen(c.kind, c.category);
});
hoursPicker.addEventListener("change", () => loadAll().catch((error) => say(volumeStatus, `Could not load: ${error.message}`, true)));

// The hours in the address, else three days on a narrow screen (a week of bars would be hairlines).
if (!pickFromAddress(hoursPicker, "hours") && window.matchMedia("(max-width: 600px)").matches) {
  hoursPicker.value = "72";
}
loadAll().catch((error) => {
  say(volumeStatus, `Could not load the categories: ${error.message}`, true);
  say(incidentsStatus, `Could not load the incidents: ${error.message}`, true);
});
