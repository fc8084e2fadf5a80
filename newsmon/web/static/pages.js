/* newsmon search page: the story, alert log and feed health views. */

import { ApiError, api, cell, clear, el, failed, when } from "/static/dom.js";
import { itemArticle } from "/static/results.js";

export async function startStory(storyId, config) {
  document.getElementById("story-view").hidden = false;
  try {
    const data = await api("/api/story/" + encodeURIComponent(storyId));
    const first = data.items[0];
    document.getElementById("story-title").textContent = first.title || "Story";
    document.title = (first.title || "Story") + " · newsmon";
    const summary = document.getElementById("story-summary");
    clear(summary);
    summary.append(data.total + " items from " + data.sources.join(", ") + " · first seen ", when(data.first_seen),
      " · last seen ", when(data.last_seen));
    const list = document.getElementById("story-items");
    clear(list);
    for (const item of data.items) list.append(el("li", { cls: "story" }, [itemArticle(item, { headingLevel: "h2", topics: config.topics })]));
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      document.getElementById("story-title").textContent = "Story not found";
      document.getElementById("story-summary").textContent = error.message;
    } else {
      failed(error);
    }
  }
}

export async function startAlerts() {
  document.getElementById("alerts-view").hidden = false;
  document.title = "Alert log · newsmon";
  const params = new URLSearchParams(window.location.search);
  document.getElementById("a-status").value = params.get("status") || "";
  document.getElementById("a-rule").value = params.get("rule") || "";
  const request = new URLSearchParams();
  for (const name of ["status", "rule"]) if (params.get(name)) request.set(name, params.get(name));
  try {
    const data = await api("/api/alerts?" + request.toString());
    const c = data.counts;
    document.getElementById("alerts-counts").textContent =
      c.sent + " sent, " + c.failed + " failed, " + c.pending + " pending, " + c.silenced + " silenced";
    const body = document.querySelector("#alerts-table tbody");
    clear(body);
    for (const alert of data.alerts) {
      const what = alert.story_link
        ? el("a", { text: alert.title || alert.story_id, attrs: { href: "/story/" + encodeURIComponent(alert.story_id) } })
        : el("span", { text: alert.title || alert.kind });
      const status = el("span", { cls: "badge status-" + alert.status, text: alert.status === "sent" ? "delivered" : alert.status });
      const tr = el("tr", { attrs: { "data-status": alert.status } });
      tr.append(cell(when(alert.created_at)), cell(alert.rule), cell(what), cell(alert.target, "target"),
        cell(status), cell(String(alert.attempts)), cell(alert.last_error, "error-text"));
      body.append(tr);
    }
    if (!data.alerts.length) body.append(el("tr", {}, [el("td", { text: "No alerts yet.", attrs: { colspan: "7" } })]));
  } catch (error) {
    failed(error);
  }
}

/* ---- feed health ---- */
export async function startFeeds() {
  document.getElementById("feeds-view").hidden = false;
  document.title = "Feed health · newsmon";
  try {
    const data = await api("/api/feeds");
    const parts = Object.entries(data.counts).map(([status, n]) => n + " " + status);
    document.getElementById("feeds-counts").textContent =
      data.feeds.length + " feeds" + (parts.length ? ": " + parts.join(", ") : "");
    const body = document.querySelector("#feeds-table tbody");
    clear(body);
    for (const feed of data.feeds) {
      const nameParts = [el("strong", { text: feed.id }), el("br"), el("span", { cls: "meta", text: feed.source })];
      if (feed.moved_to) {
        nameParts.push(el("br"), el("span", { cls: "meta moved", text: "moved to " + feed.moved_to + " (update the configuration)" }));
      }
      const name = el("span", {}, nameParts);
      const tr = el("tr", { attrs: { "data-status": feed.status } });
      tr.append(cell(name), cell(el("span", { cls: "badge status-" + feed.status, text: feed.status })),
        cell(when(feed.last_success)), cell(String(feed.error_streak)),
        cell(feed.items_per_day === null ? null : String(feed.items_per_day)), cell(when(feed.latest_item)),
        cell(feed.reason || null, "error-text"));
      body.append(tr);
    }
    if (!data.feeds.length) body.append(el("tr", {}, [el("td", { text: "No feeds configured.", attrs: { colspan: "7" } })]));
  } catch (error) {
    failed(error);
  }
}
