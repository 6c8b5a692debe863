/** The tab's application: state, polling the index, and redrawing the controls, the
 * grid and the compare view from the state. See index.js for the hooks it exposes. */

import {DIVERGING, lut} from "./colormaps.js";
import {Compare} from "./compare.js";
import {Controls} from "./controls.js";
import {el} from "./dom.js";
import {Grid} from "./grid.js";
import {metricNames} from "./metrics.js";
import {className} from "./predictions.js";
import {QualityPanel} from "./quality.js";
import {defaultColumns} from "./steps.js";

const POLL_MS = 5000;

const SNIPPET = `from tensorboard_picasso import PicassoCallback
model.fit(x, y, epochs=10, callbacks=[
    keras.callbacks.TensorBoard(log_dir),
    PicassoCallback(log_dir, images=x_probe, labels=y_probe)])`;

const byNumber = (a, b) => a - b;

/** The index with every step list sorted. */
function normaliseIndex(index) {
  return index.runs.map((run) => ({
    ...run,
    methods: (run.methods ?? []).map((m) => ({...m, steps: [...m.steps].sort(byNumber)})),
    prediction_steps: [...(run.prediction_steps ?? [])].sort(byNumber),
  }));
}

/** What the state selects, made valid for the current index: {runs, run, method, steps,
 * columns, focus, image}; `method` is absent when the run has no maps to show. */
function derive(runs, state) {
  const readable = runs.filter((r) => !r.error && r.methods.length);
  const run = runs.find((r) => r.run === state.run) ?? readable[0] ?? runs[0];
  const method = run.error ? undefined : run.methods.find((m) => m.method === state.method) ?? run.methods[0];
  if (!method?.steps.length) return {runs, run};
  const steps = method.steps;
  const picked = state.picked && steps.filter((s) => state.picked.has(s));
  const columns = picked?.length ? picked : defaultColumns(steps);
  const focus = steps.includes(state.focus) ? state.focus : steps.at(-1);
  const image = run.probes.some((p) => p.index === state.image) ? state.image : null;
  return {runs, run, method, steps, columns, focus, image};
}

/** Target options from a `maps` header: index j, with the class names it stands for. */
function targetOptions(run, header) {
  const count = Math.max(1, ...(header?.targets ?? []).map((t) => t.length));
  return Array.from({length: count}, (_, j) => {
    const names = [...new Set((header?.targets ?? []).map((t, i) =>
      j < t.length ? className(run, t[j], header.target_names?.[i]?.[j]) : null).filter((n) => n !== null))];
    const shown = names.length > 3 ? `${names.slice(0, 3).join(", ")}, …` : names.join(", ");
    return {value: j, label: shown ? `#${j + 1}: ${shown}` : `#${j + 1}`};
  });
}

export class App {
  /** `api`: the Api client (index.js starts the first index request with it). */
  constructor(api) {
    this.api = api;
    this.state = {run: null, method: null, target: 0, colormap: "viridis", opacity: 0.6,
      norm: "map", clip: 99, picked: null, focus: null, compare: null, sort: "", image: null};
    this.runs = null; // the normalised index, once loaded
    this.indexText = null;
    this.updates = 0;
    this.controls = new Controls((patch) => this.set(patch));
    this.grid = new Grid(this.api, (image, step) => this.pick(image, step),
      (image) => this.set({image, compare: this.state.compare && {...this.state.compare, image}}));
    this.compare = new Compare(this.api, (patch) =>
      this.set({compare: patch && {...this.state.compare, ...patch}}));
    this.message = el("div", {id: "picasso-message"});
    this.runErrors = el("div", {id: "run-errors"});
    this.quality = new QualityPanel();
    this.metrics = null; // see metricsOf()
    this.status = el("span", {id: "live-status"});
    document.body.replaceChildren(
      el("header", {class: "topbar"}, [el("h1", {text: "Picasso"}),
        el("span", {class: "subtitle", text: "what the model looks at, checkpoint by checkpoint"}), this.status]),
      this.runErrors, this.controls.root, this.quality.root, this.message, this.compare.root, this.grid.root);
    this.controls.root.hidden = true;
  }

  /** Shows the index `first` (a pending api.index()), then polls it: new checkpoints
   * appear without a reload. */
  async start(first) {
    await this.poll(first);
    setInterval(() => this.poll(), POLL_MS);
  }

  async poll(pending = this.api.index()) {
    let text;
    try {
      text = JSON.stringify(await pending);
    } catch (error) {
      this.status.textContent = `⚠ refresh failed: ${error.message}`;
      if (this.runs === null) {
        this.showMessage("picasso-error", "error", "Could not load the Picasso index",
          `${error.message}. Retrying every ${POLL_MS / 1000} s.`);
      }
      return;
    }
    this.status.textContent = `live · checked ${new Date().toLocaleTimeString()}`;
    if (text === this.indexText) return;
    this.indexText = text;
    this.runs = normaliseIndex(JSON.parse(text));
    await this.update();
  }

