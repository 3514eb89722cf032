// meterkast dashboard. It talks only to the JSON API (/api/openapi.json) and polls /api/state about once a
// second. No framework, no build step: the LCD and the charts are SVG drawn here.
"use strict";

const POLL_MS = 1000;
const SLOW_POLL_MS = 5000;
const LONG_PRESS_S = 10; // SYSTEM G8: held more than 10 s = test mode
const ZONE = "Europe/Amsterdam";
const SVG_NS = "http://www.w3.org/2000/svg";
const CHART_BARS = { hourly: 48, daily: 40, monthly: 13 };

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child ?? ""));
  return node;
}

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

async function api(method, path, body) {
  const init = { method, headers: { Accept: "application/json", ...accessHeaders(method) } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  try {
    const response = await fetch(path, init);
    if (response.status === 401) toLogin();
    const data = await response.json().catch(() => null);
    return { ok: response.ok, status: response.status, data };
  } catch (error) {
    return { ok: false, status: 0, data: { error: "NetworkError", message: String(error) } };
  }
}

// -- formatting --------------------------------------------------------------------------------------------
const timeFormat = new Intl.DateTimeFormat("en-GB", {
  timeZone: ZONE, day: "2-digit", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
});
const shortFormat = new Intl.DateTimeFormat("en-GB", {
  timeZone: ZONE, day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit",
});
const stampFormat = new Intl.DateTimeFormat("en-GB", {
  timeZone: ZONE, day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit", second: "2-digit",
});
const hourFormat = new Intl.DateTimeFormat("en-GB", { timeZone: ZONE, hour: "2-digit" });
const dayFormat = new Intl.DateTimeFormat("en-GB", { timeZone: ZONE, day: "2-digit", month: "2-digit" });
const monthFormat = new Intl.DateTimeFormat("en-GB", { timeZone: ZONE, month: "short", year: "2-digit" });

const when = (iso, format = shortFormat) => (iso ? format.format(new Date(iso)) : "—");
const num = (value) => (value === null || value === undefined || value === "" ? null : Number(value));
const m3 = (value, digits = 3) => (num(value) === null ? "—" : num(value).toFixed(digits));
const pct = (fraction) => `${(100 * fraction).toFixed(1)} %`;

function speedText(speed) {
  if (speed === null || speed === undefined) return "max";
  if (speed >= 86400 && speed % 86400 === 0) return `${speed / 86400} d/s`;
  if (speed >= 3600 && speed % 3600 === 0) return `${speed / 3600} h/s`;
  return `${speed}×`;
}

const CONTEXT_KEYS = ["channel", "meter_number"]; // which device: shown last, the news first

function detailText(detail) {
  if (detail === null || detail === undefined) return "";
  if (typeof detail !== "object") return String(detail);
  return Object.entries(detail)
    .sort(([a], [b]) => CONTEXT_KEYS.includes(a) - CONTEXT_KEYS.includes(b))
    .map(([key, value]) => `${key}: ${typeof value === "object" ? JSON.stringify(value) : value}`)
    .join(" · ");
}

function toast(message, kind = "info") {
  const box = $("#toast");
  box.textContent = message;
  box.className = `toast toast-${kind}`;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 5000);
}

// -- the LCD (SYSTEM G7–G9): 8 seven-segment cells, decimal points, flow arrow, triangle, m³ -------------
const SEGMENTS = {
  "0": "abcdef", "1": "bc", "2": "abdeg", "3": "abcdg", "4": "bcfg", "5": "acdfg", "6": "acdefg", "7": "abc",
  "8": "abcdefg", "9": "abcdfg", "A": "abcefg", "b": "cdefg", "C": "adef", "c": "deg", "d": "bcdeg", "E": "adefg",
  "F": "aefg", "H": "bcefg", "L": "def", "n": "ceg", "o": "cdeg", "P": "abefg", "r": "eg", "t": "defg",
  "U": "bcdef", "-": "g", " ": "",
};
const CELL = { w: 20, h: 44, t: 4.2, pitch: 31, x0: 44, y0: 26 };

function hexagon(x, y, length, t, vertical) {
  const h = t / 2;
  const points = vertical
    ? [[x, y], [x + h, y + h], [x + h, y + length - h], [x, y + length], [x - h, y + length - h], [x - h, y + h]]
    : [[x, y], [x + h, y - h], [x + length - h, y - h], [x + length, y], [x + length - h, y + h], [x + h, y + h]];
  return points.map((p) => p.join(",")).join(" ");
}

function buildLcd() {
  const lcd = $("#lcd");
  const { w, h, t, pitch, x0, y0 } = CELL;
  const g = 1.2;
  const half = h / 2;
  const shapes = {
    a: hexagon(g, 0, w - 2 * g, t, false), g: hexagon(g, half, w - 2 * g, t, false), d: hexagon(g, h, w - 2 * g, t, false),
    f: hexagon(0, g, half - 2 * g, t, true), b: hexagon(w, g, half - 2 * g, t, true),
    e: hexagon(0, half + g, half - 2 * g, t, true), c: hexagon(w, half + g, half - 2 * g, t, true),
  };
  lcd.append(svg("rect", { class: "lcd-glass", x: 2, y: 2, width: 316, height: 92, rx: 7 }));
  for (let i = 0; i < 8; i++) {
    const cell = svg("g", { class: "cell", "data-i": i, transform: `translate(${x0 + i * pitch},${y0}) skewX(-7)` });
    for (const [name, points] of Object.entries(shapes)) {
      cell.append(svg("polygon", { class: "seg", "data-seg": name, points }));
    }
    cell.append(svg("circle", { class: "seg dp", "data-seg": "dp", cx: w + 5.5, cy: h, r: 2.6 }));
    lcd.append(cell);
  }
  // The flow arrow top-left and the error triangle bottom-left (seed §10 item 10).
  const arrow = svg("g", { id: "lcd-arrow", class: "seg sym" });
  arrow.append(svg("polygon", { points: "10,20 22,20 22,15 32,24 22,33 22,28 10,28" }));
  const triangle = svg("g", { id: "lcd-triangle", class: "seg sym" });
  triangle.append(svg("polygon", { points: "21,56 33,77 9,77", fill: "none", "stroke-width": 3, "stroke-linejoin": "round" }));
  triangle.append(svg("rect", { x: 19.8, y: 62.5, width: 2.4, height: 8 }));
  triangle.append(svg("rect", { x: 19.8, y: 72, width: 2.4, height: 2.4 }));
  const unit = svg("text", { id: "lcd-unit", class: "seg sym unit", x: 294, y: 72 }, "m³");
  lcd.append(arrow, triangle, unit);
}

