// The latentaudio web UI: one page over the /v1 API, no build step and no dependencies.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { op: "generate", job: null, source: null, sourceBuffer: null, timer: null };
const LABELS = { generate: "Generate", inpaint: "Inpaint", vary: "Vary", extend: "Extend",
                 loop: "Make loop" };

// ---------------------------------------------------------------------------------- the API
function headers(extra = {}) {
  const key = localStorage.getItem("latentaudio-key");
  return key ? { ...extra, "X-API-Key": key } : extra;
}

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: headers(options.headers) });
  if (response.status === 401) $("key-box").hidden = false;
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : await response.blob();
  if (!response.ok) {
    const wait = response.headers.get("retry-after");
    const message = (body && body.error) || response.statusText;
    throw new Error(message + (wait ? ` (retry in ${wait} s)` : ""));
  }
  return body;
}

// ----------------------------------------------------------------------------------- the form
function selectTab(op) {
  state.op = op;
  for (const tab of document.querySelectorAll("#tabs button")) {
    tab.setAttribute("aria-selected", String(tab.dataset.op === op));
  }
  for (const field of document.querySelectorAll("[data-for]")) {
    field.hidden = !field.dataset.for.split(" ").includes(op);
  }
  $("submit").textContent = LABELS[op];
  drawSource();
}

function number(id) {
  const value = $(id).value.trim();
  return value === "" ? null : Number(value);
}

function request() {
  const common = { prompt: $("prompt").value.trim(), steps: number("steps"), cfg: number("cfg"),
                   format: $("format").value };
  if ($("negative").value.trim()) common.negative = $("negative").value.trim();
  if (number("seed") !== null) common.seed = number("seed");
  if ($("lora").value) common.lora = [`${$("lora").value}:${$("lora-strength").value || 1}`];
  const op = state.op;
  if (op === "generate") return { json: { ...common, seconds: number("seconds") } };
  if (op === "loop") return { json: { ...common, bpm: number("bpm"), bars: number("bars") } };
  const form = new FormData();
  for (const [name, value] of Object.entries(common)) {
    for (const item of Array.isArray(value) ? value : [value]) form.append(name, item);
  }
  if (op === "inpaint") { form.append("start", $("start").value); form.append("end", $("end").value); }
  if (op === "vary") form.append("strength", $("strength").value);
  if (op === "extend") form.append("seconds", $("extend-seconds").value);
  if (state.source && state.source.job) form.append("source_job", state.source.job);
  else if (state.source && state.source.file) form.append("audio", state.source.file);
  else throw new Error("choose the input audio first (a file, or Edit on a clip below)");
  return { form };
}

async function submit(event) {
  event.preventDefault();
  let body;
  try { body = request(); } catch (error) { return say(error.message, true); }
  const options = body.json
    ? { method: "POST", body: JSON.stringify(body.json),
        headers: { "Content-Type": "application/json" } }
    : { method: "POST", body: body.form };
  try {
    const job = await api(`/v1/${state.op}`, options);
    follow(job);
    refreshHistory();
  } catch (error) {
    say(error.message, true);
  }
}

function say(text, error = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", error);
}

// --------------------------------------------------------------------------- following a job
function follow(job) {
  state.job = job.id;
  clearTimeout(state.timer);
  $("progress").hidden = false;
  $("cancel").hidden = false;
  $("submit").disabled = true;
  poll();
}

async function poll() {
  let job;
  try { job = await api(`/v1/jobs/${state.job}`); } catch (error) { return say(error.message, true); }
  $("progress").value = job.progress;
  const where = job.status === "queued" && job.queue_position ? ` (${job.queue_position} ahead)` : "";
  say(`${job.status}${where} ${job.status === "running" ? Math.round(job.progress * 100) + "%" : ""}`);
  if (job.status === "queued" || job.status === "running") {
    state.timer = setTimeout(poll, 400);
    return;
  }
  $("progress").hidden = true;
  $("cancel").hidden = true;
  $("submit").disabled = false;
  if (job.status === "succeeded") { say("done"); show(job); }
  else say(job.status === "failed" ? `failed: ${job.error}` : "cancelled", job.status === "failed");
  refreshHistory();
}

async function cancel() {
  if (!state.job) return;
  try { await api(`/v1/jobs/${state.job}`, { method: "DELETE" }); } catch (error) { say(error.message, true); }
}

// ---------------------------------------------------------------------------- showing a clip
async function fetchAudio(job) {
  return await api(job.links.audio);  // a Blob (the API key goes in a header, not the URL)
}

async function show(job) {
  const blob = await fetchAudio(job);
  const url = URL.createObjectURL(blob);
  $("result").hidden = false;
  $("result-title").textContent = `${job.operation}: ${job.request.prompt}`;
  $("player").src = url;
  $("download").href = url;
  $("download").download = `latentaudio-${job.operation}-${job.id.slice(0, 8)}.${job.request.format}`;
  const picture = await api(job.links.spectrogram);
  $("spectrogram").src = URL.createObjectURL(picture);
  const sidecar = await api(job.links.sidecar);
  $("sidecar").href = URL.createObjectURL(new Blob([JSON.stringify(sidecar, null, 2)],
                                                    { type: "application/json" }));
  $("edit-result").onclick = () => useAsSource(job);
  drawWave($("waveform"), await decode(blob));
}

async function decode(blob) {
  const data = await blob.arrayBuffer();
  const context = new OfflineAudioContext(2, 44100, 44100);
  return await context.decodeAudioData(data);
}

