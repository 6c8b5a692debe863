/** The tab's application: the state (state.js, kept in TensorBoard's URL), the index
 * (refreshed when TensorBoard reloads its data), and one render loop: any change of the
 * state or any data that arrives schedules one render per animation frame, in which the
 * controls, the grid, the compare view and the quality panel each update only what
 * changed. */

import {DIVERGING} from "./colormaps.js";
import {AHEAD} from "./api.js";
import {Compare} from "./compare.js";
import {Controls} from "./controls.js";
import {el} from "./dom.js";
import {Grid} from "./grid.js";
import {metricNames, worstFirst, worstLabel} from "./metrics.js";
import {rangeTicks} from "./paint.js";
import {className, top1} from "./predictions.js";
import {QualityPanel} from "./quality.js";
import {rangeOf, viewBound} from "./scale.js";
import {initialState, remember, urlData} from "./state.js";
import {columnsOf} from "./steps.js";
import {defaultTarget, targetChoices} from "./targets.js";

const URL_DELAY_MS = 250; // the URL follows the state once it rests this long
const PREFETCH = 2; // steps on each side of the slider's fetched ahead

const SNIPPET = `from tensorboard_picasso import PicassoCallback
model.fit(x, y, epochs=10, callbacks=[
    keras.callbacks.TensorBoard(log_dir),
    PicassoCallback(log_dir, images=x_probe, labels=y_probe)])`;

const byNumber = (a, b) => a - b;

/** The index's runs with sorted step lists (and versions in the same order). */
function normaliseIndex(index) {
  return index.runs.map((run) => {
    const methods = (run.methods ?? []).map((m) => {
      const order = m.steps.map((_, i) => i).sort((i, j) => m.steps[i] - m.steps[j]);
      return {...m, steps: order.map((i) => m.steps[i]), versions: order.map((i) => m.versions?.[i] ?? 0)};
    });
    const order = (run.prediction_steps ?? []).map((_, i) => i).sort((i, j) => run.prediction_steps[i] - run.prediction_steps[j]);
    return {...run, methods, prediction_steps: order.map((i) => run.prediction_steps[i]),
      prediction_versions: order.map((i) => run.prediction_versions?.[i] ?? 0), probes: run.probes ?? []};
  });
}

