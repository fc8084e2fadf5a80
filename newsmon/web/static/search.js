/* newsmon search page: the search view. The address holds the search (?q=&topic=…); the page
 * asks the API again every refresh_seconds and offers the stories it has not shown yet. */

import { ApiError, api, clear, el, failed, showNotice } from "/static/dom.js";
import { filterHref } from "/static/filters.js";
import { histogram, storyRow } from "/static/results.js";

const FILTERS = ["q", "topic", "country", "source", "entity", "range", "from", "to", "sort"];
const state = { config: null, shown: new Set(), limit: 20, pending: null };

function searchParams() {
  const params = new URLSearchParams(window.location.search);
  const out = new URLSearchParams();
  for (const name of FILTERS) for (const value of params.getAll(name)) if (value) out.append(name, value);
  return out;
}

function fillForm(params) {
  document.getElementById("q").value = params.get("q") || "";
  document.getElementById("f-range").value = params.get("range") || "all";
  document.getElementById("f-from").value = params.get("from") || "";
  document.getElementById("f-to").value = params.get("to") || "";
  document.getElementById("f-sort").value = params.get("sort") || "newest";
}

function fillSelect(id, name, values, params, label) {
  const select = document.getElementById(id);
  const chosen = params.get(name) || "";
  clear(select);
  select.append(el("option", { text: label, attrs: { value: "" } }));
  const seen = new Set();
  for (const [value, count] of values) {
    seen.add(value);
    select.append(el("option", { text: count === null ? value : value + " (" + count + ")", attrs: { value: value } }));
  }
  if (chosen && !seen.has(chosen)) select.append(el("option", { text: chosen, attrs: { value: chosen } }));
  select.value = chosen;
}

function fillFacets(facets, params) {
  const topicCounts = new Map(facets.topics.map(([v, c]) => [v.toLowerCase(), c]));
  const topics = state.config.topics.map((t) => [t, topicCounts.has(t.toLowerCase()) ? topicCounts.get(t.toLowerCase()) : 0]);
  fillSelect("f-topic", "topic", topics, params, "Any topic");
  fillSelect("f-country", "country", facets.countries, params, "Any country");
  fillSelect("f-source", "source", facets.sources, params, "Any source");
  fillSelect("f-entity", "entity", facets.entities, params, "Any entity");
  fillVerdicts(facets.feedback || [], params);
}

/* The matching items with each verdict, each a link adding feedback.<topic>:<verdict> to the query. */
function fillVerdicts(counts, params) {
  const list = document.getElementById("f-feedback");
  clear(list);
  for (const [value, count] of counts) {
    const [topic, verdict] = value.split(":");
    const text = topic + (verdict === "yes" ? " ✓ on topic" : " ✗ not on topic") + " (" + count + ")";
    const clause = "feedback." + topic + ":" + verdict;
    list.append(el("li", {}, [el("a", { cls: "filter", text: text, attrs: {
      href: filterHref(params, "feedback." + topic, verdict), title: "Search only items marked so (" + clause + ")" } })]));
  }
  document.getElementById("feedback-facet").hidden = !counts.length;
}

function renderSearch(data, params) {
  const list = document.getElementById("results");
  clear(list);
  state.shown = new Set(data.stories.map((s) => s.story_id));
  for (const story of data.stories) list.append(storyRow(story, state.config.topics, params));
  const status = document.getElementById("search-status");
  status.textContent = data.stories.length
    ? data.stories.length + " stories shown, " + data.total + " matching items"
    : "No matching items.";
  const hints = document.getElementById("q-hints");
  hints.textContent = (data.hints || []).join(" ");
  hints.hidden = !(data.hints || []).length;
  document.getElementById("more").hidden = !data.more;
  document.getElementById("new-stories").hidden = true;
  fillFacets(data.facets, params);
  histogram(data.histogram, state.config.topics);
}

function queryError(message) {
  const error = document.getElementById("q-error");
  const q = document.getElementById("q");
  error.textContent = message || "";
  error.hidden = !message;
  if (message) q.setAttribute("aria-invalid", "true"); else q.removeAttribute("aria-invalid");
}

async function loadSearch() {
  const params = searchParams();
  fillForm(params);
  const request = new URLSearchParams(params);
  request.set("limit", String(state.limit));
  try {
    const data = await api("/api/search?" + request.toString());
    queryError("");
    showNotice("");
    renderSearch(data, params);
  } catch (error) {
    if (error instanceof ApiError && error.status === 400) {
      queryError(error.message);
      clear(document.getElementById("results"));
      document.getElementById("search-status").textContent = "The query could not be run.";
    } else {
      failed(error);
    }
  }
}

/* Live update: ask again every refresh_seconds; offer the stories not shown yet. */
async function poll() {
  if (document.hidden || !state.config) return;
  const request = searchParams();
  request.set("limit", String(state.limit));
  try {
    const data = await api("/api/search?" + request.toString());
    const fresh = data.stories.filter((s) => !state.shown.has(s.story_id));
    const button = document.getElementById("new-stories");
    state.pending = fresh.length ? data : null;
    button.hidden = !fresh.length;
    button.textContent = fresh.length === 1 ? "1 new story: show it" : fresh.length + " new stories: show them";
  } catch (error) {
    /* a failed refresh is retried at the next tick */
  }
}

function submitSearch(event) {
  event.preventDefault();
  const form = document.getElementById("search-form");
  const params = new URLSearchParams();
  for (const [name, value] of new FormData(form).entries()) {
    if (value && !(name === "range" && value === "all") && !(name === "sort" && value === "newest")) params.append(name, value);
  }
  state.limit = 20;
  const query = params.toString();
  history.pushState(null, "", "/" + (query ? "?" + query : ""));
  loadSearch();
}

/* A filter link on a result (a topic, entity or country): the same address, without reloading. */
function followFilter(event) {
  const link = event.target.closest("a.filter");
  if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  state.limit = 20;
  history.pushState(null, "", link.getAttribute("href"));
  loadSearch().then(() => document.getElementById("results").focus());
}

export function startSearch(config) {
  state.config = config;
  document.getElementById("search-view").hidden = false;
  if (window.matchMedia("(max-width: 760px)").matches) document.getElementById("filter-panel").open = false;
  const form = document.getElementById("search-form");
  form.addEventListener("submit", submitSearch);
  for (const select of document.querySelectorAll("select[form=search-form]")) {
    select.addEventListener("change", () => form.requestSubmit());
  }
  document.getElementById("more").addEventListener("click", () => { state.limit += 20; loadSearch(); });
  document.getElementById("new-stories").addEventListener("click", () => {
    if (state.pending) renderSearch(state.pending, searchParams());
    state.pending = null;
    document.getElementById("results").focus();
  });
  document.getElementById("results").addEventListener("click", followFilter);
  document.getElementById("f-feedback").addEventListener("click", followFilter);
  window.addEventListener("popstate", loadSearch);
  loadSearch();
  window.setInterval(poll, Math.max(1, state.config.refresh_seconds) * 1000);
}
