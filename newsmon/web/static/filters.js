/* newsmon search page: click-to-filter. A topic, entity or country shown on a result is a link to
 * the same search with a query clause for that value added (topics:counterterrorism,
 * entities.persons:"Ahmed Karim"), so filters on several values narrow the search together. */

import { el } from "/static/dom.js";

export const FILTER_FIELDS = {
  topics: "topics", persons: "entities.persons", organizations: "entities.organizations",
  places: "entities.places", groups: "entities.groups", countries: "countries",
};
const RESERVED = new Set(["AND", "OR", "NOT", "TO"]);

/* The clause matching one keyword value: bare when it is one plain word, else quoted. */
export function filterClause(field, value) {
  const text = String(value);
  if (/^[A-Za-z0-9_]+$/.test(text) && !RESERVED.has(text.toUpperCase())) return field + ":" + text;
  return field + ':"' + text.replace(/[\\"]/g, (c) => "\\" + c) + '"';
}

/* The query's top-level pieces split at spaces outside quotes and parentheses, or null when its
 * quotes or parentheses do not balance. */
function pieces(query) {
  const found = [];
  let current = "", depth = 0, quoted = false;
  for (let i = 0; i < query.length; i++) {
    const c = query[i];
    if (c === "\\" && i + 1 < query.length) { current += c + query[++i]; continue; }
    if (c === '"') quoted = !quoted;
    else if (!quoted && c === "(") depth++;
    else if (!quoted && c === ")") depth--;
    if (depth < 0) return null;
    if (/\s/.test(c) && !quoted && depth === 0) { if (current) found.push(current); current = ""; }
    else current += c;
  }
  if (current) found.push(current);
  return quoted || depth ? null : found;
}

/* A query reading as clauses joined by AND only, so one more "AND clause" means "and also". */
function isConjunction(parts) {
  if (!parts || parts.length % 2 === 0) return false;
  return parts.every((part, i) => (i % 2 ? part === "AND" || part === "&&" : !RESERVED.has(part.toUpperCase())));
}

/* ``query`` with ``clause`` required as well; parenthesised when the query is more than a chain of
 * AND (Lucene reads "a OR b AND c" left to right); unchanged when it already requires the clause. */
export function withClause(query, clause) {
  const text = (query || "").trim();
  if (!text) return clause;
  const parts = pieces(text);
  if (isConjunction(parts)) return parts.includes(clause) ? text : text + " AND " + clause;
  return "(" + text + ") AND " + clause;
}

/* The address of the search ``params`` with the filter on ``field``'s ``value`` added. */
export function filterHref(params, field, value) {
  const next = new URLSearchParams(params || "");
  next.set("q", withClause(next.get("q"), filterClause(field, value)));
  return "/?" + next.toString();
}

/* A link to the search ``params`` filtered on one value as well; ``label`` names the kind of value. */
export function filterLink(params, kind, value, label) {
  const field = FILTER_FIELDS[kind];
  return el("a", { cls: "filter", text: value, attrs: { href: filterHref(params, field, value),
    title: "Search only items with " + label + " " + value + " (" + filterClause(field, value) + ")" } });
}