export class App {
  /** `api`: the Api client; `host`: the TensorBoard bridge (host.js). */
  constructor(api, host) {
    this.api = api;
    this.host = host;
    api.onSettle = () => this.schedule();
    this.state = initialState(host.urlData());
    this.runs = null;
    this.indexText = null;
    this.runNames = null;
    this.known = new Map(); // "run\nmethod" -> the newest series that arrived
    this.controls = new Controls((patch) => this.set(patch));
    this.grid = new Grid(api, {onPick: (image, step) => this.pick(image, step),
      onSelect: (image) => this.set({image}), onScroll: () => this.schedule()});
    this.compare = new Compare(api, {onChange: (patch) => this.changeCompare(patch), onImage: (image) => this.set({image})});
    this.quality = new QualityPanel((step) => this.set({step: this.latest(step)}));
    this.message = el("div", {id: "picasso-message"});
    this.runErrors = el("div", {id: "run-errors"});
    this.status = el("span", {id: "live-status", role: "status"});
    document.body.replaceChildren(
      el("header", {class: "topbar"}, [el("h1", {text: "Picasso"}),
        el("span", {class: "subtitle", text: "what the model looks at, checkpoint by checkpoint"}), this.status]),
      this.runErrors, this.controls.root, this.quality.root, this.message,
      el("main", {class: "workspace"}, [this.grid.root, this.compare.root]), this.compare.enlarged.root);
    this.controls.root.hidden = true;
    this.applyTheme(host.theme());
    host.onThemeChange((theme) => this.applyTheme(theme));
    host.onDataReloaded(() => this.refresh());
    host.onRunsChanged(() => this.refreshRunNames());
    host.onVisibilityChange((visible) => {
      if (visible && this.stale) this.refresh();
      else if (visible) this.schedule(); // TensorBoard's run selection may have changed meanwhile
    });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.state.compare && !document.querySelector("dialog[open]")) {
        event.preventDefault();
        this.changeCompare(null);
      }
    });
  }

  /** Shows the index `first` (a pending api.index()). Later refreshes follow TensorBoard's
   * reloads: the tab never polls on its own. */
  async start(first) {
    await Promise.all([this.load(first), this.refreshRunNames()]);
  }

  async refreshRunNames() {
    this.runNames = await this.host.runNames();
    this.schedule();
  }

  /** TensorBoard reloaded its data: fetch the index again (once shown, if hidden now). */
  refresh() {
    if (!this.host.visible()) {
      this.stale = true;
      return;
    }
    this.stale = false;
    this.api.retryFailed();
    this.load(this.api.index());
  }

  async load(pending) {
    let text;
    try {
      text = JSON.stringify(await pending);
    } catch (error) {
      this.status.textContent = `⚠ refresh failed: ${error.message}`;
      if (this.runs === null) {
        this.showMessage("picasso-error", "error", "Could not load the Picasso index",
          `${error.message}. The tab tries again when TensorBoard reloads its data (its reload button).`);
      }
      return;
    }
    this.status.textContent = `updated ${new Date().toLocaleTimeString()} · follows TensorBoard's reload`;
    if (text === this.indexText) return;
    this.indexText = text;
    this.runs = normaliseIndex(JSON.parse(text));
    this.schedule();
  }

  applyTheme(theme) {
    document.documentElement.dataset.theme = theme;
    this.theme = theme;
    this.schedule();
  }

  /** Merges `patch` into the state and renders (once per frame). */
  set(patch) {
    Object.assign(this.state, patch);
    if ("colormap" in patch || "opacity" in patch) remember(this.state);
    this.schedule();
    clearTimeout(this.urlTimer);
    this.urlTimer = setTimeout(() => this.host.setUrlData(urlData(this.state)), URL_DELAY_MS);
  }

  /** `step` as the state keeps it: null for the newest (the slider then follows training). */
  latest(step) {
    const steps = this.current?.method?.steps ?? [];
    return step === steps.at(-1) ? null : step;
  }

  changeCompare(patch) {
    const closing = patch === null && this.state.compare;
    this.set({compare: patch && {...this.state.compare, ...patch}});
    if (closing) requestAnimationFrame(() => this.grid.restoreFocus());
  }

  /** A chosen grid cell opens its comparison: the previous column (or logged step) vs it. */
  pick(image, step) {
    const {columns, method} = this.current;
    const steps = method.steps;
    const before = columns.slice(1).filter((s) => s < step).at(-1) ?? steps[Math.max(0, steps.indexOf(step) - 1)];
    this.set({image, compare: {mode: "steps", a: before, b: step, at: null, cls: null, stretch: false}});
  }

  schedule() {
    if (this.frameRequested) return;
    this.frameRequested = true;
    requestAnimationFrame(() => {
      this.frameRequested = false;
      this.render();
    });
  }

  /** The runs shown: Picasso runs selected in TensorBoard's run selector. */
  shownRuns() {
    const selection = this.host.runSelection(this.runNames);
    this.colour = selection.colour;
    return this.runs.filter((run) => selection.selected(run.run));
  }

  /** The series of `run` for the shown method: the newest that arrived, and fetched again
   * when the index lists new steps or versions. */
  seriesOf(run, method) {
    const entry = run.methods.find((m) => m.method === method);
    if (!entry) return null;
    const signature = JSON.stringify([entry.steps, entry.versions]);
    const request = this.api.series(run.run, method, signature);
    const key = `${run.run}\n${method}`;
    if (request.status === "ready") this.known.set(key, request.value);
    return this.known.get(key) ?? null;
  }

  /** Everything the views show, derived from the state and the data. */
  view() {
    const state = this.state;
    const runs = this.shownRuns();
    const readable = runs.filter((r) => !r.error && r.methods.length);
    const newest = [...readable].sort((a, b) => (b.last_written ?? 0) - (a.last_written ?? 0))[0];
    const run = runs.find((r) => r.run === state.run) ?? newest ?? runs[0];
    const view = {runs, run, theme: this.theme, colour: (name) => this.colour(name)};
    if (!run || run.error) return view;
    const method = run.methods.find((m) => m.method === state.method) ?? run.methods[0];
    if (!method?.steps.length) return view;
    const steps = method.steps;
    const focus = steps.includes(state.step) ? state.step : steps.at(-1);
    const version = (step) => method.versions[steps.indexOf(step)] ?? 0;
    const predictionsAt = (step) => {
      const i = run.prediction_steps.indexOf(step);
      return i < 0 ? null : this.api.predictions(run.run, step, run.prediction_versions[i]);
    };
    const series = this.seriesOf(run, method.method);
    const choices = series ? targetChoices(run, series, predictionsAt(focus)) : [];
    const target = choices.some((c) => c.value === state.target) || state.target?.startsWith("top")
      ? state.target : defaultTarget(choices);
    const names = series ? metricNames(series) : [];
    const sort = names.includes(state.sort) ? state.sort : "";
    const {rows, filterChoices, filter, emptyReason} = this.rows(run, series, focus, predictionsAt(focus), sort);
    const signed = method.signed;
    return {
      ...view, method, steps, focus, version, predictionsAt, series, target,
      targetChoices: choices.length ? choices : [{value: target, label: "…"}],
      columns: [focus, ...columnsOf(state.columns, steps)], rows, filter, filterChoices, emptyReason,
      sort, sortChoices: [{value: "", label: "probe order"}, ...names.map((n) => ({value: n, label: worstLabel(series, n)}))],
      image: run.probes.some((p) => p.index === state.image) ? state.image : null,
      scale: state.scale, clip: state.clip, opacity: state.opacity, signed,
      colormap: signed ? DIVERGING : state.colormap,
      viewTicks: series ? rangeTicks(rangeOf(viewBound(series, state.clip), signed)) : ["…"],
      viewRange: series ? viewBound(series, state.clip) : null,
      probe: run.probes[0] ?? {width: 1, height: 1},
      compare: state.compare, seriesOf: (r) => this.seriesOf(r, method.method),
    };
  }

  /** The grid's rows: the probe images that pass the filter, in the chosen order. */
  rows(run, series, focus, predictions, sort) {
    const labels = [...new Set(run.probes.map((p) => p.label).filter((l) => l != null))].sort(byNumber);
    const filterChoices = [{value: "all", label: "all"}];
    if (labels.length && run.prediction_steps.length) filterChoices.push({value: "wrong", label: "wrongly predicted at the slider's step"});
    filterChoices.push(...labels.map((l) => ({value: `class${l}`, label: `true class ${className(run, l)}`})));
    const filter = filterChoices.some((c) => c.value === this.state.filter) ? this.state.filter : "all";
    let images = run.probes.map((p) => p.index);
    let emptyReason = "";
    if (filter === "wrong") {
      if (predictions?.status === "ready") {
        images = images.filter((i) => {
          const top = top1(predictions.value, i);
          return top && run.probes[i].label != null && top.class !== run.probes[i].label;
        });
        emptyReason = "Every image is predicted right at the slider's step.";
      } else if (!predictions) {
        emptyReason = "No predictions are logged at the slider's step.";
        images = [];
      }
    } else if (filter.startsWith("class")) {
      images = images.filter((i) => run.probes[i].label === Number(filter.slice(5)));
    }
    if (sort) images = worstFirst(series, sort, series.steps.indexOf(focus), images);
    return {rows: images, filterChoices, filter, emptyReason};
  }

  render() {
    this.api.nextFrame();
    if (this.runs === null) return;
    if (!this.runs.length) {
      this.showMessage("picasso-empty", "empty", "No Picasso data yet",
        "No run in this log directory has Picasso maps. Add the callback to model.fit; " +
        "the tab fills in as checkpoints are logged:", SNIPPET);
      return;
    }
    const view = this.view();
    this.current = view;
    this.runErrors.replaceChildren(...this.runs.filter((r) => r.error).map((r) =>
      el("p", {class: "message error run-error", text: `Run ${r.run}: ${r.error}`})));
    if (!view.run) {
      this.showMessage("picasso-unselected", "empty", "No Picasso run is selected",
        "Every run with Picasso maps is unchecked in TensorBoard's run selector (Time Series dashboard).");
      return;
    }
    this.controls.root.hidden = false;
    this.controls.sync(view);
    if (!view.method) {
      this.showMessage("picasso-error", "error", `Nothing to show for run ${view.run.run}`,
        view.run.error ?? "This run has no maps yet.");
      return;
    }
    this.message.replaceChildren();
    document.body.style.setProperty("--map-opacity", String(view.opacity));
    const gridDone = this.grid.render(view);
    const compareDone = this.compare.render(view);
    this.grid.root.setAttribute("aria-busy", String(!gridDone));
    if (view.series) this.quality.render(view.series, view.focus, view.image, this.theme);
    document.body.dataset.picassoQuality = view.series ? "ready" : "loading";
    const done = gridDone && compareDone && !!view.series;
    document.body.dataset.picassoState = done ? "ready" : "loading";
    document.body.dataset.picassoStep = String(view.focus);
    if (done) this.prefetch(view);
  }

  /** Fetches the blocks and predictions of the steps next to the slider's, when idle. */
  prefetch({run, method, focus, version}) {
    const i = method.steps.indexOf(focus);
    for (let d = 1; d <= PREFETCH; d++) {
      for (const step of [method.steps[i + d], method.steps[i - d]]) {
        if (step === undefined) continue;
        this.api.block(run.run, method.method, step, version(step), AHEAD);
        const p = run.prediction_steps.indexOf(step);
        if (p >= 0) this.api.predictions(run.run, step, run.prediction_versions[p], AHEAD);
      }
    }
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