  set(patch) {
    if ("run" in patch || "method" in patch) patch = {target: 0, ...patch};
    // The compare view's image is the selected one.
    if (patch.compare) {
      const image = patch.compare.image ?? this.state.image ?? 0;
      patch = {...patch, image, compare: {...patch.compare, image}};
    }
    Object.assign(this.state, patch);
    return this.update();
  }

  /** A clicked grid cell opens the compare view: the previous column vs that step. */
  pick(image, step) {
    const {columns, steps} = derive(this.runs, this.state);
    const before = columns.filter((s) => s < step).at(-1) ?? steps[Math.max(0, steps.indexOf(step) - 1)];
    this.set({compare: {...this.state.compare, image, mode: "steps", stepA: before, stepB: step}});
    this.compare.root.scrollIntoView({block: "nearest"});
  }

  /** Redraws everything from the state; marks the body "ready" when the grid and compare
   * view are fully drawn, and its quality "ready" when the quality panel is. */
  async update() {
    const token = ++this.updates;
    if (!this.runs.length) {
      this.showMessage("picasso-empty", "empty", "No Picasso data yet",
        "No run in this log directory has Picasso maps. Add the callback to model.fit; " +
        "the tab fills in as checkpoints are logged:", SNIPPET);
      return;
    }
    const model = derive(this.runs, this.state);
    this.state.run = model.run.run;
    this.state.method = model.method?.method ?? null;
    this.runErrors.replaceChildren(...this.runs.filter((r) => r.error).map((r) =>
      el("p", {class: "message error run-error", text: `Run ${r.run}: ${r.error}`})));
    this.controls.root.hidden = false;
    this.controls.sync(this.state, model);
    if (!model.method) {
      this.showMessage("picasso-error", "error", `Nothing to show for run ${model.run.run}`,
        model.run.error ?? "This run has no maps yet.");
      return;
    }
    this.message.replaceChildren();
    document.body.dataset.picassoState = document.body.dataset.picassoQuality = "loading";
    const {run, method, focus, image} = model;
    const view = {
      runs: this.runs, run, method, columns: model.columns, focus, image,
      target: this.state.target, compare: this.state.compare, sort: this.state.sort,
      display: {table: lut(method.signed ? DIVERGING : this.state.colormap),
        opacity: this.state.opacity, norm: this.state.norm, clip: this.state.clip},
    };
    const targets = this.api.header(run.run, method.method, focus).then((header) => {
      if (token === this.updates) this.controls.syncTargets(targetOptions(run, header), this.state.target);
    }, () => {});
    const drawn = Promise.all([this.grid.render(view), this.compare.render(view), targets]);
    // Metrics already loaded sort the rows before their maps are drawn.
    const known = this.metricsOf(run, method)?.value;
    if (known) this.showQuality(view, known);
    await drawn;
    if (token !== this.updates) return;
    document.body.dataset.picassoState = "ready";
    if (known) return;
    // After the maps: the metrics route reads every checkpoint's header and is slow cold.
    const result = await this.metricsOf(run, method, true).result;
    if (token === this.updates) this.showQuality(view, result);
  }

  /** The metrics of a method: {key, result: Promise, value once settled}, each {metrics}
   * or {error}. Fetched again only when a step is added; undefined when not yet
   * fetched, unless `fetch`. */
  metricsOf(run, method, fetch = false) {
    const key = JSON.stringify([run.run, method.method, method.steps.at(-1)]);
    if (this.metrics?.key !== key && fetch) {
      const entry = {key};
      entry.result = this.api.metrics(run.run, method.method).then(
        (metrics) => ({metrics}), (error) => ({error: error.message})).then((value) => (entry.value = value));
      this.metrics = entry;
    }
    return this.metrics?.key === key ? this.metrics : undefined;
  }

  /** Shows a `metrics` result: the quality panel, badges and row order, sort choices. */
  showQuality(view, result) {
    if (result.metrics) {
      this.grid.annotate(view, result.metrics);
      this.controls.syncSort(metricNames(result.metrics), this.state.sort);
    }
    this.quality.render(view, result);
    document.body.dataset.picassoQuality = "ready";
  }

  /** Shows a message instead of the grid (with an optional code snippet). */
  showMessage(id, state, title, text, code = null) {
    this.grid.clear();
    this.compare.clear();
    this.quality.clear();
    delete document.body.dataset.picassoQuality;
    if (state === "empty") this.controls.root.hidden = true;
    this.message.replaceChildren(el("div", {id, class: "message-box"}, [
      el("h2", {text: title}), el("p", {text}), ...(code ? [el("pre", {}, [el("code", {text: code})])] : []),
    ]));
    document.body.dataset.picassoState = state;
  }
}
