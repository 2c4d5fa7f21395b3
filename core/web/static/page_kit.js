// What every tenant page's script needs: the tenant's API root, elements built from text only
// (server text, customer text among it, never becomes markup), a status line, the JSON API called
// with the sign-in session (state-changing calls carry the page's CSRF token), a report loader on
// which the latest choice wins, and the page's choices kept in its address.
const api = document.body.dataset.apiRoot;
const tenant = document.body.dataset.tenant;
export const base = `${api}/tenants/${encodeURIComponent(tenant)}`;

/** An element with attributes and children; strings become text nodes, never markup. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "className") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Show ``message`` in a status line (an alert when it is an error); an empty message hides it. */
export function say(target, message, isError = false) {
  target.hidden = !message;
  target.textContent = message;
  target.className = isError ? "alert" : "notice";
}

const csrfToken = () => document.querySelector('meta[name="csrf-token"]')?.content;

/** The API's answer as ``{status, data}``, or an Error carrying the API's reason. */
export async function call(method, path, body) {
  const options = { method, headers: { Accept: "application/json" } };
  if (method !== "GET") options.headers["X-CSRFToken"] = csrfToken();
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(`${base}${path}`, options);
  } catch {
    throw new Error("Deskloop did not answer; check that the server is running");
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    // A body that is not JSON: the status below says what happened.
  }
  if (!response.ok) throw new Error(data?.error?.reason || `HTTP ${response.status}`);
  return { status: response.status, data };
}

/** The JSON of a GET. */
export async function get(path) {
  return (await call("GET", path)).data;
}

/**
 * A report loader for one card of a page, where the latest call wins: each call marks ``card`` busy,
 * says ``pending`` in ``status`` (nothing by default), GETs ``path`` and hands the answer to
 * ``show``. An answer arriving after a later call has started is dropped (a picker changed twice
 * must not end on the first choice); a failure, of the request or of ``show``, runs ``failed`` (to
 * clear what the card showed) and is said in ``status`` as "Could not load <what>: <reason>".
 */
export function latestLoader({ card, status, what, pending = "", failed = () => {} }) {
  let latest = 0;
  return async function load(path, show) {
    const ticket = ++latest;
    card.setAttribute("aria-busy", "true");
    say(status, pending);
    try {
      const answer = await get(path);
      if (ticket !== latest) return;  // a later choice won
      say(status, "");
      show(answer);
    } catch (error) {
      if (ticket !== latest) return;
      failed();
      say(status, `Could not load ${what}: ${error.message}`, true);
    } finally {
      if (ticket === latest) card.removeAttribute("aria-busy");
    }
  };
}

/** Write ``params`` into the page's address (a null value removes its parameter), so the view can be linked. */
export function keepInAddress(params) {
  const url = new URL(window.location.href);
  for (const [name, value] of Object.entries(params)) {
    if (value === null || value === undefined) url.searchParams.delete(name);
    else url.searchParams.set(name, value);
  }
  window.history.replaceState(null, "", url);
}

/** Pick the option of ``select`` that the address names in ``?<name>=``; false when it names none of them. */
export function pickFromAddress(select, name) {
  const asked = new URLSearchParams(window.location.search).get(name);
  const known = [...select.options].some((option) => option.value === asked);
  if (known) select.value = asked;
  return known;
}

/**
 * A report shown for the days picked in ``picker``, the address's ``?days=`` first: on each choice
 * the CSV link (``csvLink``, the same report as ``<path>.csv``) follows, the days go into the
 * address, and ``load`` (made by ``latestLoader``) hands the report to ``show(report, days)``.
 */
export function followDaysPicker({ picker, csvLink, path, load, show }) {
  function choose() {
    const days = picker.value;
    csvLink.href = `${base}${path}.csv?days=${days}`;
    keepInAddress({ days });
    return load(`${path}?days=${days}`, (report) => show(report, days));
  }
  picker.addEventListener("change", choose);
  pickFromAddress(picker, "days");
  choose();
}
