// The Deskloop playground: pick or paste a ticket, see the suggestion, edit the draft, send, see the signal.
// Plain ES module, no build step. Every value from the API reaches the page through textContent, never HTML.

const API_ROOT = document.body.dataset.apiRoot || "/api/v1";
const PAGE_SIZE = 10;
const SIGNALS_SHOWN = 10;
const PREFERRED_TENANT = "demo";
const ACTOR = "playground";

const $ = (id) => document.getElementById(id);

const el = {
  tenant: $("tenant"),
  tenantMeta: $("tenant-meta"),
  tenantsError: $("tenants-error"),
  pasteForm: $("paste-form"),
  pasteText: $("paste-text"),
  customerName: $("customer-name"),
  pasteError: $("paste-error"),
  suggestButton: $("suggest-button"),
  statusFilter: $("status-filter"),
  ticketCount: $("ticket-count"),
  ticketsError: $("tickets-error"),
  ticketList: $("ticket-list"),
  loadMore: $("load-more"),
  panel: $("suggestion-panel"),
  heading: $("suggestion-heading"),
  status: $("suggestion-status"),
  suggestionError: $("suggestion-error"),
  body: $("suggestion-body"),
  sourceLabel: $("source-label"),
  sourceText: $("source-text"),
  intent: $("suggestion-intent"),
  confidence: $("suggestion-confidence"),
  confidenceFill: $("confidence-fill"),
  abstained: $("suggestion-abstained"),
  abstainedDetail: $("abstained-detail"),
  tags: $("suggestion-tags"),
  entities: $("suggestion-entities"),
  evidence: $("suggestion-evidence"),
  modelVersion: $("model-version"),
  draftArea: $("draft-area"),
  draft: $("draft-text"),
  noDraft: $("no-draft"),
  signalError: $("signal-error"),
  send: $("send-button"),
  discard: $("discard-button"),
  signalPanel: $("signal-panel"),
  signalSummary: $("signal-summary"),
  signalKind: $("signal-kind"),
  signalSimilarity: $("signal-similarity"),
  signalId: $("signal-id"),
  signalSuggestionId: $("signal-suggestion-id"),
  signalsList: $("signals-list"),
  signalsError: $("signals-error"),
  refreshSignals: $("refresh-signals"),
  dialog: $("ticket-dialog"),
  dialogTitle: $("ticket-dialog-title"),
  dialogMeta: $("ticket-dialog-meta"),
  dialogError: $("ticket-dialog-error"),
  dialogMessages: $("ticket-dialog-messages"),
  dialogSuggest: $("ticket-dialog-suggest"),
  dialogClose: $("ticket-dialog-close"),
};

const state = {
  tenant: null,
  offset: 0,
  total: 0,
  tickets: new Map(), // id -> summary, for the tickets on screen
  suggestion: null,
  dialogTicket: null,
  // Each async flow bumps its counter; an answer that arrives after a newer request is dropped.
  seq: { list: 0, suggestion: 0, signals: 0, dialog: 0 },
};

/** An API answer that was not 2xx, with the reason from the body {"error": {status, reason, field}}. */
class ApiError extends Error {
  constructor(status, reason, field = null) {
    super(reason);
    this.status = status;
    this.reason = reason;
    this.field = field;
  }
}

/** The page's CSRF token: state-changing calls made with the sign-in session must carry it. */
const CSRF_TOKEN = document.querySelector('meta[name="csrf-token"]').content;

async function api(path, { method = "GET", body } = {}) {
  const init = { method, headers: { Accept: "application/json" } };
  if (method !== "GET") init.headers["X-CSRFToken"] = CSRF_TOKEN;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(API_ROOT + path, init);
  } catch {
    throw new ApiError(0, "Could not reach the Deskloop server. Is it still running?");
  }
  let data = null;
  if ((response.headers.get("Content-Type") || "").includes("json")) {
    data = await response.json().catch(() => null);
  }
  if (!response.ok) {
    const detail = data && data.error;
    const reason = detail && detail.reason ? detail.reason : `${response.status} ${response.statusText}`.trim();
    throw new ApiError(response.status, reason, detail ? detail.field : null);
  }
  if (data === null) throw new ApiError(response.status, "The server answered with something other than JSON.");
  return data;
}

