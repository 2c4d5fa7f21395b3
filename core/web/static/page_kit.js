// What every tenant page's script needs: the tenant's API root, elements built from text only
// (server text, customer text among it, never becomes markup), a status line, and the JSON API
// called with the sign-in session (state-changing calls carry the page's CSRF token).
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
