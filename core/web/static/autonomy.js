// The autonomy page: the kill switch (Pause/Resume, a POST carrying the page's CSRF token), each
// intent's mode, threshold and shadow evidence, what autonomous replies did (the auto-resolution
// rate week by week on a chart, wrong replies, first response and CSAT against people's, handoffs
// by reason), and the latest backtest per intent on a chart. Everything comes from the JSON API;
// server text (intent names are the tenant's words) is only ever written as text or drawn on a canvas.
import { base as tenantBase, call, el, get, keepInAddress, latestLoader, pickFromAddress, say } from "./page_kit.js";

const ROOT = "/autonomy";

const switchState = document.getElementById("switch-state");
const switchButton = document.getElementById("switch-button");  // absent without the admin scope
const switchStatus = document.getElementById("switch-status");
const policySummary = document.getElementById("policy-summary");
const intentsBody = document.querySelector('[data-testid="intents-table"] tbody');
const daysPicker = document.getElementById("days");
const tile = (testid) => document.querySelector(`[data-testid="${testid}"]`);
const weeklyCanvas = document.getElementById("weekly-chart");
const backtestCanvas = document.getElementById("backtest-chart");

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;
const percent = (rate) => (rate === null || rate === undefined ? "–" : `${(rate * 100).toFixed(1)}%`);
const number = (value, digits = 2) => (value === null || value === undefined ? "–" : value.toFixed(digits));
const share = (rate) => (rate === null || rate === undefined ? null : Math.round(rate * 1000) / 10);

