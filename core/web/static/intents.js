// Where a tenant's intents come from: the ranked label sources (use one) and the discovered
// intents (accept, rename, merge, split), all through the JSON API. Server text is only ever
// written with textContent.
import { call, el, say } from "./page_kit.js";

const sourcesCard = document.getElementById("sources-card");
const sourcesTable = document.querySelector("table.sources");
const currentSource = document.getElementById("current-source");
const reportMeta = document.getElementById("report-meta");
const rankButton = document.getElementById("rank-sources");
const labelsStatus = document.getElementById("labels-status");

const intentsCard = document.getElementById("intents-card");
const intentsTable = document.querySelector("table.intents");
const noIntents = document.getElementById("no-intents");
const discoverButton = document.getElementById("discover");
const mergeButton = document.getElementById("merge");
const intentsStatus = document.getElementById("intents-status");

let inUse = null;

/** Run an action with its button disabled and the card marked busy. */
async function busy(card, button, action) {
  card.setAttribute("aria-busy", "true");
  if (button) button.disabled = true;
  try {
    return await action();
  } finally {
    card.removeAttribute("aria-busy");
    if (button && button.isConnected) button.disabled = false;
  }
}

const percent = (x) => `${Math.round(x * 100)}%`;

// ---- label sources --------------------------------------------------------------------------

function sourceExamples(report) {
  if (!report.examples.length) return el("span", { className: "muted" }, "—");
  return el("ul", { className: "value-list" }, report.examples.slice(0, 3).map((e) =>
    el("li", {},
      el("span", { className: "chip" }, e.value, " ", el("span", { className: "chip-score" }, e.tickets)),
      e.examples.length ? el("q", { className: "example small" }, e.examples[0]) : null)));
}

function sourceAction(report) {
  if (report.source === inUse) return el("span", { className: "status status-solved" }, "In use");
  if (report.rejected) return el("span", { className: "small muted" }, "Not usable: ", report.rejected);
  const button = el("button", { type: "button", className: "button secondary small-button use-source",
                                "aria-label": `Use this source: ${report.description}`,
                                "data-testid": "use-source" }, "Use this source");
  button.addEventListener("click", () => useSource(report, button));
  return button;
}

function renderSources(state) {
  inUse = state.current;
  currentSource.textContent = state.current;
  const body = sourcesTable.tBodies[0];
  body.replaceChildren();
  const report = state.report;
  if (!report) {
    reportMeta.textContent = "The label sources have not been ranked yet: “Rank label sources again” scores every candidate on the stored tickets.";
    sourcesTable.hidden = true;
    return;
  }
  const at = new Date(report.at);
  reportMeta.textContent = `Ranked ${at.toLocaleString()} on the stored tickets, best first: coverage is the share of tickets a source labels, predictability how well the customers' words tell its classes apart (0 to 1).`;
  for (const r of report.candidates) {
    body.append(el("tr", { dataset: { source: r.source }, className: r.rejected ? "rejected" : null },
      el("td", {}, el("code", {}, r.source), el("div", { className: "small muted" }, r.description)),
      el("td", { className: "num" }, r.rejected ? "—" : percent(r.coverage)),
      el("td", { className: "num" }, r.rejected ? "—" : r.classes),
      el("td", { className: "num" }, r.predictability === null ? "—" : r.predictability.toFixed(2)),
      el("td", {}, sourceExamples(r)),
      el("td", {}, sourceAction(r))));
  }
  sourcesTable.hidden = report.candidates.length === 0;
  if (!report.candidates.length) reportMeta.textContent = "No candidate label source on the stored tickets.";
}

async function loadSources() {
  const { data } = await call("GET", "/labels");
  renderSources(data);
}

async function useSource(report, button) {
  await busy(sourcesCard, button, async () => {
    try {
      const { data } = await call("PUT", "/labels/source", { source: report.source });
      await loadSources();
      say(labelsStatus, `Intents now come from ${data.source} (was ${data.previous}): ${data.labelled} of ${data.tickets} tickets labelled, ${data.classes} intents. The next training relabels the history.`);
      currentSource.closest("p").focus();  // the button is gone: its row now says "In use"
    } catch (error) {
      say(labelsStatus, `Could not use ${report.source}: ${error.message}`, true);
    }
  });
}