// The Control gives {"text", "segments": {name: bool}}; the gas meter model's frame also has cells and dots.
function lcdModel(lcd) {
  const segments = lcd.segments || lcd;
  let cells = lcd.cells;
  let dots = lcd.dots;
  if (typeof cells !== "string" || !Array.isArray(dots)) {
    cells = "";
    dots = [];
    for (const char of lcd.text || "") {
      if (char === "." && cells.length > 0) dots.push(cells.length - 1);
      else cells += char;
    }
  }
  const flag = (...names) => names.some((name) => segments[name] === true);
  return {
    text: lcd.text || "",
    cells: cells.padEnd(8).slice(0, 8),
    dots: new Set(dots),
    arrow: flag("arrow", "flow_arrow", "flow"),
    triangle: flag("triangle", "error_triangle", "alarm"),
    unit: flag("unit_m3", "m3", "unit"),
    lit: segments.lit ?? lcd.lit ?? (lcd.text || "").trim() !== "",
  };
}

function renderLcd(lcd, meter) {
  const frame = lcdModel(lcd);
  const root = $("#lcd");
  root.classList.toggle("off", !frame.lit);
  root.dataset.text = frame.text;
  root.setAttribute("aria-label", frame.lit ? `LCD: ${frame.text.trim() || "blank"}` : "LCD: off");
  $$(".cell", root).forEach((cell, i) => {
    const lit = SEGMENTS[frame.cells[i]] ?? "";
    $$(".seg", cell).forEach((seg) => {
      const name = seg.dataset.seg;
      seg.classList.toggle("on", name === "dp" ? frame.dots.has(i) : lit.includes(name));
    });
  });
  // The model blinks the arrow at 1 Hz (0.5 s on, 0.5 s off) while gas flows. A poll once a second samples
  // one phase, so while the reading shows and gas flows the page animates the blink the model describes.
  const blinking = meter.flowing && frame.unit && meter.display_state !== "test-all-on";
  $("#lcd-arrow").classList.toggle("on", frame.arrow || blinking);
  $("#lcd-arrow").classList.toggle("blink", blinking);
  $("#lcd-triangle").classList.toggle("on", frame.triangle);
  $("#lcd-unit").classList.toggle("on", frame.unit);
}

// -- the red button: pointerdown/pointerup measure the hold; the model decides short or long ---------------
function setupButton() {
  const button = $("#red-button");
  const hint = $("#hold-hint");
  let started = null;
  let frame = 0;
  const resetRing = () => {
    cancelAnimationFrame(frame);
    button.classList.remove("held", "long");
    button.style.setProperty("--hold", "0");
    hint.textContent = "click: reading · hold > 10 s: test mode";
  };
  const tick = () => {
    const held = (performance.now() - started) / 1000;
    button.style.setProperty("--hold", String(Math.min(1, held / LONG_PRESS_S)));
    const long = held > LONG_PRESS_S;
    button.classList.toggle("long", long);
    hint.textContent = long ? "release: test mode" : `holding ${held.toFixed(1)} s …`;
    frame = requestAnimationFrame(tick);
  };
  const begin = () => {
    started = performance.now();
    button.classList.add("held");
    frame = requestAnimationFrame(tick);
  };
  const release = () => {
    if (started === null) return;
    const hold = (performance.now() - started) / 1000;
    started = null;
    resetRing();
    press(hold);
  };
  button.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    button.setPointerCapture(event.pointerId);
    begin();
  });
  button.addEventListener("pointerup", release);
  button.addEventListener("pointercancel", () => { started = null; resetRing(); });
  // The keyboard holds the button too: Space or Enter down … up.
  const isPress = (event) => event.key === " " || event.key === "Enter";
  button.addEventListener("keydown", (event) => {
    if (!isPress(event)) return;
    event.preventDefault();
    if (!event.repeat && started === null) begin();
  });
  button.addEventListener("keyup", (event) => {
    if (!isPress(event)) return;
    event.preventDefault();
    release();
  });
  button.addEventListener("blur", () => { started = null; resetRing(); });
  $$("[data-hold]").forEach((b) => b.addEventListener("click", () => press(Number(b.dataset.hold))));
}

async function press(holdSeconds) {
  const hold = Math.round(holdSeconds * 100) / 100;
  const result = await api("POST", "/api/meter/button", { hold_s: hold });
  if (!result.ok) return toast(result.data?.message || `button: HTTP ${result.status}`, "error");
  toast(hold > LONG_PRESS_S ? `long press (${hold.toFixed(1)} s): test mode` : `short press (${hold.toFixed(2)} s)`);
  await refresh();
  await refreshEvents();
}

