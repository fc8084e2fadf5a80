/* newsmon search page: analysts' verdicts. Under each result, per topic of the item a ✓ (on topic)
 * and a ✗ (not on topic) button, and "also about: <topic>" for each configured topic it lacks; a
 * standing verdict shows who gave it, with a button to withdraw it. On a search row a verdict goes
 * to every item of the story (story_id), on the story page to the one item (item_id). */

import { ApiError, apiPost, clear, el, failed, showNotice } from "/static/dom.js";

const WHO_KEY = "newsmon.who";
const SAYS = { yes: "on topic", no: "not on topic" };

/* The name verdicts are given under: the header's field, kept in this browser. */
export function startWho() {
  const input = document.getElementById("who");
  input.value = localStorage.getItem(WHO_KEY) || "";
  input.addEventListener("change", () => {
    const name = input.value.trim();
    if (name) localStorage.setItem(WHO_KEY, name); else localStorage.removeItem(WHO_KEY);
  });
}

function who() {
  const name = document.getElementById("who").value.trim();
  return name ? name.slice(0, 64) : null;
}

function announce(message) { document.getElementById("verdict-status").textContent = message; }

function button(key, text, label, attrs, cls) {
  const all = Object.assign({ type: "button", "data-key": key, "aria-label": label, title: label }, attrs);
  return el("button", { cls: "verdict-button" + (cls ? " " + cls : ""), text: text, attrs: all });
}

/* ✓ and ✗ for one topic, the pressed one being the standing verdict, then who gave it. */
function topicLine(topic, state, scope) {
  const verdict = state.feedback[topic] || null;
  const li = el("li", { cls: "verdict" + (verdict ? " verdict-" + verdict : ""), attrs: { "data-topic": topic } });
  li.append(el("span", { cls: "verdict-topic", text: topic }));
  for (const [value, mark] of [["yes", "✓"], ["no", "✗"]]) {
    const pressed = verdict === value;  /* pressing it again withdraws the verdict */
    const b = button(topic + ":" + value, mark, "Mark " + scope + " " + SAYS[value] + ": " + topic,
      { "aria-pressed": String(pressed), "data-topic": topic, "data-verdict": pressed ? "" : value, "data-says": value }, value);
    if (pressed) b.title = "Marked " + SAYS[value] + ": press again to withdraw";
    li.append(b);
  }
  if (verdict) {
    const by = state.feedback_by[topic];
    li.append(el("span", { cls: "verdict-mark", text: (verdict === "yes" ? "✓" : "✗") + " marked " + SAYS[verdict] + (by ? " by " + by : "") }),
      button(topic + ":withdraw", "Withdraw", "Withdraw the verdict on " + topic, { "data-topic": topic, "data-verdict": "" }, "withdraw"));
  }
  return li;
}

function fill(box, state, options) {
  clear(box);
  const scope = options.target === "story" ? "this story" : "this item";
  const shown = Array.from(new Set(state.topics.concat(Object.keys(state.feedback))));
  const list = el("ul", { cls: "verdict-list" }, shown.map((topic) => topicLine(topic, state, scope)));
  const others = options.topics.filter((t) => !shown.includes(t));
  box.append(el("span", { cls: "label", text: "Verdict" + (options.target === "story" ? " on the story" : "") + ":" }), list);
  if (others.length) {
    box.append(el("span", { cls: "also" }, others.map((topic) => button(topic + ":also", "also about: " + topic,
      "Mark " + scope + " also about " + topic, { "data-topic": topic, "data-verdict": "yes" }, "also-about"))));
  }
}

function refocus(box, keys) {
  for (const key of keys) {
    const target = box.querySelector('button[data-key="' + CSS.escape(key) + '"]');
    if (target) { target.focus(); return; }
  }
}

async function send(box, state, options, pressed) {
  const topic = pressed.dataset.topic;
  const verdict = pressed.dataset.verdict || null;
  const body = { topic: topic, verdict: verdict };
  body[options.target === "story" ? "story_id" : "item_id"] = options.target === "story" ? state.story_id : state.id;
  if (who()) body.who = who();
  const hadFocus = box.contains(document.activeElement);
  for (const b of box.querySelectorAll("button")) b.disabled = true;
  try {
    const answer = await apiPost("/api/label", body);
    const mine = answer.items.find((i) => i.id === state.id) || answer.items[0];
    state.feedback = mine.feedback;
    state.feedback_by = mine.feedback_by;
    fill(box, state, options);
    const count = answer.items.length > 1 ? " (" + answer.items.length + " items)" : "";
    announce(verdict ? topic + " marked " + SAYS[verdict] + count : "verdict on " + topic + " withdrawn" + count);
    showNotice("");
    if (hadFocus) refocus(box, [pressed.dataset.key, topic + ":" + (verdict || pressed.dataset.says || "no"), topic + ":also", topic + ":no"]);
  } catch (error) {
    for (const b of box.querySelectorAll("button")) b.disabled = false;
    if (error instanceof ApiError && error.status === 401) failed(error);
    else showNotice("Could not record the verdict: " + (error.message || error));
  }
}

/* The verdict controls of one item; ``options``: target "story" or "item", topics (configured). */
export function verdictBox(item, options) {
  const box = el("div", { cls: "verdicts", attrs: { role: "group", "data-item": item.id,
    "aria-label": options.target === "story" ? "Verdicts on this story's topics" : "Verdicts on this item's topics" } });
  const state = { id: item.id, story_id: item.story_id, topics: item.topics.map((t) => t.name),
    feedback: Object.assign({}, item.feedback || {}), feedback_by: Object.assign({}, item.feedback_by || {}) };
  fill(box, state, options);
  box.addEventListener("click", (event) => {
    const pressed = event.target.closest("button[data-topic]");
    if (pressed && !pressed.disabled) send(box, state, options, pressed);
  });
  return box;
}