rankButton.addEventListener("click", () => busy(sourcesCard, rankButton, async () => {
  say(labelsStatus, "Ranking the label sources on the stored tickets…");
  try {
    const { data } = await call("POST", "/labels/suggest");
    renderSources(data);
    say(labelsStatus, `Ranked ${data.report.candidates.length} label sources.`);
  } catch (error) {
    say(labelsStatus, `Could not rank the label sources: ${error.message}`, true);
  }
}));

// ---- discovered intents ---------------------------------------------------------------------

function selectedKeys() {
  return [...intentsTable.querySelectorAll("input.pick:checked")].map((box) => box.value);
}

function updateMergeButton() {
  mergeButton.disabled = selectedKeys().length < 2;
}

function renameForm(intent, cell) {
  const restore = [...cell.childNodes];
  const id = `rename-${intent.key}`;
  const input = el("input", { type: "text", id, value: intent.label, maxlength: 255, required: true,
                              "data-testid": "rename-input", autocomplete: "off" });
  const form = el("form", { className: "inline-form" },
    el("label", { className: "visually-hidden", for: id }, `New name for ${intent.label}`),
    input,
    el("button", { type: "submit", className: "button primary small-button", "data-testid": "rename-save" }, "Save"),
    el("button", { type: "button", className: "button ghost small-button" }, "Cancel"));
  const cancel = () => { cell.replaceChildren(...restore); cell.querySelector("button.rename").focus(); };
  form.querySelector("button[type=button]").addEventListener("click", cancel);
  form.addEventListener("keydown", (event) => { if (event.key === "Escape") cancel(); });
  input.addEventListener("input", () => input.removeAttribute("aria-invalid"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const label = input.value.trim();
    if (!label) {
      input.setAttribute("aria-invalid", "true");
      say(intentsStatus, "Could not rename: the new name is empty.", true);
      return;
    }
    act(form.querySelector("button[type=submit]"), "POST", `/intents/${encodeURIComponent(intent.key)}/rename`,
        { label }, (r) => `Renamed ${r.previous_key} to “${r.label}” (key ${r.key}).`,
        `Could not rename ${intent.key}`, (r) => r.key);
  });
  return { form, input };
}

function intentRow(intent) {
  const pickId = `pick-${intent.key}`;
  const pick = el("input", { type: "checkbox", className: "pick", id: pickId, value: intent.key, "data-testid": "pick" });
  pick.addEventListener("change", updateMergeButton);

  const labelText = el("span", { className: "intent-label", "data-testid": "label" }, intent.label);
  const renameButton = el("button", { type: "button", className: "button ghost small-button rename",
                                      "aria-label": `Rename ${intent.label}`, "data-testid": "rename" }, "Rename");
  const labelCell = el("td", {}, labelText, " ", renameButton);
  renameButton.addEventListener("click", () => {
    const { form, input } = renameForm(intent, labelCell);
    labelCell.replaceChildren(form);
    input.focus();
    input.select();
  });

  const accept = intent.status === "proposed"
    ? el("button", { type: "button", className: "button primary small-button accept",
                     "aria-label": `Accept ${intent.label}`, "data-testid": "accept" }, "Accept")
    : null;
  accept?.addEventListener("click", () => act(accept, "POST", "/intents/accept", { keys: [intent.key] },
    (r) => `Accepted ${r.accepted.join(", ")}: intents now come from the label source ${r.label_source} (was ${r.previous_label_source}).`,
    `Could not accept ${intent.key}`, () => intent.key, true));

  const partsId = `parts-${intent.key}`;
  const parts = el("input", { type: "number", id: partsId, min: 2, max: 20, value: 2, className: "parts",
                              inputmode: "numeric", "data-testid": "split-parts" });
  parts.addEventListener("input", () => parts.removeAttribute("aria-invalid"));
  const split = el("button", { type: "button", className: "button secondary small-button",
                               "aria-label": `Split ${intent.label}`, "data-testid": "split" }, "Split");
  split.addEventListener("click", () => {
    const count = Number.parseInt(parts.value, 10);
    if (!Number.isInteger(count) || count < 2 || count > 20) {
      parts.setAttribute("aria-invalid", "true");
      say(intentsStatus, `Could not split ${intent.key}: the number of parts must be between 2 and 20.`, true);
      return;
    }
    act(split, "POST", `/intents/${encodeURIComponent(intent.key)}/split`, { parts: count },
        (r) => `Split ${r.split} into ${r.into.join(", ")}.`, `Could not split ${intent.key}`, (r) => r.into[0]);
  });

  const examples = intent.examples.slice(0, 2);
  return el("tr", { dataset: { key: intent.key }, className: `intent-${intent.status}` },
    el("td", {}, pick, el("label", { className: "visually-hidden", for: pickId }, `Select ${intent.label} to merge`)),
    el("td", {}, el("code", { className: "key", "data-testid": "key" }, intent.key)),
    labelCell,
    el("td", {}, el("span", { className: `status status-${intent.status === "accepted" ? "solved" : "open"}`,
                              "data-testid": "status" }, intent.status)),
    el("td", { className: "num", "data-testid": "size" }, intent.size),
    el("td", {}, examples.length
      ? el("ul", { className: "examples" }, examples.map((text) => el("li", {}, el("q", { className: "example" }, text))))
      : el("span", { className: "muted" }, "—")),
    el("td", {}, intent.reply ? el("div", { className: "reply small" }, intent.reply) : el("span", { className: "muted" }, "no reply")),
    el("td", {}, el("div", { className: "row-actions" }, accept,
      el("span", { className: "split" },
        el("label", { for: partsId, className: "small" }, "Parts",
           el("span", { className: "visually-hidden" }, ` to split ${intent.label} into`)),
        parts, split))));
}

