/** The control bar: run, method, target, colormap, opacity, normalisation, clipping,
 * the step slider, the checkpoint picker, the image order and the colour bar. Built once; sync() keeps it
 * in step with the state without replacing a control the user may be dragging. */

import {DIVERGING, SEQUENTIAL, lut} from "./colormaps.js";
import {el, labelled, setOptions} from "./dom.js";
import {worstLabel} from "./metrics.js";
import {colourBar} from "./paint.js";
import {stepLabel} from "./steps.js";

const CLIPS = [90, 95, 98, 99, 99.5, 99.9, 100];

export class Controls {
  /** `set(patch)` merges a patch into the state and redraws. */
  constructor(set) {
    const select = (id, key, parse = String) => {
      const node = el("select", {id, onchange: () => set({[key]: parse(node.value)})});
      return node;
    };
    this.run = select("run", "run");
    this.method = select("method", "method");
    this.target = select("target", "target", Number);
    this.colormap = select("colormap", "colormap");
    setOptions(this.colormap, SEQUENTIAL.map((name) => ({value: name, label: name})), SEQUENTIAL[0]);
    this.norm = select("norm", "norm");
    setOptions(this.norm, [
      {value: "map", label: "per map"},
      {value: "shared", label: "shared across this image's checkpoints"}], "map");
    this.clip = select("clip", "clip", Number);
    setOptions(this.clip, CLIPS.map((p) => ({value: p, label: p === 100 ? "none (max |v|)" : `${p}th pct of |v|`})), 99);
    this.sort = select("sort", "sort");
    this.syncSort([], "");
    this.opacity = el("input", {id: "opacity", type: "range", min: 0, max: 1, step: 0.05,
      oninput: () => set({opacity: Number(this.opacity.value)})});
    // At its right end the slider follows the newest checkpoint as training goes on.
    this.slider = el("input", {id: "step-slider", type: "range", min: 0, step: 1, oninput: () => {
      const i = Number(this.slider.value);
      set({focus: i === this.steps.length - 1 ? null : this.steps[i]});
    }});
    this.stepLabel = el("span", {id: "step-label"});
    this.picks = el("div", {class: "picks"});
    this.picksSummary = el("summary");
    this.colorbar = el("div", {id: "colorbar"});
    // Everything but the run choice, hidden when the run has nothing to show.
    this.more = el("div", {class: "more"}, [
      el("div", {class: "control-row"}, [
        labelled("Method", this.method), labelled("Target", this.target),
        labelled("Colormap", this.colormap), labelled("Opacity", this.opacity),
        labelled("Normalise", this.norm), labelled("Clip at", this.clip),
      ]),
      el("div", {class: "control-row"}, [
        labelled("Step", this.slider), this.stepLabel,
        el("details", {id: "step-picks"}, [this.picksSummary, this.picks,
          el("button", {id: "steps-default", text: "default columns", onclick: () => set({picked: null})})]),
        labelled("Sort images", this.sort),
        el("button", {id: "compare-open", text: "Compare…", onclick: () => set({compare: {}})}),
        this.colorbar,
      ]),
    ]);
    this.root = el("div", {id: "controls"}, [labelled("Run", this.run), this.more]);
    this.picks.addEventListener("change", () => set({
      picked: new Set([...this.picks.querySelectorAll("input:checked")].map((box) => Number(box.value))),
    }));
  }

  /** Shows `state` and the derived `model` (see derive() in index.js). */
  sync(state, model) {
    setOptions(this.run, model.runs.map((r) => ({value: r.run, label: r.error ? `${r.run} (unreadable)` : r.run})), model.run.run);
    const methods = model.run.methods ?? [];
    this.more.hidden = !model.method;
    if (!model.method) return;
    setOptions(this.method, methods.map((m) => ({value: m.method, label: m.method})), model.method.method);
    this.colormap.value = state.colormap;
    this.colormap.disabled = model.method.signed;
    this.colormap.title = model.method.signed ? "signed maps use the diverging colormap, centred at 0" : "";
    this.norm.value = state.norm;
    this.clip.value = String(state.clip);
    this.opacity.value = String(state.opacity);
    this.steps = model.steps;
    this.slider.max = String(model.steps.length - 1);
    this.slider.value = String(model.steps.indexOf(model.focus));
    this.stepLabel.textContent = stepLabel(model.focus);
    this.syncPicks(model);
    const pct = state.clip === 100 ? "max |v|" : `p${state.clip} |v|`;
    const scope = state.norm === "shared" ? "per image" : "per map";
    const table = lut(model.method.signed ? DIVERGING : state.colormap);
    this.colorbar.replaceChildren(colourBar(table, model.method.signed ? {lo: -1, hi: 1} : {lo: 0, hi: 1},
      model.method.signed ? [`−${pct}`, `+${pct}`] : ["0", pct]), el("span", {class: "note", text: scope}));
  }

  /** Target choices for the focus step ({value, label}, see index.js). */
  syncTargets(options, target) {
    setOptions(this.target, options, target);
  }

  /** Image orders: probe order, or worst first by one of the metric `names`. */
  syncSort(names, sort) {
    setOptions(this.sort, [{value: "", label: "probe order"},
      ...names.map((name) => ({value: name, label: worstLabel(name)}))], names.includes(sort) ? sort : "");
    this.sort.disabled = !names.length;
    this.sort.title = names.length ? "by the metric's value at the slider's step, worst first" : "no quality metrics logged";
  }

  /** One checkbox per step; checked = shown as a column. */
  syncPicks({steps, columns}) {
    const signature = JSON.stringify([steps, columns]);
    if (this.picks.dataset.signature !== signature) {
      this.picks.replaceChildren(...steps.map((step) => el("label", {class: "chip"}, [
        el("input", {type: "checkbox", value: String(step), checked: columns.includes(step)}),
        stepLabel(step)])));
      this.picks.dataset.signature = signature;
    }
    this.picksSummary.textContent = `Columns: ${columns.length} of ${steps.length} checkpoints`;
  }
}