// -- the meter's face, facts and nameplate --------------------------------------------------------------
function drawBarcode(text) {
  const code = $("#barcode");
  if (code.dataset.for === text) return;
  code.dataset.for = text;
  code.replaceChildren();
  let x = 2;
  for (const char of `*${text}*`) {
    const bits = (char.charCodeAt(0) * 2654435761) >>> 0; // a stable pattern per character; decoration only
    for (let k = 0; k < 5; k++) {
      const width = 1 + ((bits >>> (k * 3)) & 1) * 1.6;
      code.append(svg("rect", { x, y: 0, width, height: 34 }));
      x += width + 1 + ((bits >>> (k * 3 + 1)) & 1) * 1.4;
    }
  }
  code.setAttribute("viewBox", `0 0 ${x + 2} 34`);
}

function nameplateLines(plate) {
  if (!plate) return [];
  if (Array.isArray(plate.lines)) return plate.lines;
  return Object.entries(plate)
    .filter(([key]) => key !== "type")
    .map(([key, value]) => `${key}: ${typeof value === "object" ? JSON.stringify(value) : value}`);
}

function facts(target, pairs) {
  target.replaceChildren(...pairs.flatMap(([label, value, cls]) => [el("dt", {}, label), el("dd", { class: cls }, value)]));
}

function renderMeter(meter) {
  $("#meter-type").textContent = meter.type || "";
  $("#meter-number").textContent = meter.meter_number || "—";
  drawBarcode(meter.meter_number || "");
  const plate = $("#nameplate");
  const lines = nameplateLines(meter.nameplate);
  if (plate.dataset.lines !== JSON.stringify(lines)) {
    plate.dataset.lines = JSON.stringify(lines);
    plate.replaceChildren(...lines.map((line, i) => el("div", { class: i === 0 ? "plate-type" : "" }, line)));
  }
  renderLcd(meter.lcd || {}, meter);
  for (const side of ["#seal-left", "#seal-right"]) $(side).classList.toggle("broken", !!meter.seal_broken);
  const seal = $("#seal-state");
  seal.textContent = meter.seal_broken ? "broken" : "intact";
  seal.className = `chip ${meter.seal_broken ? "chip-bad" : "chip-ok"}`;
  $("#valve-state").textContent = meter.valve ?? "—";
  const battery = meter.battery || {};
  const fraction = Number(battery.fraction ?? 0);
  $("#battery-bar").style.width = `${Math.max(0, Math.min(1, fraction)) * 100}%`;
  $("#battery-bar").className = `battery-bar ${battery.empty ? "empty" : battery.low ? "low" : ""}`;
  const batteryChip = $("#battery-state");
  batteryChip.textContent = battery.empty ? "empty" : `${pct(fraction)}${battery.low ? " · low" : ""}`;
  batteryChip.className = `chip ${battery.empty || battery.low ? "chip-bad" : "chip-ok"}`;
  $("#temp-state").textContent = meter.gas_temp_c !== undefined ? `${meter.gas_temp_c} °C` : "—";
  const slider = $("#gas-temp");
  if (!slider.dataset.touched && meter.gas_temp_c !== undefined) {
    slider.value = String(Math.round(Number(meter.gas_temp_c)));
    $("#gas-temp-out").textContent = `${slider.value} °C`;
  }
  const firmware = meter.firmware || {};
  const number = meter.meter_number || "";
  $$("#display-steps li").forEach((li) => li.classList.toggle("now", li.dataset.state === meter.display_state));
  facts($("#meter-facts"), [
    // SYSTEM G13: KIWA family code, 10-digit serial, 2-digit year of manufacture.
    ["identity", number.length === 17 ? `${number.slice(0, 5).trim()} ${number.slice(5, 15)} (20${number.slice(15)})` : "—", "mono"],
    ["index", `${meter.index_m3 ?? "—"} m³`, "mono"],
    ["display", displayFact(meter)],
    ["gas", gasFlowFact(meter)],
    ["alarm", meter.alarm ? "yes: triangle on" : "none", meter.alarm ? "bad" : ""],
    ["legal firmware", `${firmware.legal?.version ?? "—"} · CRC ${firmware.legal?.checksum ?? "—"}`, "mono"],
    ["functional firmware", firmware.functional?.version ?? "—", "mono"],
  ]);
}

// -- gas meter: flow below Qmin and the display lockout (SYSTEM G1, G7; issue 11 items 3, 4) --------------
const FLOW_REGIME_TEXT = {
  "below-start": "below the starting flow: not counted",
  "below-qmin": "below Qmin: counted, outside the legal accuracy",
  "above-qmax": "above Qmax: counted, outside the legal accuracy",
};

function gasFlowFact(meter) {
  const note = FLOW_REGIME_TEXT[meter.flow_regime];
  if (meter.flow_regime === "below-start") return `${meter.flow_m3h} m³/h · ${note}`;
  if (!meter.flowing) return "still";
  return `flowing${meter.flow_m3h ? ` · ${meter.flow_m3h} m³/h` : ""}${note ? ` · ${note}` : ""}`;
}

function displayFact(meter) {
  // A lockout lasts one Dutch local day: until the same wall-clock time tomorrow (gasmeter/display_day.py).
  const until = meter.display_locked_until;
  return until ? `${meter.display_state} until ${when(until)}` : meter.display_state ?? "—";
}

// -- clock and speed ----------------------------------------------------------------------------------------
function renderClock(clock) {
  $("#clock-local").textContent = when(clock.local || clock.now, timeFormat);
  $("#clock-speed").textContent = speedText(clock.speed);
  const active = clock.speed === null || clock.speed === undefined ? "max" : String(clock.speed);
  $$("#speeds [data-speed]").forEach((b) => b.classList.toggle("active", b.dataset.speed === active));
  const note = $("#speed-note");
  const fast = clock.speed === null || clock.speed === undefined || clock.speed > 10;
  note.hidden = !fast;
  if (fast) {
    const real = clock.speed ? `${((30 / clock.speed) * 1000).toFixed(clock.speed > 3000 ? 0 : 1)} ms` : "no time";
    note.textContent = `At ${speedText(clock.speed)} the display's 30 s on-time lasts ${real} of real time: choose 1× to read the LCD.`;
  }
}