/** Seconds as a person reads them: 47 s, 12 min, 3.5 h, 2.1 d. */
function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  if (seconds < 36 * 3600) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} d`;
}

// ---- the kill switch and the policy -----------------------------------------------------------

function showSwitch(status) {
  const paused = status.paused;
  switchState.textContent = paused
    ? `Paused by ${paused.by ?? "someone"} at ${paused.at ?? "an unknown time"}: Deskloop answers nothing on its own (shadow goes on recording).`
    : "Running: intents set to autonomous are answered on their own.";
  switchState.classList.toggle("paused", Boolean(paused));
  switchState.dataset.paused = String(Boolean(paused));
  if (switchButton) {
    switchButton.textContent = paused ? "Resume autonomy" : "Pause autonomy";
    switchButton.dataset.action = paused ? "resume" : "pause";
    switchButton.disabled = false;
  }
  const c = status.config;
  policySummary.textContent = `Target precision ${status.target_precision}; default threshold ${c.default_threshold}; `
    + `languages ${c.languages.join(", ")}; at most ${c.rate_per_hour} autonomous replies an hour, one per ticket in `
    + `${c.reply_window_hours} h; sensitive: ${plural(status.sensitive_intents.length, "intent", "intents")} and `
    + `${plural(status.sensitive_accounts.length, "account", "accounts")}.`;
}

if (switchButton) {
  switchButton.addEventListener("click", async () => {
    const action = switchButton.dataset.action;
    switchButton.disabled = true;
    say(switchStatus, action === "pause" ? "Pausing…" : "Resuming…");
    try {
      const { data } = await call("POST", `${ROOT}/${action}`);
      say(switchStatus, action === "pause" ? "Paused: every process stops autonomous replies within seconds."
                                           : "Resumed: the intents' modes apply again.");
      showSwitch(data);
      loadIntents();
    } catch (error) {
      say(switchStatus, `Could not ${action}: ${error.message}`, true);
      switchButton.disabled = false;
    }
  });
}

// ---- the intents: modes, thresholds, shadow evidence ------------------------------------------

function intentRows(status, shadow) {
  const modes = new Map(status.intents.map((i) => [i.intent, i]));
  const evidence = new Map(shadow.intents.map((i) => [i.intent, i]));
  const names = [...new Set([...modes.keys(), ...evidence.keys()])].sort();
  if (!names.length) {
    return [el("tr", {}, el("td", { colspan: 8, className: "muted" },
      "Every intent is off (the default): set one to shadow with deskloop autonomy mode to gather evidence."))];
  }
  return names.map((name) => {
    const mode = modes.get(name);
    const seen = evidence.get(name);
    const recommend = seen ? (seen.recommend_autonomous ? "Switch on: enough evidence" : "Not yet") : "No shadow replies";
    return el("tr", { "data-testid": "intent-row", dataset: { intent: name } },
      el("th", { scope: "row", "data-testid": "intent-name" }, name),
      el("td", { "data-testid": "intent-mode" }, mode ? mode.mode : "off"),
      el("td", { "data-testid": "intent-applies", title: mode ? mode.reason : "" },
         mode ? mode.effective : "off", mode?.sensitive ? " (sensitive)" : ""),
      el("td", { className: "num", "data-testid": "intent-threshold" }, mode ? number(mode.threshold) : "–"),
      el("td", { className: "num", "data-testid": "intent-compared" }, seen ? seen.compared : 0),
      el("td", { className: "num", "data-testid": "intent-precision" }, percent(seen?.precision)),
      el("td", { className: "num", "data-testid": "intent-lower-bound" }, percent(seen?.precision_lower_bound)),
      el("td", { "data-testid": "intent-recommendation", className: seen?.recommend_autonomous ? "recommend-yes" : "" },
         recommend));
  });
}

const loadStatus = latestLoader({ card: document.getElementById("switch-card"), status: switchStatus,
                                  what: "the kill switch" });
/** The modes and the shadow evidence, read together (one table shows both). */
async function loadIntents() {
  const card = document.getElementById("intents-card");
  const status = document.getElementById("intents-status");
  card.setAttribute("aria-busy", "true");
  try {
    const [shadow, current] = await Promise.all([get(`${ROOT}/shadow`), get(`${ROOT}/status`)]);
    intentsBody.replaceChildren(...intentRows(current, shadow));
    say(status, "");
  } catch (error) {
    intentsBody.replaceChildren();
    say(status, `Could not load the intents: ${error.message}`, true);
  } finally {
    card.removeAttribute("aria-busy");
  }
}

// ---- the measures ------------------------------------------------------------------------------

let weeklyChart = null;

function drawWeeks(weeks) {
  if (weeklyChart) weeklyChart.destroy();
  weeklyChart = new window.Chart(weeklyCanvas, {
    type: "bar",
    data: {
      labels: weeks.map((w) => w.start.slice(0, 10)),
      datasets: [{ label: "Auto-resolution rate (%)", data: weeks.map((w) => share(w.auto_resolution_rate)),
                   backgroundColor: "#2563eb" }],
    },
    options: { responsive: true, maintainAspectRatio: false, animation: false,
               scales: { y: { min: 0, suggestedMax: 100, title: { display: true, text: "% of new tickets" } },
                         x: { title: { display: true, text: "Week starting" } } },
               plugins: { legend: { labels: { boxWidth: 14 } } } },
  });
  weeklyCanvas.dataset.ready = "true";
}

function timeTile(found) {
  return found.count ? [duration(found.median_seconds), " ", el("small", {}, `p90 ${duration(found.p90_seconds)}, ${found.count} tickets`)]
                     : ["–"];
}

function csatTile(found) {
  return found.rated ? [number(found.mean), " ", el("small", {}, `of ${found.rated} rated`)] : ["–"];
}

function showMeasures(found) {
  const all = found.overall;
  tile("auto-resolution").replaceChildren(percent(all.auto_resolution_rate), " ",
    el("small", {}, `${all.auto_resolved} of ${all.new_tickets} new tickets`));
  tile("wrong-replies").replaceChildren(percent(all.wrong_reply_rate), " ",
    el("small", {}, `${all.wrong_replies} of ${all.answers_posted} answers`));
  tile("frt-autonomous").replaceChildren(...timeTile(all.first_response_autonomous));
  tile("frt-human").replaceChildren(...timeTile(all.first_response_human));
  tile("csat-autonomous").replaceChildren(...csatTile(all.csat_autonomous));
  tile("csat-human").replaceChildren(...csatTile(all.csat_human));
  drawWeeks(found.weeks);
  const measuresBody = document.querySelector('[data-testid="measures-table"] tbody');
  measuresBody.replaceChildren(...(found.intents.length ? found.intents.map((i) => el("tr", { "data-testid": "measure-row" },
    el("th", { scope: "row" }, i.intent),
    el("td", { className: "num" }, i.new_tickets),
    el("td", { className: "num" }, i.answers_posted),
    el("td", { className: "num" }, `${i.auto_resolved} (${percent(i.auto_resolution_rate)})`),
    el("td", { className: "num" }, `${i.wrong_replies} (${percent(i.wrong_reply_rate)})`),
    el("td", { className: "num" }, i.handoffs)))
    : [el("tr", {}, el("td", { colspan: 6, className: "muted" }, "No new tickets in these days."))]));
  const handoffsBody = document.querySelector('[data-testid="handoffs-table"] tbody');
  handoffsBody.replaceChildren(...(found.handoffs.length ? found.handoffs.map((h) => el("tr", { "data-testid": "handoff-row" },
    el("th", { scope: "row", title: h.description }, h.reason),
    el("td", { className: "num" }, h.count),
    el("td", { className: "num" }, `${h.done} (${percent(h.done_share)})`)))
    : [el("tr", {}, el("td", { colspan: 3, className: "muted" }, "No ticket was handed to a person."))]));
}

const measuresLoader = latestLoader({ card: document.getElementById("measures-card"),
                                      status: document.getElementById("measures-status"), what: "the measures" });

function loadMeasures() {
  const days = daysPicker.value;
  keepInAddress({ days });
  return measuresLoader(`${ROOT}/measures?days=${days}`, (found) => {
    showMeasures(found);
    document.body.dataset.measuresDays = days;
  });
}

// ---- the backtest ------------------------------------------------------------------------------

let backtestChart = null;

function showBacktest(found) {
  const figure = document.getElementById("backtest-figure");
  const table = document.querySelector('[data-testid="backtest-table"]');
  const empty = document.getElementById("backtest-empty");
  const summary = document.getElementById("backtest-summary");
  empty.hidden = found !== null;
  figure.hidden = table.hidden = found === null;
  if (found === null) {
    summary.textContent = "";
    return;
  }
  summary.textContent = `Run ${found.run_at.slice(0, 16).replace("T", " ")} UTC by ${found.run_by} on ${found.tickets} `
    + `resolved tickets${found.since ? ` since ${found.since.slice(0, 10)}` : ""}; target precision `
    + `${found.target_precision}. Overall: ${percent(found.auto_resolution_rate)} estimated auto-resolution, `
    + `${percent(found.wrong_reply_share)} wrong of ${found.sent} sent.`;
  const intents = found.intents;
  if (backtestChart) backtestChart.destroy();
  backtestCanvas.parentElement.style.height = `${Math.max(200, 80 + intents.length * 44)}px`;
  backtestChart = new window.Chart(backtestCanvas, {
    type: "bar",
    data: {
      labels: intents.map((i) => i.intent),
      datasets: [
        { label: "Estimated auto-resolution (%)", data: intents.map((i) => share(i.auto_resolution_rate)),
          backgroundColor: "#16a34a" },
        { label: "Wrong replies (%)", data: intents.map((i) => share(i.wrong_reply_share)), backgroundColor: "#dc2626" },
      ],
    },
    options: { indexAxis: "y", responsive: true, maintainAspectRatio: false, animation: false,
               scales: { x: { min: 0, suggestedMax: 100, title: { display: true, text: "%" } },
                         y: { ticks: { autoSkip: false, callback(value) {
                           const label = this.getLabelForValue(value);
                           const room = this.chart.width < 480 ? 12 : 28;
                           return label.length > room ? `${label.slice(0, room - 1)}…` : label;
                         } } } },
               plugins: { legend: { labels: { boxWidth: 14 } } } },
  });
  backtestCanvas.dataset.ready = "true";
  table.querySelector("tbody").replaceChildren(...intents.map((i) => el("tr", { "data-testid": "backtest-row" },
    el("th", { scope: "row" }, i.intent),
    el("td", { className: "num" }, i.tickets),
    el("td", { className: "num" }, number(i.threshold)),
    el("td", { className: "num" }, i.sent),
    el("td", { className: "num" }, percent(i.auto_resolution_rate)),
    el("td", { className: "num" }, percent(i.wrong_reply_share)),
    el("td", { className: "num" }, percent(i.rate_at_default_threshold)))));
}

/** The latest kept backtest; a 404 means none was run yet (the empty state says how), not a failure. */
async function loadBacktest() {
  const status = document.getElementById("backtest-status");
  let response;
  try {
    response = await fetch(`${tenantBase}${ROOT}/backtest`, { headers: { Accept: "application/json" } });
  } catch {
    say(status, "Could not load the backtest: Deskloop did not answer; check that the server is running", true);
    return;
  }
  if (response.status === 404) {
    showBacktest(null);
    return;
  }
  if (!response.ok) {
    say(status, `Could not load the backtest: HTTP ${response.status}`, true);
    return;
  }
  showBacktest(await response.json());
}

// ---- start -------------------------------------------------------------------------------------

daysPicker.addEventListener("change", loadMeasures);
pickFromAddress(daysPicker, "days");
Promise.all([
  loadStatus(`${ROOT}/status`, showSwitch),
  loadIntents(),
  loadMeasures(),
  loadBacktest(),
]).finally(() => { document.body.dataset.loaded = "true"; });
