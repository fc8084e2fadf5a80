/* newsmon search page: plain JavaScript modules, no framework, no build step. One page shell for
 * every address; this picks the view from the path. */

import { api, failed, takeToken } from "/static/dom.js";
import { startAlerts, startFeeds, startStory } from "/static/pages.js";
import { startSearch } from "/static/search.js";
import { startWho } from "/static/verdicts.js";

function markNav(page) {
  for (const link of document.querySelectorAll("nav a[data-page]")) {
    if (link.dataset.page === page) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
  }
}

async function start() {
  takeToken();
  startWho();
  const path = window.location.pathname;
  const page = path.startsWith("/story/") ? "story" : path === "/alerts" ? "alerts" : path === "/feeds" ? "feeds" : "search";
  markNav(page);
  let config;
  try {
    config = await api("/api/health");
  } catch (error) {
    failed(error);
    return;
  }
  if (page === "story") return startStory(decodeURIComponent(path.slice("/story/".length)), config);
  if (page === "alerts") return startAlerts();
  if (page === "feeds") return startFeeds();
  return startSearch(config);
}

start();