const tenantPath = (suffix = "") => `/tenants/${encodeURIComponent(state.tenant)}${suffix}`;

// ---- small DOM helpers ----------------------------------------------------------------------------

function node(tag, { className, text, testid, attrs } = {}, children = []) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined && text !== null) element.textContent = String(text);
  if (testid) element.dataset.testid = testid;
  for (const [name, value] of Object.entries(attrs || {})) element.setAttribute(name, value);
  for (const child of children) if (child) element.append(child);
  return element;
}

const HINTS = {
  0: "Network problem",
  400: "The request was not accepted",
  404: "Not found",
  409: "Not ready",
  415: "The request was not accepted",
  500: "Server error",
};

/** Show an API error in an alert element: what failed, the HTTP status, and the server's reason. */
function showError(target, what, error) {
  target.replaceChildren();
  if (error instanceof ApiError) {
    const status = error.status ? ` (HTTP ${error.status}${HINTS[error.status] ? `, ${HINTS[error.status].toLowerCase()}` : ""})` : "";
    target.append(node("strong", { text: `${what}${status}.` }), " ",
      node("span", { className: "reason", text: error.reason, testid: "error-reason" }));
    if (error.field) target.append(" ", node("span", { className: "muted", text: `(field: ${error.field})` }));
  } else {
    target.append(node("strong", { text: `${what}.` }), " ", node("span", { text: String(error) }));
    console.error(error);
  }
  target.hidden = false;
}

function clearError(target) {
  target.hidden = true;
  target.replaceChildren();
}

const percent = (value) => `${Math.round(Number(value) * 100)}%`;