function drawWave(canvas, buffer, region = null) {
  canvas.width = canvas.clientWidth * devicePixelRatio || 600;
  const g = canvas.getContext("2d");
  const { width, height } = canvas;
  g.clearRect(0, 0, width, height);
  if (!buffer) return;
  const left = buffer.getChannelData(0);
  const right = buffer.numberOfChannels > 1 ? buffer.getChannelData(1) : left;
  const per = Math.max(1, Math.floor(left.length / width));
  if (region) {
    g.fillStyle = "rgba(255, 170, 60, 0.35)";
    const x0 = region[0] / buffer.duration * width, x1 = region[1] / buffer.duration * width;
    g.fillRect(x0, 0, x1 - x0, height);
  }
  g.fillStyle = getComputedStyle(document.body).getPropertyValue("--accent") || "#48c";
  for (let x = 0; x < width; x++) {
    let lo = 0, hi = 0;
    for (let i = x * per; i < (x + 1) * per && i < left.length; i++) {
      const v = 0.5 * (left[i] + right[i]);
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    g.fillRect(x, (1 - hi) * height / 2, 1, Math.max(1, (hi - lo) * height / 2));
  }
}

// ------------------------------------------------------------------- the edit tabs' input
async function useAsSource(job) {
  state.source = { job: job.id };
  $("source-label").textContent = `clip ${job.id.slice(0, 8)}: ${job.request.prompt}`;
  state.sourceBuffer = await decode(await fetchAudio(job));
  if (state.op === "generate" || state.op === "loop") selectTab("vary");
  else drawSource();
}

async function useFile() {
  const file = $("source-file").files[0];
  if (!file) return;
  state.source = { file };
  $("source-label").textContent = file.name;
  try { state.sourceBuffer = await decode(file); } catch { state.sourceBuffer = null; }
  drawSource();
}

function drawSource() {
  const canvas = $("source-wave");
  if (canvas.offsetParent === null) return;
  const region = state.op === "inpaint" ? [number("start") || 0, number("end") || 0] : null;
  drawWave(canvas, state.sourceBuffer, region);
}

function pickRegion() {
  // Drag across the input's waveform to choose the inpainting region.
  const canvas = $("source-wave");
  let from = null;
  const seconds = (event) => {
    const box = canvas.getBoundingClientRect();
    const fraction = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
    return Math.round(fraction * (state.sourceBuffer ? state.sourceBuffer.duration : 0) * 100) / 100;
  };
  canvas.addEventListener("pointerdown", (event) => {
    if (state.op !== "inpaint" || !state.sourceBuffer) return;
    from = seconds(event);
    canvas.setPointerCapture(event.pointerId);
  });
  canvas.addEventListener("pointermove", (event) => {
    if (from === null) return;
    const to = seconds(event);
    $("start").value = Math.min(from, to);
    $("end").value = Math.max(from, to);
    drawSource();
  });
  canvas.addEventListener("pointerup", () => { from = null; });
}

// ---------------------------------------------------------------------------------- history
async function refreshHistory() {
  let jobs;
  try { jobs = await api("/v1/jobs?limit=30"); } catch { return; }
  const list = $("history");
  list.replaceChildren(...jobs.map((job) => {
    const item = document.createElement("li");
    item.className = job.status;
    const text = document.createElement("span");
    const length = job.seconds ? ` · ${job.seconds.toFixed(1)} s` : "";
    text.textContent = `${job.operation} · ${job.request.prompt}${length} · ${job.status}`;
    item.append(text);
    if (job.status === "succeeded") {
      for (const [label, action] of [["Play", () => show(job)], ["Edit", () => useAsSource(job)]]) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "link";
        button.textContent = label;
        button.onclick = action;
        item.append(" ", button);
      }
    }
    return item;
  }));
}

async function loadAdapters() {
  // The server's --lora-dir adapters; the chooser stays hidden when there are none.
  try {
    const { adapters } = await api("/v1/adapters");
    const select = $("lora");
    for (const adapter of adapters) {
      const option = document.createElement("option");
      option.value = adapter.name;
      option.textContent = adapter.captions.length
        ? `${adapter.name} (${adapter.captions[0]})` : adapter.name;
      select.append(option);
    }
    $("lora-box").hidden = $("lora-strength-box").hidden = adapters.length === 0;
  } catch (error) {
    $("lora-box").hidden = $("lora-strength-box").hidden = true;
  }
}

async function health() {
  try {
    const info = await api("/v1/health");
    $("model-state").textContent = `model ${info.model}` + (info.jobs.running ? " · busy" : "");
    $("model-state").className = `pill ${info.model}`;
    if (info.api_key_required) $("key-box").hidden = false;
    $("steps").max = info.max_steps;
  } catch (error) {
    $("model-state").textContent = "offline";
  }
}

// ------------------------------------------------------------------------------------ start
window.addEventListener("DOMContentLoaded", () => {
  for (const tab of document.querySelectorAll("#tabs button")) {
    tab.addEventListener("click", () => selectTab(tab.dataset.op));
  }
  $("form").addEventListener("submit", submit);
  $("cancel").addEventListener("click", cancel);
  $("source-file").addEventListener("change", useFile);
  $("strength").addEventListener("input", () => { $("strength-value").value = $("strength").value; });
  for (const id of ["start", "end"]) $(id).addEventListener("input", drawSource);
  $("api-key").value = localStorage.getItem("latentaudio-key") || "";
  $("api-key").addEventListener("change", () => {
    localStorage.setItem("latentaudio-key", $("api-key").value);
    health();
    refreshHistory();
  });
  pickRegion();
  selectTab("generate");
  loadAdapters();
  health();
  refreshHistory();
  setInterval(health, 5000);
});