function renderIntents(listing) {
  const body = intentsTable.tBodies[0];
  body.replaceChildren(...listing.intents.map(intentRow));
  intentsTable.hidden = listing.intents.length === 0;
  noIntents.hidden = listing.intents.length > 0;
  updateMergeButton();
}

async function loadIntents() {
  const { data } = await call("GET", "/intents");
  renderIntents(data);
}

/** Focus the row of ``key`` after a re-render (its first action), or the table's heading. */
function refocus(key) {
  const row = key ? [...intentsTable.tBodies[0].rows].find((r) => r.dataset.key === key) : null;
  (row?.querySelector("button") || document.getElementById("intents-heading")).focus();
}

/** One change to the intents: call, reload the list (and the label source when it moved), report. */
async function act(button, method, path, body, done, failed, focusKey, sourcesToo = false) {
  await busy(intentsCard, button, async () => {
    try {
      const { data } = await call(method, path, body);
      await loadIntents();
      if (sourcesToo) await loadSources();
      say(intentsStatus, done(data));
      refocus(focusKey(data));
    } catch (error) {
      say(intentsStatus, `${failed}: ${error.message}`, true);
    }
  });
}

mergeButton.addEventListener("click", () => {
  const keys = selectedKeys();
  if (keys.length < 2) {
    say(intentsStatus, "Select at least two intents to merge.", true);
    return;
  }
  act(mergeButton, "POST", "/intents/merge", { keys },
      (r) => `Merged ${r.merged.join(", ")} into ${r.key}: ${r.size} tickets.`, "Could not merge", (r) => r.key);
});

discoverButton.addEventListener("click", () => busy(intentsCard, discoverButton, async () => {
  say(intentsStatus, "Discovering intents from the customers' words… this can take minutes on a large history.");
  try {
    const { status, data } = await call("POST", "/intents/discover");
    if (status === 202) {
      say(intentsStatus, `Discovery is ${data.status === "duplicate" ? "already queued or just ran" : "queued"} (job ${data.job_id}); reload this page when a worker has run it.`);
      return;
    }
    renderIntents(data);
    const proposed = data.intents.filter((i) => i.status === "proposed").length;
    say(intentsStatus, `Discovered ${proposed} proposed intents; accepted intents are kept as they were.`);
  } catch (error) {
    say(intentsStatus, `Could not discover intents: ${error.message}`, true);
  }
}));

// ---- start ----------------------------------------------------------------------------------

loadSources().catch((error) => {
  reportMeta.textContent = "";
  say(labelsStatus, `Could not load the label sources: ${error.message}`, true);
});
loadIntents().catch((error) => say(intentsStatus, `Could not load the discovered intents: ${error.message}`, true));