/** ISO datetimes from the API; a value without a zone is UTC (SQLite drops the zone on read). */
function parseTime(value) {
  if (!value) return null;
  const zoned = /(Z|[+-]\d\d:?\d\d)$/.test(value) ? value : `${value}Z`;
  const date = new Date(zoned);
  return Number.isNaN(date.getTime()) ? null : date;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

function timeNode(value) {
  const date = parseTime(value);
  if (!date) return null;
  return node("time", { text: timeFormat.format(date), attrs: { datetime: date.toISOString() } });
}

function setBusy(busy) {
  el.panel.setAttribute("aria-busy", String(busy));
  el.panel.classList.toggle("is-loading", busy);
}

// ---- tenants ------------------------------------------------------------------------------------

async function loadTenants() {
  let tenants;
  try {
    ({ tenants } = await api("/tenants"));
  } catch (error) {
    el.tenant.replaceChildren(node("option", { text: "unavailable" }));
    showError(el.tenantsError, "Could not load tenants", error);
    return;
  }
  clearError(el.tenantsError);
  if (tenants.length === 0) {
    el.tenant.replaceChildren(node("option", { text: "no tenants" }));
    el.tenantsError.textContent = "There are no tenants yet. Run `deskloop demo` to create and train the demo tenant.";
    el.tenantsError.hidden = false;
    return;
  }
  el.tenant.replaceChildren(...tenants.map((t) => {
    const option = node("option", { text: t.slug, attrs: { value: t.slug } });
    option.dataset.tickets = t.tickets;
    option.dataset.model = t.model_version || "";
    return option;
  }));
  const preferred = tenants.find((t) => t.slug === PREFERRED_TENANT) || tenants[0];
  el.tenant.value = preferred.slug;
  el.tenant.disabled = false;
  selectTenant(preferred.slug);
}

function selectTenant(slug) {
  state.tenant = slug;
  el.suggestButton.disabled = false;
  const option = el.tenant.selectedOptions[0];
  const tickets = Number(option.dataset.tickets);
  el.tenantMeta.replaceChildren(node("span", { text: `${tickets} ticket${tickets === 1 ? "" : "s"}` }), " · ");
  if (option.dataset.model) {
    el.tenantMeta.append(node("span", { text: "model " }), node("code", { text: option.dataset.model }));
  } else {
    el.tenantMeta.append(node("span", { className: "warn-text", text: "no model trained yet", testid: "tenant-no-model" }));
  }
  resetSuggestion();
  el.signalPanel.hidden = true;
  loadTickets({ reset: true });
  loadSignals();
}

// ---- ticket list ----------------------------------------------------------------------------------

async function loadTickets({ reset }) {
  const seq = ++state.seq.list;
  if (reset) {
    state.offset = 0;
    state.tickets.clear();
    el.ticketList.replaceChildren();
    el.ticketCount.textContent = "Loading tickets…";
  }
  el.loadMore.disabled = true;
  const params = new URLSearchParams({ limit: PAGE_SIZE, offset: state.offset });
  if (el.statusFilter.value) params.set("status", el.statusFilter.value);
  let page;
  try {
    page = await api(tenantPath(`/tickets?${params}`));
  } catch (error) {
    if (seq !== state.seq.list) return;
    el.ticketCount.textContent = "";
    showError(el.ticketsError, "Could not load tickets", error);
    el.loadMore.disabled = false;
    return;
  }
  if (seq !== state.seq.list) return;
  clearError(el.ticketsError);
  for (const ticket of page.tickets) {
    state.tickets.set(ticket.id, ticket);
    el.ticketList.append(ticketItem(ticket));
  }
  state.offset += page.tickets.length;
  state.total = page.total;
  el.ticketCount.textContent = page.total === 0
    ? (el.statusFilter.value ? "No tickets with this status." : "This tenant has no tickets yet.")
    : `Showing ${state.offset} of ${page.total}`;
  el.loadMore.hidden = state.offset >= page.total;
  el.loadMore.disabled = false;
  markSelected();
}

function ticketItem(ticket) {
  const title = ticket.subject || ticket.preview || "(no text)";
  const meta = node("span", { className: "ticket-meta" }, [
    node("span", { className: ticket.intent ? "chip intent-chip" : "chip muted-chip", text: ticket.intent || "no intent" }),
    ticket.status ? node("span", { className: `status status-${ticket.status}`, text: ticket.status.replace("_", " ") }) : null,
    ticket.urgent ? node("span", { className: "status tone-urgent", testid: "urgent-flag", text: "urgent" }) : null,
    ticket.sentiment && ticket.sentiment !== "neutral"
      ? node("span", { className: `status tone-${ticket.sentiment}`, testid: "sentiment-flag", text: ticket.sentiment })
      : null,
    node("span", { className: "requester", text: ticket.requester?.name || ticket.requester?.email || "unknown requester" }),
  ]);
  const button = node("button", { className: "ticket", testid: "ticket-item", attrs: { type: "button" } }, [
    node("span", { className: "ticket-head" }, [
      node("span", { className: "ticket-title", text: title }),
      node("span", { className: "ticket-id muted", text: `#${ticket.id}` }),
    ]),
    ticket.subject && ticket.preview ? node("span", { className: "ticket-preview muted", text: ticket.preview }) : null,
    meta,
  ]);
  button.dataset.ticketId = ticket.id;
  button.dataset.intent = ticket.intent || "";
  button.addEventListener("click", () => suggestForTicket(ticket));
  return node("li", {}, [button]);
}

function markSelected() {
  const selected = state.suggestion?.source.kind === "ticket" ? String(state.suggestion.source.ticket.id) : null;
  for (const button of el.ticketList.querySelectorAll("button.ticket")) {
    if (button.dataset.ticketId === selected) button.setAttribute("aria-current", "true");
    else button.removeAttribute("aria-current");
  }
}

// ---- suggestions ----------------------------------------------------------------------------------

function resetSuggestion() {
  state.seq.suggestion++;
  state.suggestion = null;
  setBusy(false);
  el.body.hidden = true;
  clearError(el.suggestionError);
  el.status.textContent = "Pick a ticket or paste a message to see what Deskloop suggests.";
  markSelected();
}

async function requestSuggestion(source, call) {
  const seq = ++state.seq.suggestion;
  setBusy(true);
  clearError(el.suggestionError);
  clearError(el.signalError);
  el.status.textContent = "Asking the model…";
  let suggestion;
  try {
    suggestion = await call();
  } catch (error) {
    if (seq !== state.seq.suggestion) return;
    setBusy(false);
    state.suggestion = null;
    el.body.hidden = true;
    el.status.textContent = "No suggestion.";
    showError(el.suggestionError, "Could not get a suggestion", error);
    markSelected();
    return;
  }
  if (seq !== state.seq.suggestion) return;
  setBusy(false);
  state.suggestion = { ...suggestion, source };
  renderSuggestion(state.suggestion);
  markSelected();
  el.heading.focus();
}

function suggestForTicket(ticket) {
  requestSuggestion({ kind: "ticket", ticket },
    () => api(tenantPath(`/tickets/${encodeURIComponent(ticket.id)}/suggestion`), { method: "POST" }));
}

function suggestForText(text, customerName) {
  const body = { text };
  if (customerName) body.customer_name = customerName;
  requestSuggestion({ kind: "text", text, customerName },
    () => api(tenantPath("/suggest"), { method: "POST", body }));
}

function renderSuggestion(s) {
  const { source } = s;
  if (source.kind === "ticket") {
    const t = source.ticket;
    el.sourceLabel.textContent = `Ticket #${t.id} · ${t.external_id}${t.requester?.name ? ` · ${t.requester.name}` : ""}`;
    el.sourceText.textContent = t.subject ? `${t.subject}\n${t.preview}` : t.preview;
  } else {
    el.sourceLabel.textContent = `Pasted message${source.customerName ? ` from ${source.customerName}` : ""}`;
    el.sourceText.textContent = source.text;
  }

  el.intent.textContent = s.intent || "none";
  el.confidence.textContent = percent(s.confidence);
  el.confidenceFill.style.width = percent(Math.min(1, Math.max(0, s.confidence)));
  el.panel.classList.toggle("is-abstained", s.abstained);
  el.abstained.hidden = !s.abstained;
  el.abstained.dataset.reason = s.abstain_reason || "";
  el.abstainedDetail.textContent = s.abstained ? abstainDetail(s) : "";

  el.tags.replaceChildren(...(s.tags.length ? s.tags.map((t) => node("li", { className: "chip", testid: "tag-chip" }, [
    node("span", { text: t.tag }), node("span", { className: "chip-score", text: percent(t.confidence) }),
  ])) : [node("li", { className: "muted small", text: "none" })]));

  el.entities.replaceChildren(...(s.entities.length ? s.entities.map((e) => node("li", { className: "chip entity", testid: "entity-chip" }, [
    node("span", { className: "entity-type", text: e.type }), node("span", { className: "entity-text", text: e.text }),
  ])) : [node("li", { className: "muted small", text: "none found" })]));

  el.evidence.replaceChildren(...(s.evidence.length ? s.evidence.map((ev) => {
    const button = node("button", {
      className: "evidence-item", testid: "evidence-item",
      attrs: { type: "button", "aria-label": `Open ticket #${ev.ticket_id} (${ev.external_id}), similarity ${ev.score.toFixed(2)}` },
    }, [
      node("span", { className: "evidence-id", text: `#${ev.ticket_id}` }),
      node("span", { className: "evidence-ext muted", text: ev.external_id }),
      node("span", { className: "evidence-score", text: ev.score.toFixed(2) }),
    ]);
    button.dataset.ticketId = ev.ticket_id;
    button.addEventListener("click", () => openTicket(ev.ticket_id));
    return node("li", {}, [button]);
  }) : [node("li", { className: "muted small", text: "no similar resolved ticket" })]));

  el.modelVersion.textContent = s.model_version || "unknown";

  const hasDraft = typeof s.draft === "string";
  el.draftArea.hidden = !hasDraft;
  el.noDraft.hidden = hasDraft;
  el.noDraft.textContent = s.abstained
    ? "No draft: Deskloop abstained, so an agent writes this reply."
    : "No draft: there is no resolved ticket with this intent to draft from yet.";
  el.draft.value = hasDraft ? s.draft : "";
  setDraftLocked(false);
  clearError(el.signalError);
  el.signalPanel.hidden = true;
  el.body.hidden = false;

  const about = source.kind === "ticket" ? `ticket #${source.ticket.id}` : "the pasted message";
  el.status.textContent = s.abstained
    ? `Deskloop abstained on ${about}: it needs a human (best guess ${s.intent}, ${percent(s.confidence)}).`
    : `Suggestion for ${about}: ${s.intent}, ${percent(s.confidence)} confident.`;
}

/** Why Deskloop abstained, in words (see Suggestion.abstain_reason in the API). */
function abstainDetail(s) {
  const guess = `${s.intent || "a known intent"}, ${percent(s.confidence)}`;
  if (s.abstain_reason === "unfamiliar") {
    return `This question looks new: it is far from every labelled ticket the model learned from (best guess ${guess}), `
      + "so it proposes no draft. Route this ticket to an agent; if such questions keep coming, they may be an intent "
      + "of their own.";
  }
  if (s.abstain_reason === "ambiguous" && s.ambiguous_between.length >= 2) {
    const [first, second] = s.ambiguous_between;
    return `This is either ${first} or ${second}, and the model cannot tell which, so it proposes no draft. `
      + "An agent's reply, or a corrected intent, teaches Deskloop which it was.";
  }
  return `The model is only ${percent(s.confidence)} sure this is ${s.intent || "a known intent"}, below the confidence it `
    + "needs to answer on its own, so it proposes no draft. Route this ticket to an agent.";
}

function setDraftLocked(locked) {
  el.draft.readOnly = locked;
  el.send.disabled = locked;
  el.discard.disabled = locked;
}

// ---- signals --------------------------------------------------------------------------------------

async function postSignal(kind) {
  const s = state.suggestion;
  if (!s) return;
  clearError(el.signalError);
  const body = { kind, suggestion_id: s.id, actor: ACTOR };
  if (kind === "draft_sent") {
    if (!el.draft.value.trim()) {
      el.signalError.textContent = "The reply is empty. Write a reply before sending, or discard the draft.";
      el.signalError.hidden = false;
      el.draft.focus();
      return;
    }
    body.payload = { sent: el.draft.value };
  }
  setDraftLocked(true);
  let signal;
  try {
    signal = await api(tenantPath("/signals"), { method: "POST", body });
  } catch (error) {
    if (state.suggestion !== s) return;
    setDraftLocked(false);
    showError(el.signalError, kind === "draft_sent" ? "Could not record the sent reply" : "Could not record the discard", error);
    return;
  }
  loadSignals();
  if (state.suggestion === s) renderSignal(signal);
}

const KIND_EXPLAINED = {
  draft_sent: "The reply went out exactly as drafted.",
  draft_edited: "You edited the draft before sending; the edit is a labelled correction for the next training.",
  draft_discarded: "The draft was thrown away.",
};

function renderSignal(signal) {
  const similarity = signal.payload?.similarity;
  el.signalKind.textContent = signal.kind;
  el.signalKind.className = `badge kind-${signal.kind}`;
  el.signalSimilarity.textContent = typeof similarity === "number" ? `${similarity.toFixed(4)} (${percent(similarity)})` : "n/a";
  el.signalId.textContent = `#${signal.id}`;
  el.signalSuggestionId.textContent = signal.suggestion_id != null ? `#${signal.suggestion_id}` : "n/a";
  el.signalSummary.textContent = KIND_EXPLAINED[signal.kind] || "";
  el.signalPanel.hidden = false;
}

async function loadSignals() {
  const seq = ++state.seq.signals;
  let signals;
  try {
    ({ signals } = await api(tenantPath(`/signals?limit=${SIGNALS_SHOWN}`)));
  } catch (error) {
    if (seq !== state.seq.signals) return;
    showError(el.signalsError, "Could not load signals", error);
    return;
  }
  if (seq !== state.seq.signals) return;
  clearError(el.signalsError);
  if (signals.length === 0) {
    el.signalsList.replaceChildren(node("li", { className: "muted small empty", text: "No signals yet for this tenant." }));
    return;
  }
  el.signalsList.replaceChildren(...signals.map((sig) => {
    const similarity = sig.payload?.similarity;
    const refs = [sig.suggestion_id != null ? `suggestion #${sig.suggestion_id}` : null,
      sig.ticket_id != null ? `ticket #${sig.ticket_id}` : null, sig.actor ? `by ${sig.actor}` : null].filter(Boolean);
    const item = node("li", { className: "signal-item", testid: "signal-item" }, [
      node("span", { className: "signal-line" }, [
        node("span", { className: `badge kind-${sig.kind}`, text: sig.kind }),
        typeof similarity === "number" ? node("span", { className: "signal-sim", text: `similarity ${similarity.toFixed(2)}` }) : null,
        node("span", { className: "muted signal-id", text: `#${sig.id}` }),
      ]),
      node("span", { className: "small muted" }, [refs.join(" · "), refs.length ? " · " : "", timeNode(sig.created_at)]),
    ]);
    item.dataset.signalId = sig.id;
    item.dataset.kind = sig.kind;
    if (sig.revoked_at) item.classList.add("revoked");
    return item;
  }));
}

// ---- ticket dialog (opened from evidence) -------------------------------------------------------

async function openTicket(ticketId) {
  const seq = ++state.seq.dialog;
  state.dialogTicket = null;
  el.dialogTitle.textContent = `Ticket #${ticketId}`;
  el.dialogMeta.textContent = "Loading…";
  el.dialogMessages.replaceChildren();
  el.dialogSuggest.disabled = true;
  clearError(el.dialogError);
  if (!el.dialog.open) el.dialog.showModal();
  let ticket;
  try {
    ticket = await api(tenantPath(`/tickets/${encodeURIComponent(ticketId)}`));
  } catch (error) {
    if (seq !== state.seq.dialog) return;
    el.dialogMeta.textContent = "";
    showError(el.dialogError, `Could not open ticket #${ticketId}`, error);
    return;
  }
  if (seq !== state.seq.dialog) return;
  state.dialogTicket = ticket;
  el.dialogTitle.textContent = `Ticket #${ticket.id}${ticket.subject ? `: ${ticket.subject}` : ""}`;
  el.dialogMeta.replaceChildren([ticket.external_id, ticket.intent || "no intent", ticket.status,
    ticket.requester?.name].filter(Boolean).join(" · "));
  el.dialogMessages.replaceChildren(...ticket.messages.map((m) => node("li", { className: `message role-${m.author_role}` }, [
    node("p", { className: "message-head small" }, [
      node("strong", { text: m.author_name || m.author_role }),
      node("span", { className: "muted", text: ` · ${m.author_role}${m.public ? "" : " · internal note"}` }),
    ]),
    node("p", { className: "message-body", text: m.body_clean || m.body }),
  ])));
  el.dialogSuggest.disabled = false;
}

// ---- wiring ---------------------------------------------------------------------------------------

el.tenant.addEventListener("change", () => selectTenant(el.tenant.value));
el.statusFilter.addEventListener("change", () => loadTickets({ reset: true }));
el.loadMore.addEventListener("click", () => loadTickets({ reset: false }));
el.refreshSignals.addEventListener("click", () => loadSignals());

el.pasteForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = el.pasteText.value.trim();
  if (!state.tenant) {
    el.pasteError.textContent = "Choose a tenant first.";
    el.pasteError.hidden = false;
    return;
  }
  if (!text) {
    el.pasteError.textContent = "Paste or type the customer's message first.";
    el.pasteError.hidden = false;
    el.pasteText.setAttribute("aria-invalid", "true");
    el.pasteText.focus();
    return;
  }
  el.pasteError.hidden = true;
  el.pasteText.removeAttribute("aria-invalid");
  suggestForText(text, el.customerName.value.trim());
});
el.pasteText.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) el.pasteForm.requestSubmit();
});

el.send.addEventListener("click", () => postSignal("draft_sent"));
el.discard.addEventListener("click", () => postSignal("draft_discarded"));

el.dialogClose.addEventListener("click", () => el.dialog.close());
el.dialog.addEventListener("click", (event) => {
  if (event.target === el.dialog) el.dialog.close(); // a click on the backdrop
});
el.dialogSuggest.addEventListener("click", () => {
  const ticket = state.dialogTicket;
  if (!ticket) return;
  el.dialog.close();
  suggestForTicket(state.tickets.get(ticket.id) || ticket);
});

loadTenants();