// -- E-meter profiles -----------------------------------------------------------------------------------
let profileKind = "hourly";

function barChart(target, bars, { line = null, unit = "m³", label = (i) => "" } = {}) {
  const W = 560, H = 150, left = 44, right = 8, top = 10, bottom = 24;
  const values = bars.concat(line || []).filter((v) => v !== null && Number.isFinite(v));
  const max = Math.max(1e-9, ...values);
  const scale = (v) => top + (H - top - bottom) * (1 - v / max);
  target.replaceChildren();
  for (const fraction of [0, 0.5, 1]) {
    const y = scale(max * fraction);
    target.append(svg("line", { class: "grid-line", x1: left, x2: W - right, y1: y, y2: y }));
    target.append(svg("text", { class: "axis", x: left - 6, y: y + 4, "text-anchor": "end" }, (max * fraction).toFixed(max < 1 ? 2 : 1)));
  }
  target.append(svg("text", { class: "axis", x: 4, y: top + 4 }, unit));
  if (bars.length === 0) {
    target.append(svg("text", { class: "axis empty", x: W / 2, y: H / 2, "text-anchor": "middle" }, "no entries yet: jump the clock"));
    return;
  }
  const step = (W - left - right) / bars.length;
  const every = Math.ceil(bars.length / 12);
  bars.forEach((value, i) => {
    const x = left + i * step;
    if (value !== null) {
      const y = scale(Math.max(0, value));
      target.append(svg("rect", { class: "bar", x: x + step * 0.15, y, width: Math.max(1, step * 0.7), height: H - bottom - y }));
    }
    if (i % every === 0) target.append(svg("text", { class: "axis", x: x + step / 2, y: H - 8, "text-anchor": "middle" }, label(i)));
  });
  if (line) {
    const points = line.map((v, i) => (v === null ? null : [left + (i + 0.5) * step, scale(Math.max(0, v))]));
    let path = "";
    points.forEach((p, i) => { if (p) path += `${points[i - 1] ? "L" : "M"}${p[0].toFixed(1)},${p[1].toFixed(1)}`; });
    target.append(svg("path", { class: "line", d: path }));
    points.forEach((p) => p && target.append(svg("circle", { class: "dot", cx: p[0], cy: p[1], r: 2.4 })));
  }
}

function deltas(values) {
  return values.map((v, i) => (i === 0 || v === null || values[i - 1] === null ? null : v - values[i - 1]));
}

async function refreshProfile() {
  const result = await api("GET", `/api/emeter/profiles/${profileKind}?channel=${profileChannel}`);
  if (!result.ok) return;
  const entries = result.data;
  const values = entries.map((e) => num(e.value_m3));
  const steps = deltas(values);
  const shown = Math.min(entries.length, CHART_BARS[profileKind]);
  const format = { hourly: hourFormat, daily: dayFormat, monthly: monthFormat }[profileKind];
  const start = entries.length - shown;
  barChart($("#profile-chart"), steps.slice(start), {
    label: (i) => when(entries[start + i].clock, format),
  });
  const rows = entries.map((e, i) => el("tr", {},
    el("td", {}, when(e.capture_time || e.clock)),
    el("td", { class: "num mono" }, m3(e.value_m3)),
    el("td", { class: "num mono" }, steps[i] === null ? "—" : steps[i].toFixed(3)),
    el("td", { class: (e.status || []).length ? "bad" : "muted" }, (e.status || []).join(", ") || "ok"),
  )).reverse();
  $("#profile-table tbody").replaceChildren(...rows);
}

function renderEmeter(emeter) {
  $("#emeter-id").textContent = emeter.id || "";
  const channel = gasChannel(emeter);
  facts($("#emeter-facts"), [
    ["power", emeter.power_kw !== undefined && emeter.power_kw !== null ? `${emeter.power_kw} kW` : "—", "mono"],
    [`gas, channel ${channel.channel ?? 1}`, channel.value_m3 ? `${channel.value_m3} m³` : "no value yet", "mono"],
    ["captured", when(channel.capture_time)],
    ["gas meter", channel.equipment_id || "—", "mono"],
  ]);
}

// -- gas meter clock: drift, deviation, P2 synchronisation (DSMR-M 4.5.89; P2 §6.2.1, §6.2.4) -------------
function renderGasClock(meters) {
  const meter = meters[0];
  if (!meter) {
    facts($("#gas-clock-facts"), [["gas meter", "none coupled"]]);
    facts($("#gas-clock-sync"), []);
    return;
  }
  const signed = (s) => `${Number(s) > 0 ? "+" : ""}${s} s`;
  const far = Math.abs(Number(meter.vs_emeter_s)) > 60;
  facts($("#gas-clock-facts"), [
    ["vs true time", signed(meter.deviation_s), "mono"],
    ["vs E-meter", signed(meter.vs_emeter_s), far ? "mono bad" : "mono"],
    ["drift", `${meter.drift_ppm} ppm`, "mono"],
    ["status bit 5", meter.clock_sync_error ? "set (> 60 s)" : "clear", meter.clock_sync_error ? "bad" : ""],
  ]);
  facts($("#gas-clock-sync"), [
    ["last P2 sync", meter.last_sync ? when(meter.last_sync) : "not yet"],
    ["reason", meter.last_reason ?? "—"],
    ["next", meter.pending ? `pending: ${meter.pending}` : "daily after 00:01 read"],
    ["failed", String(meter.failures), meter.failures ? "bad" : "muted"],
  ]);
}

