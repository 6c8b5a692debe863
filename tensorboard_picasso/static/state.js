/** The tab's view state, its defaults, and its form in TensorBoard's URL (`p.picasso.<key>`
 * entries, see host.js): a reload or a shared link opens the same view. Settings a user
 * tunes for their eyes (colormap, opacity) are also remembered in localStorage; a URL's
 * values win over them. */

import {SEQUENTIAL} from "./colormaps.js";
import {SCOPES} from "./scale.js";

/** The state. `run`, `method`, `target` and `step` null: chosen from the data (the most
 * recently written run, its first method, the default target, the newest step, which
 * the slider then follows as training goes on). `compare`: null (closed) or {mode:
 * "steps" | "runs", a, b (steps, or run names), at (the step of a run-vs-run view),
 * cls (the class compared; null = the image's true class), stretch (boolean)}. */
export const DEFAULTS = Object.freeze({
  run: null, method: null, target: null, step: null, image: null, columns: "auto",
  compare: null, scale: "image", clip: 99, colormap: "viridis", opacity: 0.6, sort: "",
  filter: "all",
});

const REMEMBERED = ["colormap", "opacity"];
const STORAGE_KEY = "picasso.display";
const INT = /^-?[0-9]{1,10}$/;

const int = (text) => (INT.test(text) ? Number(text) : undefined);
const oneOf = (values) => (text) => (values.includes(text) ? text : undefined);
const matching = (pattern) => (text) => (pattern.test(text) ? text : undefined);

/** URL key -> parse(text) (undefined: ignored). */
const PARSERS = {
  run: String, method: String, step: int, image: int,
  target: matching(/^(predicted|true|top[0-9]{1,3}|class[0-9]{1,6})$/),
  columns: matching(/^(auto|all|none|range:-?[0-9]{1,10}:-?[0-9]{1,10}:[0-9]{1,6}|list:-?[0-9]{1,10}(,-?[0-9]{1,10}){0,999})$/),
  scale: oneOf(Object.keys(SCOPES)),
  clip: (text) => [90, 95, 98, 99, 99.5, 99.9, 100].find((level) => String(level) === text),
  colormap: oneOf(SEQUENTIAL),
  opacity: (text) => (/^(0(\.[0-9]+)?|1(\.0+)?)$/.test(text) ? Number(text) : undefined),
  sort: matching(/^[a-z_]{1,40}$/),
  filter: matching(/^(all|wrong|class[0-9]{1,6})$/),
};

/** The compare spec from URL data, or null. */
function parseCompare(data) {
  const mode = oneOf(["steps", "runs"])(data.compare);
  if (!mode) return null;
  const side = mode === "steps" ? int : String;
  return {mode, a: data.a === undefined ? null : side(data.a) ?? null, b: data.b === undefined ? null : side(data.b) ?? null,
    at: int(data.at ?? "") ?? null, cls: int(data.class ?? "") ?? null, stretch: data.stretch === "1"};
}

/** The state a URL's plugin data ({key: text}) and the remembered settings give. */
export function initialState(data) {
  const state = {...DEFAULTS, ...remembered()};
  for (const [key, parse] of Object.entries(PARSERS)) {
    const value = data[key] === undefined ? undefined : parse(data[key]);
    if (value !== undefined) state[key] = value;
  }
  state.compare = parseCompare(data);
  return state;
}

/** The URL plugin data of `state`: its values that differ from the defaults, as text. */
export function urlData(state) {
  const data = {};
  for (const key of Object.keys(PARSERS)) {
    if (state[key] !== null && state[key] !== DEFAULTS[key]) data[key] = String(state[key]);
  }
  const compare = state.compare;
  if (compare) {
    Object.assign(data, {compare: compare.mode});
    for (const [key, value] of [["a", compare.a], ["b", compare.b], ["at", compare.at], ["class", compare.cls]]) {
      if (value !== null && value !== undefined) data[key] = String(value);
    }
    if (compare.stretch) data.stretch = "1";
  }
  return data;
}

function remembered() {
  try {
    const saved = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? "{}");
    return Object.fromEntries(REMEMBERED.filter((key) => typeof saved[key] === typeof DEFAULTS[key])
      .map((key) => [key, saved[key]]).filter(([key, value]) => PARSERS[key](String(value)) !== undefined));
  } catch {
    return {};
  }
}

/** Remembers the display settings of `state` for the next visit. */
export function remember(state) {
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(Object.fromEntries(REMEMBERED.map((key) => [key, state[key]]))));
  } catch {
    // storage may be disabled: the setting lasts for this visit only
  }
}
