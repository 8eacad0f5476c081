// The page: as you type, ask POST /v1/complete for the completion, the next words, the
// explanation and the trace, and draw them. No framework, nothing fetched from elsewhere.
"use strict";

const $ = (id) => document.getElementById(id);
const DEBOUNCE_MS = 250;
let timer = null;
let latest = 0;  // only the answer to the newest request is drawn
let inflight = null;

function options(prompt) {
  const body = { prompt, next: 10, explain: true, trace: true };
  const words = parseInt($("words").value, 10);
  if (!Number.isNaN(words)) body.words = words;
  if ($("until").value) body.until = $("until").value;
  const temperature = parseFloat($("temperature").value);
  if ($("sample").checked && temperature !== 0) {  // temperature 0: greedy, as in the API
    body.sample = true;
    body.temperature = Number.isNaN(temperature) ? 1 : temperature;
    body.top_k = parseInt($("top_k").value, 10) || 0;
    body.top_p = parseFloat($("top_p").value) || 1;
    const seed = parseInt($("seed").value, 10);
    if (!Number.isNaN(seed)) body.seed = seed;
  }
  return body;
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(ask, DEBOUNCE_MS);
}

async function ask() {
  const prompt = $("prompt").value;
  if (!prompt.trim()) { clear(); return; }
  const id = ++latest;
  if (inflight) inflight.abort();
  const controller = new AbortController();
  inflight = controller;
  $("status").textContent = " ...";
  const post = (body) => fetch("/v1/complete", {
    method: "POST", headers: headers({ "Content-Type": "application/json" }),
    body: JSON.stringify(body), signal: controller.signal,
  });
  try {
    const body = options(prompt);
    let res = await post(body);
    let answer = await res.json();
    if (!res.ok && answer.error && answer.error.param === "explain") {
      body.explain = false;  // too long to explain here: show the rest all the same
      res = await post(body);
      answer = await res.json();
    }
    if (id !== latest) return;
    if (res.status === 401) $("keybox").hidden = false;
    if (!res.ok) { showError(answer.error); return; }
    draw(answer);
  } catch (e) {
    if (e.name !== "AbortError" && id === latest) showError({ message: String(e) });
  }
}

function headers(base) {
  const key = sessionStorage.getItem("rnncli-key");
  return key ? { ...base, Authorization: "Bearer " + key } : base;
}

function clear() {
  for (const id of ["echo", "completion", "status", "empty", "error", "next", "explain",
                    "heatmap"]) {
    $(id).textContent = "";
  }
}

function showError(err) {
  $("status").textContent = "";
  $("error").textContent = (err.param ? err.param + ": " : "") + err.message;
}

function draw(c) {
  $("error").textContent = "";
  $("status").textContent = "";
  $("echo").textContent = c.prompt;
  $("completion").textContent = c.completion;
  $("empty").textContent = c.completion ? "" : whyEmpty();
  drawNext(c.next);
  drawExplain(c.explain, c.explained);
  drawTrace(c.trace);
}

function whyEmpty() {
  // nothing was added: say why, so that an empty answer does not look like a fault
  if (parseInt($("words").value, 10) === 0) return "(no words: the word limit is 0)";
  return "(no words: the model ends the line here: its first choice was the end of the line)";
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function drawNext(next) {
  const box = $("next");
  box.textContent = "";
  for (const { word, prob } of next) {
    const row = el("div", "next-row");
    row.append(el("span", "word", word));
    const bar = el("span", "bar");
    bar.style.width = (prob * 100).toFixed(1) + "%";
    const track = el("span", "track");
    track.append(bar);
    row.append(track, el("span", "num", prob.toFixed(3)));
    box.append(row);
  }
}

function drawExplain(attributions, explained) {
  const box = $("explain");
  box.textContent = "";
  $("explained").textContent = explained || "...";
  if (!attributions) {
    box.append(el("span", "muted", "(the prompt is too long to explain here)"));
    return;
  }
  const measure = (a) => a.score;  // log p lost if the word is replaced (rnncli.explain)
  const most = Math.max(1e-9, ...attributions.map((a) => Math.abs(measure(a))));
  for (const a of attributions) {
    const v = measure(a);
    const col = el("div", "why-col");
    col.title = `score ${v.toFixed(3)}, |grad| ${a.grad_norm.toFixed(4)}`;
    const track = el("div", "why-track");
    const bar = el("div", "why-bar " + (v >= 0 ? "pos" : "neg"));
    bar.style.height = ((Math.abs(v) / most) * 100).toFixed(1) + "%";
    track.append(bar);
    col.append(el("div", "num", v.toFixed(2)), track, el("div", "word", a.word));
    box.append(col);
  }
}

function colour(v) {
  // -1 blue .. 0 white .. +1 red
  const t = Math.max(-1, Math.min(1, v));
  const fade = Math.round(255 * (1 - Math.abs(t)));
  return t >= 0 ? `rgb(255,${fade},${fade})` : `rgb(${fade},${fade},255)`;
}

function drawTrace(trace) {
  const table = $("heatmap");
  table.textContent = "";
  if (!trace) return;
  if (trace.length) table.style.setProperty("--units-width", trace[0].h.length * 8 + "px");
  for (const step of trace) {
    const row = el("tr", "hm-row");
    row.append(el("th", "word", step.token));
    const cells = el("td", "hm-cells");
    step.h.forEach((v, i) => {
      const cell = el("span", "hm-cell");
      cell.style.background = colour(v);
      cell.title = `unit ${i}: ${v}`;
      cells.append(cell);
    });
    row.append(cells, el("td", "num", step.norm.toFixed(2)),
               el("td", "guess", `${step.guess} ${step.prob.toFixed(2)}`));
    table.append(row);
  }
}

async function describe() {
  try {
    const m = await (await fetch("/v1/model", { headers: headers({}) })).json();
    const c = m.config.model;
    $("model").textContent = `${m.name}: ${c.cell}, ${c.layers} x ${c.hidden} units, ` +
      `vocabulary ${m.vocab_size}`;
  } catch (e) { /* the page works without it */ }
}

for (const id of ["prompt", "words", "until", "sample", "temperature", "top_k", "top_p", "seed"]) {
  $(id).addEventListener("input", schedule);
}
$("apikey").addEventListener("change", () => {
  sessionStorage.setItem("rnncli-key", $("apikey").value);
  describe();
  schedule();
});
describe();
if ($("prompt").value.trim()) schedule();