// -- ground truth vs P1 -------------------------------------------------------------------------------
async function refreshTruth() {
  const result = await api("GET", "/api/truth?hours=48");
  if (!result.ok) return;
  const hours = result.data;
  const truth = hours.map((h) => num(h.consumed_m3));
  const implied = deltas(hours.map((h) => num(h.p1_value_m3)));
  barChart($("#truth-chart"), truth, { line: implied, label: (i) => when(hours[i].hour, hourFormat) });
  const rows = hours.map((h) => {
    const p1 = num(h.p1_value_m3);
    const index = num(h.index_m3);
    const diff = p1 === null || index === null ? null : p1 - index;
    return el("tr", {},
      el("td", {}, when(h.hour)),
      el("td", { class: "num mono" }, m3(h.consumed_m3)),
      el("td", { class: "num mono" }, m3(h.index_m3)),
      el("td", { class: `num mono ${p1 === null ? "bad" : ""}` }, p1 === null ? "missing" : m3(p1)),
      el("td", { class: `num mono ${diff ? "bad" : "muted"}` }, diff === null ? "—" : diff.toFixed(3)),
    );
  }).reverse();
  $("#truth tbody").replaceChildren(...rows);
}

function renderTruth(truth, meter, emeter) {
  const channel = gasChannel(emeter);
  facts($("#truth-facts"), [
    ["true gas, total", `${m3(truth.total_m3)} m³`, "mono"],
    ["meter index", `${meter.index_m3 ?? "—"} m³`, "mono"],
    ["last hour", truth.last_hour ? `${m3(truth.last_hour.consumed_m3)} m³` : "—", "mono"],
    ["P1 shows", channel.value_m3 ? `${channel.value_m3} m³` : "—", "mono"],
  ]);
}

// -- P1 telegrams with their CRC (CRC-16/ARC over '/' … '!', [P1-4.2.2 §5.2]) --------------------------
let telegrams = [];
let pinned = null;

