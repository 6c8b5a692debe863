/** The control bar (#controls): run, method, target, image filter and order, the compare
 * button; the step slider, the column picker, the scale, clipping, colormap, opacity and
 * the colour bar. Built once; sync() shows the current view without replacing a control
 * the user may be dragging. Its layout does not depend on the values it shows, so nothing
 * moves under the pointer. */

import {DIVERGING, SEQUENTIAL} from "./colormaps.js";
import {el, labelled, setOptions, setText} from "./dom.js";
import {colourBar} from "./paint.js";
import {SCOPES} from "./scale.js";
import {stepLabel} from "./steps.js";

const CLIPS = [90, 95, 98, 99, 99.5, 99.9, 100];

export class Controls {
  /** `set(patch)` merges a patch into the state. */
  constructor(set) {
    this.set = set;
    const select = (id, key, parse = String) => {
      const node = el("select", {id, onchange: () => set({[key]: parse(node.value)})});
      return node;
    };
    this.run = select("run", "run");
    this.runSwatch = el("span", {class: "run-swatch", "aria-hidden": "true"});
    this.method = select("method", "method");
    this.target = select("target", "target");
    this.filter = select("filter", "filter");
    this.sort = select("sort", "sort");
    this.scale = select("scale", "scale");
    setOptions(this.scale, Object.entries(SCOPES).map(([value, label]) => ({value, label})), "image");
    this.clip = select("clip", "clip", Number);
    setOptions(this.clip, CLIPS.map((p) => ({value: p, label: p === 100 ? "max |v|" : `p${p} of |v|`})), 99);
    this.colormap = select("colormap", "colormap");
    setOptions(this.colormap, SEQUENTIAL.map((name) => ({value: name, label: name})), SEQUENTIAL[0]);
    this.opacity = el("input", {id: "opacity", type: "range", min: 0, max: 1, step: 0.05,
      oninput: () => set({opacity: Number(this.opacity.value)})});
    // At its right end the slider follows the newest checkpoint as training goes on.
    this.slider = el("input", {id: "step-slider", type: "range", min: 0, step: 1, "aria-label": "step",
      oninput: () => {
        const i = Number(this.slider.value);
        set({step: i === this.steps.length - 1 ? null : this.steps[i]});
      }});
    this.stepText = el("output", {id: "step-label", "aria-hidden": "true"});
    this.picker = this.columnPicker();
    this.colorbar = el("div", {id: "colorbar"});
    this.compare = el("button", {id: "compare-open", type: "button", text: "Compare…",
      onclick: () => set({compare: {mode: "steps"}})});
    this.root = el("div", {id: "controls", role: "toolbar", "aria-label": "Picasso view settings"}, [
      el("div", {class: "control-row"}, [
        el("span", {class: "control run-control"}, [this.runSwatch, labelled("Run", this.run)]),
        labelled("Method", this.method), labelled("Target", this.target),
        labelled("Images", this.filter), labelled("Sort", this.sort), this.compare, this.colorbar,
      ]),
      el("div", {class: "control-row"}, [
        el("span", {class: "control step-control"}, [labelled("Step", this.slider), this.stepText]),
        this.picker.root,
        labelled("Scale", this.scale), labelled("Clip at", this.clip),
        labelled("Colormap", this.colormap), labelled("Opacity", this.opacity),
      ]),
    ]);
  }

  /** The column picker: a popover with evenly spaced, all, none, and a range every N. */
  columnPicker() {
    const from = el("select", {id: "columns-from"});
    const to = el("select", {id: "columns-to"});
    const every = el("input", {id: "columns-every", type: "number", min: 1, value: 1});
    const pick = (spec) => {
      this.set({columns: spec});
      root.open = false;
    };
    const summary = el("summary", {id: "columns-summary"});
    const root = el("details", {id: "column-picker", class: "control"}, [summary,
      el("div", {class: "popover", role: "group", "aria-label": "grid columns"}, [
        el("div", {class: "button-row"}, [
          el("button", {type: "button", id: "columns-auto", text: "5 evenly spaced", onclick: () => pick("auto")}),
          el("button", {type: "button", id: "columns-all", text: "all", onclick: () => pick("all")}),
          el("button", {type: "button", id: "columns-none", text: "none", onclick: () => pick("none")}),
        ]),
        el("div", {class: "button-row"}, [labelled("from", from), labelled("to", to), labelled("every", every),
          el("button", {type: "button", id: "columns-range", text: "show",
            onclick: () => pick(`range:${from.value}:${to.value}:${Math.max(1, Math.round(Number(every.value) || 1))}`)}),
        ]),
        el("p", {class: "note", text: "The slider's step is always the first column."}),
      ])]);
    return {root, summary, from, to};
  }

  /** Shows `view` (see App.view()). */
  sync(view) {
    const {runs, run, method} = view;
    setOptions(this.run, runs.map((r) => ({value: r.run, label: r.error ? `${r.run} (unreadable)` : r.run})), run.run);
    this.runSwatch.style.background = view.colour(run.run) ?? "transparent";
    const ready = !!method;
    for (const node of [this.method, this.target, this.filter, this.sort, this.scale, this.clip, this.colormap,
      this.opacity, this.slider, this.compare]) node.disabled = !ready;
    if (!ready) return;
    setOptions(this.method, run.methods.map((m) => ({value: m.method, label: m.method})), method.method);
    setOptions(this.target, view.targetChoices, view.target);
    setOptions(this.filter, view.filterChoices, view.filter);
    setOptions(this.sort, view.sortChoices, view.sort);
    this.sort.disabled = view.sortChoices.length < 2;
    this.scale.value = view.scale;
    this.clip.value = String(view.clip);
    this.colormap.value = view.colormap;
    this.colormap.disabled = method.signed;
    this.colormap.title = method.signed ? "signed maps use the diverging colormap, centred at 0" : "";
    this.opacity.value = String(view.opacity);
    this.steps = method.steps;
    this.slider.max = String(method.steps.length - 1);
    this.slider.value = String(method.steps.indexOf(view.focus));
    this.slider.setAttribute("aria-valuetext", stepLabel(view.focus));
    setText(this.stepText, stepLabel(view.focus));
    if (this.pickerSteps !== method.steps) { // the index's arrays change only when it does
      this.pickerSteps = method.steps;
      const stepItems = method.steps.map((s) => ({value: s, label: stepLabel(s)}));
      setOptions(this.picker.from, stepItems, this.picker.from.value || method.steps[0]);
      setOptions(this.picker.to, stepItems, this.picker.to.value || method.steps.at(-1));
    }
    const picked = view.columns.length - 1; // the first column is the slider's
    setText(this.picker.summary, picked ? `Columns: ${picked} of ${method.steps.length}` : "Columns: the slider's only");
    const key = JSON.stringify([view.scale, view.colormap, method.signed, view.viewRange, view.theme]);
    if (this.colorbar.dataset.key !== key) {
      this.colorbar.dataset.key = key;
      const name = method.signed ? DIVERGING : view.colormap;
      const ticks = view.scale === "view" ? view.viewTicks : method.signed ? ["−b", "0", "+b"] : ["0", "b"];
      this.colorbar.replaceChildren(colourBar(name, ticks), el("span", {class: "note", text: view.scale === "view"
        ? "the view's scale" : view.scale === "image" ? "b: each row's scale" : "b: each map's own"}));
    }
  }
}
