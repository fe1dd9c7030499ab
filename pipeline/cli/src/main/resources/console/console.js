// The streamgpt web console: loss curves from GET /losses, the newest samples from GET /samples,
// and a prompt box whose answer streams in from POST /v1/completions (server-sent events).
// No build step: plain browser JavaScript and uPlot from its webjar.
"use strict";

// What the page shows, for people and for the browser test (window.consoleState).
const state = { points: 0, series: [], chunks: 0, answer: "", done: false, error: null };
window.consoleState = state;

let chart = null;
let chartKeys = [];

// Every numeric field whose name ends in "_loss" is a curve (train_loss, val_loss, and any kind
// the job adds later, e.g. a prequential loss), plotted against the step.
function lossKeys(records) {
  const keys = new Set();
  for (const r of records) {
    for (const [k, v] of Object.entries(r)) {
      if (k.endsWith("_loss") && (typeof v === "number" || v === null)) keys.add(k);
    }
  }
  const order = ["train_loss", "val_loss"];
  return [...keys].sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99) || a.localeCompare(b));
}

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"];

function drawLosses(records) {
  records = records.filter(r => typeof r.step === "number").sort((a, b) => a.step - b.step);
  const keys = lossKeys(records);
  const data = [records.map(r => r.step)];
  for (const k of keys) data.push(records.map(r => (typeof r[k] === "number" ? r[k] : null)));
  if (!chart || keys.join() !== chartKeys.join()) {
    if (chart) chart.destroy();
    chartKeys = keys;
    const el = document.getElementById("chart");
    chart = new uPlot({
      width: Math.min(960, el.clientWidth || 960),
      height: 300,
      scales: { x: { time: false } },
      axes: [{ label: "step" }, { label: "loss" }],
      series: [{ label: "step" }].concat(keys.map((k, i) => ({
        label: k.replace(/_loss$/, ""), stroke: COLORS[i % COLORS.length], width: 2, spanGaps: true,
      }))),
    }, data, el);
  } else {
    chart.setData(data);
  }
  state.points = records.length;
  state.series = keys;
  const last = records[records.length - 1];
  if (last) {
    document.getElementById("version").textContent =
      `model: generation ${last.generation}, round ${last.round}, step ${last.step}`;
  }
}

function showSamples(samples) {
  const box = document.getElementById("samples");
  box.replaceChildren(...samples.slice().reverse().map(s => {
    const pre = document.createElement("pre");
    pre.textContent = `step ${s.step} (round ${s.round})\n${s.text}`;
    return pre;
  }));
}

async function refresh() {
  const status = document.getElementById("status");
  try {
    const [losses, samples] = await Promise.all([
      fetch("/losses?last=2000").then(r => r.ok ? r.json() : Promise.reject(r.status)),
      fetch("/samples?last=5").then(r => r.ok ? r.json() : Promise.reject(r.status)),
    ]);
    drawLosses(losses);
    showSamples(samples);
    status.textContent = "";
  } catch (e) {
    status.textContent = `cannot read the job's topics (${e})`;
  }
}

// Reads an event stream from a fetch response: "data: ..." lines, events split by blank lines.
async function readEvents(response, onData) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of event.split("\n")) {
        if (line.startsWith("data: ")) onData(line.slice(6));
      }
    }
  }
}

async function ask(event) {
  event.preventDefault();
  const out = document.getElementById("answer");
  const meta = document.getElementById("answer-meta");
  out.textContent = "";
  meta.textContent = "waiting for the live model...";
  Object.assign(state, { chunks: 0, answer: "", done: false, error: null });
  const body = {
    model: "streamgpt",
    prompt: document.getElementById("prompt").value,
    max_tokens: Number(document.getElementById("tokens").value),
    temperature: Number(document.getElementById("temperature").value),
    top_k: Number(document.getElementById("top-k").value),
    stream: true,
  };
  const started = performance.now();
  try {
    const response = await fetch("/v1/completions", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    if (!response.ok) {
      const failure = await response.json();
      throw new Error(`${response.status}: ${failure.error.message}`);
    }
    await readEvents(response, data => {
      if (data === "[DONE]") { state.done = true; return; }
      const chunk = JSON.parse(data);
      if (chunk.error) throw new Error(chunk.error.message);
      const text = chunk.choices[0].text;
      if (text) {
        state.chunks++;
        state.answer += text;
        out.textContent = body.prompt + state.answer;
      }
      if (chunk.model_version) {
        const v = chunk.model_version;
        meta.textContent = `${state.chunks} parts, ${Math.round(performance.now() - started)} ms;` +
          ` model generation ${v.generation}, round ${v.round}, step ${v.step}`;
      }
    });
  } catch (e) {
    state.error = String(e.message || e);
    meta.textContent = state.error;
  }
}

document.getElementById("ask").addEventListener("submit", ask);
refresh();
setInterval(refresh, 2000);