function crc16arc(text) {
  let crc = 0;
  for (let i = 0; i < text.length; i++) {
    crc ^= text.charCodeAt(i) & 0xff;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc.toString(16).toUpperCase().padStart(4, "0");
}

function splitCrc(text) {
  const bang = text.lastIndexOf("!");
  if (bang < 0) return { covered: text, sent: null };
  return { covered: text.slice(0, bang + 1), sent: text.slice(bang + 1).trim() || null };
}

async function refreshTelegrams() {
  const after = telegrams.length ? telegrams[telegrams.length - 1].seq : 0;
  const result = await api("GET", `/api/p1/telegrams?after_seq=${after}`);
  if (!result.ok) return;
  const last = telegrams.length ? telegrams[telegrams.length - 1].seq : 0; // another poll may have come first
  const fresh = result.data.filter((t) => t.seq > last);
  if (fresh.length === 0) return;
  telegrams = telegrams.concat(fresh).slice(-30);
  renderTelegrams();
}

function renderTelegrams() {
  const current = telegrams.find((t) => t.seq === pinned) || telegrams[telegrams.length - 1];
  if (!current) return;
  const { covered, sent } = splitCrc(current.text);
  let computed = crc16arc(covered);
  if (sent && computed !== sent.toUpperCase().padStart(4, "0") && !covered.includes("\r")) {
    computed = crc16arc(covered.replace(/\n/g, "\r\n")); // a stream that lost its CR characters
  }
  const verdict = current.crc_ok === true ? "ok" : current.crc_ok === false ? "bad" : "none";
  const line = $("#crc-line");
  line.className = `crc-line crc-${verdict}`;
  line.replaceChildren(
    el("span", { class: "crc-badge" }, verdict === "ok" ? "CRC ok" : verdict === "bad" ? "CRC error" : "no CRC"),
    el("span", {}, `#${current.seq} · ${when(current.at, timeFormat)}`),
    el("span", { class: "mono" }, `sent ${sent ?? "—"} · computed ${computed}`),
  );
  const pre = $("#telegram");
  pre.replaceChildren(...current.text.replace(/\r/g, "").split("\n").map((row) => {
    const cls = row.startsWith("!") ? `crc crc-${verdict}` : row.startsWith(`0-${profileChannel}:24.2.`) ? "gas" : "";
    return el("span", { class: cls }, `${row}\n`);
  }));
  $("#telegrams tbody").replaceChildren(...telegrams.slice().reverse().map((t) => {
    const row = el("tr", { class: t.seq === current.seq ? "selected" : "" },
      el("td", { class: "num mono" }, t.seq),
      el("td", {}, when(t.at, stampFormat)),
      el("td", { class: "mono" }, splitCrc(t.text).sent ?? "—"),
      el("td", { class: t.crc_ok === false ? "bad" : "ok" }, t.crc_ok === false ? "✗" : t.crc_ok ? "✓" : "·"),
    );
    row.addEventListener("click", () => { pinned = t.seq === pinned ? null : t.seq; renderTelegrams(); });
    return row;
  }));
}

// -- events: kept here from /api/events?after_seq=… so the routine ones can be hidden ---------------------
const ALERTS = /Seal|Fault|Battery(Low|Empty)|Refused|Locked|Error|Failed|Alarm|Tamper|Replaced|Decoupled/;
const ROUTINE = /^(ReadingChanged|HourlyValueStored|ProfileEntryFiled|TariffSwitched)$/;
const EVENT_LOG = 1000;
const EVENT_ROWS = 100;
let eventLog = [];

async function refreshEvents() {
  const after = eventLog.length ? eventLog[eventLog.length - 1].seq : 0;
  const result = await api("GET", `/api/events?after_seq=${after}`);
  if (!result.ok) return;
  const last = eventLog.length ? eventLog[eventLog.length - 1].seq : 0; // another poll may have come first
  const fresh = result.data.filter((e) => e.seq > last);
  if (fresh.length) eventLog = eventLog.concat(fresh).slice(-EVENT_LOG);
  renderEvents();
}

function renderEvents() {
  const routine = $("#show-routine").checked;
  const shown = eventLog.filter((e) => routine || !ROUTINE.test(e.kind)).slice(-EVENT_ROWS).reverse();
  $("#events-count").textContent = `${shown.length} shown of ${eventLog.length}`;
  $("#events tbody").replaceChildren(...shown.map((e) => el("tr", { class: ALERTS.test(e.kind) ? "alert" : "" },
    el("td", { class: "num mono muted" }, e.seq),
    el("td", {}, when(e.at, stampFormat)),
    el("td", { class: "muted" }, String(e.source ?? "").replace(/_/g, " ")),
    el("td", { class: "kind" }, e.kind),
    el("td", { class: "detail", title: detailText(e.detail) }, detailText(e.detail)),
  )));
}

// -- controls -------------------------------------------------------------------------------------------
async function act(path, body, done, { quiet = false } = {}) {
  const result = await api("POST", path, body);
  if (result.ok) toast(done);
  else if (!quiet) toast(result.data?.message || `HTTP ${result.status}`, result.status === 409 ? "refused" : "error");
  await refresh();
  await refreshEvents();
  return result;
}

function setupControls() {
  $("#break-seal").addEventListener("click", () => act("/api/meter/seal/break", undefined, "seal broken"));
  $("#reseal").addEventListener("click", () => act("/api/meter/seal/restore", { operator: $("#operator").value }, "resealed"));
  $$("[data-valve]").forEach((b) => b.addEventListener("click", async () => {
    const result = await act("/api/meter/valve", { action: b.dataset.valve }, "valve command accepted", { quiet: true });
    const box = $("#valve-result");
    box.hidden = false;
    box.className = result.status === 409 ? "refusal" : "refusal refusal-other";
    box.textContent = `${b.dataset.valve}: ${result.status === 409 ? "refused — " : ""}${result.data?.message ?? ""}`;
  }));
  const temp = $("#gas-temp");
  temp.addEventListener("input", () => {
    temp.dataset.touched = "yes"; // from now on the slider is the user's, not the meter's
    $("#gas-temp-out").textContent = `${temp.value} °C`;
  });
  $("#set-temp").addEventListener("click", () => act("/api/meter/gas-temperature", { celsius: Number(temp.value) }, `gas at ${temp.value} °C`));
  $("#household-temp").addEventListener("click", () => act("/api/meter/gas-temperature", { celsius: null }, "gas temperature: household's"));
  $$("[data-drain]").forEach((b) => b.addEventListener("click", () => act("/api/meter/battery/drain", { fraction: Number(b.dataset.drain) }, "battery drained")));
  $$("[data-speed]").forEach((b) => b.addEventListener("click", () => {
    const speed = b.dataset.speed === "max" ? null : Number(b.dataset.speed);
    act("/api/clock/speed", { speed }, `speed ${speedText(speed)}`);
  }));
  $$("[data-jump]").forEach((b) => b.addEventListener("click", async () => {
    await act("/api/clock/jump", { seconds: Number(b.dataset.jump) }, `clock ${b.textContent}`);
    await Promise.all([refreshProfile(), refreshTruth(), refreshTelegrams()]);
  }));
  $$("#faults tr").forEach((row) => {
    const input = $("input", row);
    const cell = el("td", {});
    const apply = el("button", { type: "button", class: "btn" }, "Inject");
    const clear = el("button", { type: "button", class: "btn btn-quiet" }, "Clear");
    cell.append(apply, clear);
    row.append(cell);
    const kind = row.dataset.fault;
    apply.addEventListener("click", () => {
      const value = input.type === "checkbox" ? input.checked : Number(input.value);
      act("/api/faults", { kind, value }, `fault ${kind}: ${value}`).then((r) => r.ok && row.classList.add("active"));
    });
    clear.addEventListener("click", () => {
      act("/api/faults", { kind, value: false }, `fault ${kind} cleared`).then((r) => r.ok && row.classList.remove("active"));
    });
  });
  $("#show-routine").addEventListener("change", renderEvents);
  $$(".tab").forEach((tab) => tab.addEventListener("click", () => {
    profileKind = tab.dataset.profile;
    $$(".tab").forEach((t) => t.classList.toggle("active", t === tab));
    refreshProfile();
  }));
}

// -- the central system (meterkast run --cs): what it read, what consent made it refuse (SYSTEM C2) ------
const PROFILE_NAMES = { interval: "hourly", daily: "daily", monthly: "monthly" };
const profileName = (type) => PROFILE_NAMES[type] ?? type;

function emptyRow(columns, text) {
  return el("tr", {}, el("td", { class: "empty", colspan: columns }, text));
}

function readEntries(read) {
  const format = read.period_type === "monthly" ? monthFormat : read.period_type === "daily" ? dayFormat : shortFormat;
  const first = when(read.first, format);
  return read.first === read.last ? first : `${first} … ${when(read.last, format)} (${read.planned})`;
}

function renderCs(cs) {
  const chip = $("#cs-state");
  chip.textContent = cs.enabled ? "running" : "off";
  chip.className = `chip ${cs.enabled ? "chip-ok" : ""}`;
  $("#cs-off").hidden = !!cs.enabled;
  $("#cs-on").hidden = !cs.enabled;
  $("#cs-where").textContent = cs.enabled ? `reads ${cs.emeter ?? "the E-meter"} at ${cs.p3 ?? "—"}` : "";
  if (!cs.enabled) return;
  const consent = $("#cs-consent");
  consent.textContent = cs.consent ?? "—";
  consent.className = `chip ${cs.consent === "none" ? "chip-bad" : "chip-ok"}`;
  $$("#consents [data-consent]").forEach((b) => b.classList.toggle("active", b.dataset.consent === cs.consent));
  $("#cs-history").textContent = (cs.consent_history || [])
    .map((c) => `${c.level} from ${when(c.valid_from)}`).join(" → ");
  const stats = cs.stats || {};
  facts($("#cs-facts"), [
    ["connection (EAN)", cs.connection ?? "—", "mono"],
    ["contacts", `${stats.contacts ?? 0}${stats.failures ? ` · ${stats.failures} failed` : ""}`, stats.failures ? "bad" : ""],
    ["rows stored", String(stats.rows_stored ?? 0), "mono"],
    ["refused for consent", String(cs.refused_total ?? 0), cs.refused_total ? "bad" : ""],
    ["open alarms", String((cs.open_alarms || []).length), (cs.open_alarms || []).length ? "bad" : ""],
    ["next round", when(cs.next_round)],
  ]);
  const reads = cs.last_reads || [];
  $("#cs-reads-count").textContent = reads.length ? `newest ${reads.length}` : "";
  $("#cs-reads tbody").replaceChildren(...(reads.length ? reads.map((r) => el("tr", {},
    el("td", {}, when(r.at, stampFormat)),
    el("td", {}, `${profileName(r.period_type)} · ch ${r.channel}`),
    el("td", { class: "mono" }, readEntries(r)),
    el("td", { class: "num mono" }, `${r.stored}${r.repeated ? ` (+${r.repeated} again)` : ""}${r.unavailable ? ` · ${r.unavailable} without value` : ""}`),
  )) : [emptyRow(4, cs.consent === "none" ? "nothing: no consent for consumption data" : "nothing read yet")]));
  const refused = cs.refused || [];
  $("#cs-refused-count").textContent = refused.length ? `${cs.refused_total} refused reads` : "";
  $("#cs-refused tbody").replaceChildren(...(refused.length ? refused.map((r) => el("tr", { title: `from ${when(r.first_at)}` },
    el("td", { class: "kind" }, profileName(r.period_type)),
    el("td", {}, r.consent),
    el("td", {}, r.required),
    el("td", { class: "num mono" }, r.times),
    el("td", {}, when(r.last_at)),
  )) : [emptyRow(5, "nothing refused")]));
  const alarms = cs.open_alarms || [];
  $("#cs-alarms-count").textContent = alarms.length ? String(alarms.length) : "";
  $("#cs-alarms tbody").replaceChildren(...(alarms.length ? alarms.map((a) => el("tr", {},
    el("td", {}, when(a.raised_at)),
    el("td", { class: "mono" }, a.channel === 0 ? "E-meter" : `M-Bus ${a.channel}`),
    el("td", { class: "kind" }, `${a.kind}${a.acknowledged_at ? " (acknowledged)" : ""}`),
  )) : [emptyRow(3, "none")]));
}

async function refreshCs() {
  const result = await api("GET", "/api/cs");
  if (result.ok) renderCs(result.data);
}

function setupCs() {
  $$("#consents [data-consent]").forEach((b) => b.addEventListener("click", async () => {
    const level = b.dataset.consent;
    const result = await api("POST", "/api/cs/consent", { level });
    if (result.ok) toast(`consent ${level} from ${when(result.data.valid_from, timeFormat)}`);
    else toast(result.data?.message || `consent: HTTP ${result.status}`, result.status === 409 ? "refused" : "error");
    await refreshCs();
  }));
}

// -- polling --------------------------------------------------------------------------------------------
let lastSlow = 0;

async function refresh() {
  const result = await api("GET", "/api/state");
  const conn = $("#conn");
  if (!result.ok) {
    conn.textContent = "installation unreachable";
    conn.className = "chip chip-bad";
    return;
  }
  conn.textContent = "live";
  conn.className = "chip chip-ok";
  const state = result.data;
  renderClock(state.clock || {});
  renderMeter(state.gas_meter || {});
  renderEmeter(state.emeter || {});
  renderMbusChannels(state.emeter || {});
  renderGasClock(state.gas_clock || []);
  renderTruth(state.truth || {}, state.gas_meter || {}, state.emeter || {});
  $("#p1-version").textContent = state.p1 ? `DSMR ${state.p1.version}${state.p1.port ? ` · tcp port ${state.p1.port}` : ""}` : "";
  document.body.dataset.ready = "true";
}

async function loop() {
  await refresh();
  await Promise.all([refreshTelegrams(), refreshEvents(), refreshCs()]);
  if (Date.now() - lastSlow > SLOW_POLL_MS) {
    lastSlow = Date.now();
    await Promise.all([refreshProfile(), refreshTruth()]);
  }
  setTimeout(loop, POLL_MS);
}

// -- the devices on the E-meter's M-Bus channels (Liander manual §8; [P1-4.2.2 §6.3–6.5]) -------------
// Channels follow the order of installation, so gas need not be on 0-1: the gas views above use the
// channel whose device type is 003, and this table shows what is on every channel.
const DEVICE_NAMES = { 2: "electricity", 3: "gas", 4: "heat", 7: "water" };
let profileChannel = 1;

function gasChannel(emeter) {
  const channels = emeter.channels || [];
  const gas = channels.find((c) => (c.device_type ?? 3) === 3) || {};
  if (gas.channel) profileChannel = gas.channel;
  return gas;
}

function renderMbusChannels(emeter) {
  const rows = (emeter.channels || []).map((c) => {
    const type = c.device_type ?? 3;
    const name = c.kind || DEVICE_NAMES[type] || "unknown";
    return el("tr", { "data-kind": name },
      el("td", { class: "num mono" }, `0-${c.channel}`),
      el("td", {}, `${name} `, el("span", { class: "muted mono" }, String(type).padStart(3, "0"))),
      el("td", { class: "mono" }, c.equipment_id || "—"),
      el("td", { class: "num mono" }, c.value_m3 ? `${c.value_m3} ${c.unit === "m3" || !c.unit ? "m³" : c.unit}` : "no value yet"),
      el("td", {}, when(c.capture_time)),
    );
  });
  $("#mbus-channels tbody").replaceChildren(...(rows.length ? rows : [emptyRow(5, "no M-Bus device coupled")]));
}

buildLcd();
setupButton();
setupControls();
setupCs();
loop();

// -- access beyond loopback (issue 15; docs/web.md "Access") ---------------------------------------------
// Logged in, the page holds two cookies: the session (HttpOnly, unseen here) and the CSRF value, which a
// control call echoes in X-CSRF-Token (double submit). On loopback there are neither and nothing is sent.
// Cookies are per host, not per port: another meterkast on this machine has its own meterkast_csrf_<tag>
// cookie here too, so every one is sent, comma-separated, and the server takes its own (web/auth.py).
function accessHeaders(method) {
  if (method === "GET" || method === "HEAD") return {};
  const values = document.cookie.split("; ").filter((c) => c.startsWith("meterkast_csrf_"))
    .map((c) => decodeURIComponent(c.slice(c.indexOf("=") + 1)));
  return values.length ? { "X-CSRF-Token": values.join(",") } : {};
}

function toLogin() {
  if (!toLogin.going) {
    toLogin.going = true;
    window.location.assign("/login");
  }
}

// -- the supplier's invoice view (SYSTEM G4; manual §9 Drukaanpassing): GET /api/supplier/{kind}?by= -------
// Self-contained: its own state, its own timer. Figures are shown as the API gives them (decimal strings,
// rounded once on the server), never recomputed in floating point here.
const supplier = { kind: "daily", by: "reading" };
const SUPPLIER_FORMATS = { reading: null, day: dayFormat, month: monthFormat };
const SUPPLIER_DATE = new Intl.DateTimeFormat("en-GB", { timeZone: ZONE, day: "numeric", month: "short", year: "numeric" });

function supplierPeriod(p) {
  const format = SUPPLIER_FORMATS[supplier.by] || (supplier.kind === "hourly" ? shortFormat
    : supplier.kind === "daily" ? dayFormat : monthFormat);
  return `${when(p.start, format)} → ${when(p.end, format)}`;
}

function renderSupplier(view) {
  const total = view.total;
  const cite = (name) => (view.parameters || []).filter((p) => p.name === name).pop();
  const factor = cite("pressure_factor");
  const hs = cite("calorific_value");
  facts($("#supplier-facts"), [
    ["metered", total ? `${total.metered_m3} m³` : "—", "mono"],
    ["corrected", total ? `${total.corrected_m3} m³(n)` : "—", "mono"],
    ["energy", total ? `${total.energy_mj} MJ` : "—", "mono"],
    ["energy", total ? `${total.energy_kwh} kWh` : "—", "mono"],
    ["pressure factor", factor ? factor.value : "—", "mono"],
    ["calorific value", hs ? `${hs.value} ${hs.unit}` : "—", "mono"],
    ["periods", total ? String(total.periods) : "0", "mono"],
    ["span", total ? `${when(total.start)} → ${when(total.end)}` : "—"],
  ]);
  const periods = view.periods || [];
  $("#supplier-periods tbody").replaceChildren(...(periods.length ? periods.slice().reverse().map((p) => el("tr", {},
    el("td", { title: `${p.gas_meter}: ${p.index_start_m3} → ${p.index_end_m3} m³` }, supplierPeriod(p)),
    el("td", { class: "num mono" }, p.metered_m3),
    el("td", { class: "num mono" }, p.pressure_factor),
    el("td", { class: "num mono" }, p.corrected_m3),
    el("td", { class: "num mono" }, p.energy_mj),
    el("td", { class: "num mono" }, p.energy_kwh),
  )) : [emptyRow(6, "no period yet: the profile needs two values (jump the clock)")]));
  $("#supplier-parameters tbody").replaceChildren(...(view.parameters || []).map((p) => el("tr", {},
    el("td", {}, p.valid_from ? `${p.name}, from ${when(p.valid_from, SUPPLIER_DATE)}` : p.name),
    el("td", { class: "num mono" }, `${p.value} ${p.unit === "1" ? "" : p.unit}`),
    el("td", {}, p.source),
  )));
  const skipped = view.skipped || [];
  $("#supplier-note").textContent = `${view.rounding}.` +
    (skipped.length ? ` Not invoiced: ${skipped.map((s) => `${when(s.start)} → ${when(s.end)}: ${s.reason}`).join("; ")}` : "");
}

async function refreshSupplier() {
  const result = await api("GET", `/api/supplier/${supplier.kind}?by=${supplier.by}`);
  if (result.ok) renderSupplier(result.data);
}

function setupSupplier() {
  const choose = (selector, key, attr) => $$(selector).forEach((b) => b.addEventListener("click", () => {
    supplier[key] = b.dataset[attr];
    $$(selector).forEach((other) => other.classList.toggle("active", other === b));
    refreshSupplier();
  }));
  choose("#supplier-kinds [data-supplier-kind]", "kind", "supplierKind");
  choose("#supplier-bys [data-supplier-by]", "by", "supplierBy");
  refreshSupplier();
  setInterval(refreshSupplier, SLOW_POLL_MS);
}

setupSupplier();
