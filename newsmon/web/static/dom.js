/* newsmon search page: talking to the API and building elements safely. Every text that comes
 * from a feed goes on the page through textContent or text nodes, never as HTML. */

export const TOPIC_COLOURS = ["#1f5fa8", "#b4531a", "#2e7d4f", "#7b3fa0", "#8a6d00", "#a3324a"];
const TOKEN_KEY = "newsmon.token";

/* ---- access token: taken once from ?token=, kept for this tab, sent as a header ---- */
export function takeToken() {
  const url = new URL(window.location.href);
  if (!url.searchParams.has("token")) return;
  sessionStorage.setItem(TOKEN_KEY, url.searchParams.get("token"));
  url.searchParams.delete("token");
  history.replaceState(null, "", url.pathname + url.search + url.hash);
}

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function request(path, init) {
  const headers = Object.assign({ Accept: "application/json" }, init.headers || {});
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = "Bearer " + token;
  const response = await fetch(path, Object.assign({}, init, { headers: headers, cache: "no-store" }));
  let body = null;
  try { body = await response.json(); } catch (e) { body = null; }
  if (!response.ok) throw new ApiError(response.status, (body && body.error) || response.statusText);
  return body;
}

export function api(path) { return request(path, { method: "GET" }); }

/* The one write: a JSON body (never a form), with the tab's token like every other request. */
export function apiPost(path, value) {
  return request(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(value) });
}

/* ---- building elements safely ---- */
export function el(tag, options, children) {
  const node = document.createElement(tag);
  const opts = options || {};
  if (opts.cls) node.className = opts.cls;
  if (opts.text !== undefined && opts.text !== null) node.textContent = String(opts.text);
  for (const [name, value] of Object.entries(opts.attrs || {})) node.setAttribute(name, value);
  for (const child of children || []) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

export function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

export function isWebLink(url) {
  if (typeof url !== "string" || !/^https?:\/\//i.test(url)) return false;
  try { const parsed = new URL(url); return parsed.protocol === "http:" || parsed.protocol === "https:"; }
  catch (e) { return false; }
}

/* A link only for http(s) URLs; anything else stays visible as text. */
export function linkOrText(url, content, cls) {
  if (isWebLink(url)) {
    const a = el("a", { cls: cls, attrs: { href: url, rel: "noopener noreferrer" } });
    a.append(content);
    return a;
  }
  const span = el("span", { cls: cls });
  span.append(content);
  return span;
}

/* Highlighted text: [text, true] is a query word or evidence, [text, false, [topic, …]] negative
 * evidence, struck through and titled (not told by colour alone). */
export function marked(parts) {
  const fragment = document.createDocumentFragment();
  for (const [text, isMarked, against] of parts || []) {
    if (against && against.length) {
      fragment.append(el("mark", { cls: "against", text: text, attrs: { title: "counts against " + against.join(", ") } }));
    } else {
      fragment.append(isMarked ? el("mark", { text: text }) : document.createTextNode(text));
    }
  }
  return fragment;
}

export function when(iso) {
  if (!iso) return el("span", { text: "–" });
  const date = new Date(iso);
  if (isNaN(date.getTime())) return el("span", { text: iso });
  const text = date.toISOString().slice(0, 16).replace("T", " ") + " UTC";
  return el("time", { text: text, attrs: { datetime: iso } });
}

export function showNotice(message) {
  const notice = document.getElementById("notice");
  notice.textContent = message;
  notice.hidden = !message;
}

export function failed(error) {
  if (error instanceof ApiError && error.status === 401) {
    showNotice("This server needs an access token: open the address you were given, ending in ?token=…");
  } else {
    showNotice("Could not load data: " + (error.message || error));
  }
}

export function cell(content, cls) {
  const td = el("td", { cls: cls });
  td.append(content === null || content === undefined ? "–" : content);
  return td;
}
