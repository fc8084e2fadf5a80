/* newsmon search page: one result (an item with its topics, evidence and entities, each topic and
 * entity a link filtering the search on it, and the analysts' verdicts on its topics), a story row
 * with its other outlets folded, and the histogram of stories over time. */

import { TOPIC_COLOURS, clear, el, linkOrText, marked, when } from "/static/dom.js";
import { filterLink } from "/static/filters.js";
import { verdictBox } from "/static/verdicts.js";

function colour(topics, name) {
  return TOPIC_COLOURS[Math.max(0, topics.indexOf(name)) % TOPIC_COLOURS.length];
}

function topicChip(topic, topics, params) {
  const chip = el("li", { cls: "topic" });
  const swatch = el("span", { cls: "swatch", attrs: { "aria-hidden": "true" } });
  swatch.style.backgroundColor = colour(topics, topic.name);
  const name = filterLink(params, "topics", topic.name, "topic");
  name.classList.add("topic-name");
  chip.append(swatch, name);
  if (topic.score !== null) chip.append(" ", el("span", { cls: "score", text: topic.score.toFixed(2) }));
  if (topic.model !== null) chip.append(" ", el("span", { cls: "model", text: "model " + topic.model.toFixed(2) }));
  return chip;
}

const ENTITY_LABELS = { persons: ["People", "person"], organizations: ["Organisations", "organisation"],
  places: ["Places", "place"], groups: ["Groups", "group"], countries: ["Countries", "country"] };

function entityList(item, params) {
  const dl = el("dl", { cls: "entities" });
  for (const [kind, [heading, label]] of Object.entries(ENTITY_LABELS)) {
    const values = kind === "countries" ? item.countries : item.entities[kind];
    if (!values || !values.length) continue;
    const dd = el("dd");
    values.forEach((value, i) => dd.append(i ? ", " : "", filterLink(params, kind, value, label)));
    dl.append(el("dt", { text: heading }), dd);
  }
  return dl.childNodes.length ? dl : null;
}

function evidenceLine(topic) {
  const line = el("p", { cls: "evidence" }, [el("span", { cls: "label", text: "Evidence for " + topic.name + ": " }),
    topic.evidence.join(", ")]);
  if (topic.against.length) {
    line.append(topic.evidence.length ? " · " : "", el("span", { cls: "label", text: "against: " }),
      el("span", { cls: "against", text: topic.against.join(", "), attrs: { title: "counts against " + topic.name } }));
  }
  return line;
}

export function itemArticle(item, options) {
  const article = el("article", { cls: "item" });
  const heading = el(options.headingLevel || "h3", { cls: "title" });
  heading.append(linkOrText(item.link, marked(item.title_parts)));
  article.append(heading);
  const meta = el("p", { cls: "meta" }, [el("span", { cls: "source", text: item.source }), " · ", when(item.time)]);
  if (options.storyLink) {
    const outlets = options.others ? options.others + 1 : 1;
    meta.append(" · ", el("a", { text: outlets > 1 ? "story: " + outlets + " items" : "story",
      attrs: { href: "/story/" + encodeURIComponent(item.story_id) } }));
  }
  if (!item.link && item.url) meta.append(" · ", el("span", { cls: "url-text", text: item.url }));
  article.append(meta);
  const params = options.params || null;
  if (item.topics.length) article.append(el("ul", { cls: "topics", attrs: { "aria-label": "Topics and scores" } }, item.topics.map((t) => topicChip(t, options.topics, params))));
  article.append(verdictBox(item, { target: options.verdictTarget || "item", topics: options.topics }));
  if (item.summary_parts.length) article.append(el("p", { cls: "summary" }, [marked(item.summary_parts)]));
  for (const topic of item.topics.filter((t) => t.evidence.length || t.against.length)) article.append(evidenceLine(topic));
  const entities = entityList(item, params);
  if (entities) article.append(entities);
  return article;
}

export function storyRow(story, topics, params) {
  const li = el("li", { cls: "story", attrs: { "data-story": story.story_id } });
  li.append(itemArticle(story.item, { storyLink: true, others: story.others.length, topics: topics, params: params,
    verdictTarget: "story" }));
  if (story.others.length) {
    const details = el("details", { cls: "others" });
    const names = Array.from(new Set(story.others.map((o) => o.source))).join(", ");
    details.append(el("summary", { text: "Also reported by " + names + " (" + story.others.length + ")" }));
    const list = el("ul");
    for (const other of story.others) {
      list.append(el("li", {}, [linkOrText(other.link, document.createTextNode(other.title)), " — ",
        el("span", { cls: "source", text: other.source }), " · ", when(other.time)]));
    }
    details.append(list);
    li.append(details);
  }
  return li;
}

export function histogram(data, topics) {
  const box = document.getElementById("histogram");
  clear(box);
  const buckets = data.buckets;
  if (!buckets.length) { box.append(el("p", { cls: "meta", text: "No stories in this range." })); return; }
  const series = ["all"].concat(topics);
  const max = Math.max(1, ...buckets.map((b) => b.counts.all || 0));
  const ns = "http://www.w3.org/2000/svg";
  const width = 720, height = 120, top = 6, bottom = 0;
  const slot = width / buckets.length, bar = Math.max(1, (slot * 0.8) / series.length);
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 " + width + " " + height);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-labelledby", "histogram-title");
  svg.setAttribute("preserveAspectRatio", "none");
  buckets.forEach((bucket, i) => {
    series.forEach((name, j) => {
      const count = bucket.counts[name] || 0;
      if (!count) return;
      const h = ((height - top - bottom) * count) / max;
      const rect = document.createElementNS(ns, "rect");
      rect.setAttribute("x", String(i * slot + slot * 0.1 + j * bar));
      rect.setAttribute("y", String(height - bottom - h));
      rect.setAttribute("width", String(bar));
      rect.setAttribute("height", String(h));
      rect.setAttribute("class", name === "all" ? "bar-all" : "bar-topic");
      if (name !== "all") rect.setAttribute("fill", TOPIC_COLOURS[(j - 1) % TOPIC_COLOURS.length]);
      const title = document.createElementNS(ns, "title");
      title.textContent = bucket.start.slice(0, data.interval === "hour" ? 16 : 10).replace("T", " ") + ": " + count + " " + (name === "all" ? "stories" : name);
      rect.append(title);
      svg.append(rect);
    });
  });
  box.append(svg);
  const last = buckets[buckets.length - 1].start.slice(0, 10);
  box.append(el("p", { cls: "axis" }, [el("span", { text: buckets[0].start.slice(0, 10) }),
    el("span", { text: buckets.length > 1 ? last : "" })]));
  const legend = el("ul", { cls: "legend" });
  series.forEach((name, j) => {
    const swatch = el("span", { cls: "swatch" + (name === "all" ? " swatch-all" : ""), attrs: { "aria-hidden": "true" } });
    if (name !== "all") swatch.style.backgroundColor = TOPIC_COLOURS[(j - 1) % TOPIC_COLOURS.length];
    const total = buckets.reduce((sum, b) => sum + (b.counts[name] || 0), 0);
    legend.append(el("li", {}, [swatch, (name === "all" ? "all stories" : name) + ": " + total]));
  });
  box.append(legend, el("p", { cls: "meta", text: "One group of bars per " + data.interval + ", counting stories (an outlet's copy of a story counts once)." }));
}
