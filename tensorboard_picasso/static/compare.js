/** The compare view (#compare-view): one probe image at checkpoint A vs B of a run, or
 * in run A vs run B at one step (images matched across runs by content hash). Both
 * sides show the map of the same class (the image's true class by default, any class
 * logged for it selectable); where a side has no map of that class it says so in words
 * and no difference is drawn. Both panels and B − A share one scale from scale.js, so the
 * difference's colour says how large the change is compared with the maps, and its
 * relative size is given as a number; stretching the difference to its own range is
 * optional and labelled. Pointing at a map reads out A, B and B − A there. Clicking a map
 * opens it at actual size. */

import {DIVERGING} from "./colormaps.js";
import {el, fmt, labelled, precise, setOptions} from "./dom.js";
import {Enlarged} from "./enlarge.js";
import {colourBar, paintDifference, paintMap, rangeTicks} from "./paint.js";
import {className, topBars, trueLabel} from "./predictions.js";
import {SCOPES, absPercentile, boundOf, difference, rangeOf, relativeChange} from "./scale.js";
import {previousStep, stepLabel} from "./steps.js";

const stepItems = (steps) => steps.map((s) => ({value: s, label: stepLabel(s)}));

export class Compare {
  /** `onChange(patch)` updates the compare spec (null closes the view); `onImage(image)`
   * selects the compared image. */
  constructor(api, {onChange, onImage}) {
    Object.assign(this, {api, onChange, onImage});
    this.controls = el("div", {class: "compare-controls"});
    this.body = el("div", {class: "compare-body"});
    this.root = el("aside", {id: "compare-view", hidden: true, "aria-label": "compare two maps"},
      [this.controls, this.body]);
    this.enlarged = new Enlarged();
    this.key = null;
  }

  clear() {
    this.root.hidden = true;
    this.key = null;
  }

  /** Shows the comparison of `view` (App.view(); view.compare null hides it). Returns
   * true when it is fully drawn. */
  render(view) {
    this.root.hidden = !view.compare;
    if (!view.compare) {
      this.key = null;
      return true;
    }
    const sides = this.resolve(view);
    const controlsKey = JSON.stringify([sides.mode, sides.image, sides.a?.run.run, sides.b?.run.run, sides.a?.step,
      sides.b?.step, sides.cls, sides.classChoices, sides.steps, sides.runChoices, view.compare.stretch, view.run.run]);
    if (controlsKey !== this.controlsKey) {
      this.controlsKey = controlsKey;
      this.controls.replaceChildren(...this.controlParts(view, sides));
    }
    const data = sides.problem ? null : this.load(view, sides);
    const key = JSON.stringify([controlsKey, sides.problem, view.scale, view.clip, view.colormap,
      data && [data.a.status, data.b.status]]);
    if (key === this.key) return !data || data.ready;
    this.key = key;
    if (sides.problem) {
      this.body.replaceChildren(el("p", {class: "message", text: sides.problem}));
      return true;
    }
    if (!data.ready) {
      this.body.setAttribute("aria-busy", "true");
      this.body.classList.add("loading");
      return false;
    }
    this.body.removeAttribute("aria-busy");
    this.body.classList.remove("loading");
    this.draw(view, sides, data);
    return true;
  }

  /** The spec completed from the data: {mode, image, cls, a, b, steps, ...}; each side is
   * {run, series, image, step, s, letter}; `problem` says why nothing can be compared. */
  resolve(view) {
    const {runs, run, method, compare, seriesOf} = view;
    const image = run.probes.some((p) => p.index === view.image) ? view.image : 0;
    const hash = run.probes[image]?.hash;
    const withMethod = runs.filter((r) => r.methods.some((m) => m.method === method.method));
    const sides = {mode: compare.mode === "runs" ? "runs" : "steps", image, stretch: !!compare.stretch,
      runChoices: withMethod.map((r) => r.run)};
    let a;
    let b;
    if (sides.mode === "steps") {
      const steps = method.steps;
      const stepB = steps.includes(compare.b) ? compare.b : view.focus;
      const stepA = steps.includes(compare.a) ? compare.a : previousStep(steps, stepB) ?? stepB;
      sides.steps = steps;
      a = {run, image, step: stepA};
      b = {run, image, step: stepB};
    } else {
      const byName = (name) => withMethod.find((r) => r.run === name);
      const runA = byName(compare.a) ?? run;
      const others = withMethod.filter((r) => r !== runA);
      const runB = byName(compare.b) ?? others.find((r) => r.probes.some((p) => p.hash === hash)) ?? others[0] ?? runA;
      const stepsOf = (r) => r.methods.find((m) => m.method === method.method).steps;
      const common = stepsOf(runA).filter((s) => stepsOf(runB).includes(s));
      const step = common.includes(compare.at) ? compare.at : common.at(-1);
      const imageA = runA.probes.find((p) => p.hash === hash)?.index;
      const imageB = runB.probes.find((p) => p.hash === hash)?.index;
      sides.steps = common;
      a = {run: runA, image: imageA, step};
      b = {run: runB, image: imageB, step};
      if (withMethod.length < 2) sides.problem = `Only one run has ${method.method} maps.`;
      else if (!common.length) sides.problem = "These two runs have no step in common.";
      else if (imageA === undefined) sides.problem = `Run ${runA.run}'s probe set does not contain this image.`;
      else if (imageB === undefined) sides.problem = `Run ${runB.run}'s probe set does not contain this image.`;
    }
    sides.a = {...a, letter: "A", series: seriesOf(a.run)};
    sides.b = {...b, letter: "B", series: seriesOf(b.run)};
    const label = run.probes[image]?.label;
    const logged = new Set();
    for (const side of [sides.a, sides.b]) {
      for (const step of side.series?.classes ?? []) for (const cls of step[side.image] ?? []) logged.add(cls);
    }
    sides.cls = compare.cls ?? label ?? [...logged][0] ?? null;
    sides.classChoices = [...new Set([...(label == null ? [] : [label]), ...[...logged].sort((x, y) => x - y)])]
      .map((cls) => ({value: cls, label: cls === label ? `${className(run, cls)} (true class)` : className(run, cls)}));
    if (sides.cls === null && !sides.problem) sides.problem = "No class is mapped for this image.";
    return sides;
  }

  controlParts({run}, sides) {
    const select = (id, items, value, key, parse = Number) => {
      const node = el("select", {id, onchange: () => this.onChange({[key]: parse(node.value)})});
      setOptions(node, items, value ?? "");
      return node;
    };
    const parts = [
      el("h2", {text: "Compare"}),
      labelled("Image", el("select", {id: "compare-image", onchange: (event) => this.onImage(Number(event.target.value))},
        run.probes.map((p) => el("option", {value: String(p.index), text: `image ${p.index} (${trueLabel(run, p.index)})`,
          selected: p.index === sides.image})))),
      labelled("Mode", select("compare-mode", [{value: "steps", label: "checkpoint A vs B"},
        {value: "runs", label: "run A vs run B"}], sides.mode, "mode", String)),
    ];
    if (sides.mode === "steps") {
      parts.push(labelled("A", select("compare-step-a", stepItems(sides.steps), sides.a.step, "a")),
        labelled("B", select("compare-step-b", stepItems(sides.steps), sides.b.step, "b")));
    } else {
      const items = sides.runChoices.map((name) => ({value: name, label: name}));
      parts.push(labelled("Run A", select("compare-run-a", items, sides.a.run.run, "a", String)),
        labelled("Run B", select("compare-run-b", items, sides.b.run.run, "b", String)),
        labelled("Step", select("compare-step", stepItems(sides.steps), sides.a.step, "at")));
    }
    parts.push(labelled("Class", select("compare-class", sides.classChoices, sides.cls, "cls")),
      el("label", {class: "control"}, [el("input", {id: "compare-stretch", type: "checkbox", checked: !!sides.stretch,
        onchange: (event) => this.onChange({stretch: event.target.checked})}), el("span", {text: "stretch B − A"})]),
      el("button", {id: "compare-close", type: "button", text: "Close", "aria-keyshortcuts": "Escape",
        onclick: () => this.onChange(null)}));
    return parts;
  }

  /** Starts or reads both sides' data: {a, b: {status, block, predictions}, ready}. */
  load(view, sides) {
    const side = (s) => {
      const version = s.run.methods.find((m) => m.method === view.method.method).versions?.[
        s.run.methods.find((m) => m.method === view.method.method).steps.indexOf(s.step)] ?? 0;
      const block = this.api.block(s.run.run, view.method.method, s.step, version);
      const p = s.run.prediction_steps.indexOf(s.step);
      const predictions = p < 0 ? null : this.api.predictions(s.run.run, s.step, s.run.prediction_versions?.[p] ?? 0);
      const waiting = !s.series || block.status === "loading" || predictions?.status === "loading";
      return {block, predictions, status: waiting ? "loading" : block.status};
    };
    const a = side(sides.a);
    const b = side(sides.b);
    return {a, b, ready: a.status !== "loading" && b.status !== "loading"};
  }

  /** The map of the compared class on one side: {map} or {problem}. */
  mapOf(view, side, data, cls) {
    const {run, series, step, letter} = side;
    const where = `${letter} (${run === view.run ? "" : `${run.run}, `}${stepLabel(step)})`;
    if (data.block.status === "error") return {problem: `${where}: ${data.block.error.message}`};
    const s = series.steps.indexOf(step);
    if (series.constant_output[s]) {
      return {problem: `${where}: the model's output does not change with the input at this checkpoint — ` +
        "typical of BatchNorm statistics early in training"};
    }
    const classes = series.classes[s]?.[side.image] ?? [];
    const j = classes.indexOf(cls);
    if (j < 0) {
      const mapped = classes.map((c) => className(run, c)).join(", ") || "none";
      return {problem: `${where} has no map of class ${className(run, cls)} (mapped there: ${mapped})`};
    }
    return {map: data.block.value.maps[side.image][j], s, j};
  }

  draw(view, sides, data) {
    const {method, scale, clip} = view;
    const signed = method.signed;
    const name = signed ? DIVERGING : view.colormap;
    const found = [this.mapOf(view, sides.a, data.a, sides.cls), this.mapOf(view, sides.b, data.b, sides.cls)];
    const refs = found.map((f, i) => f.map && {series: [sides.a, sides.b][i].series, image: [sides.a, sides.b][i].image, step: f.s, j: f.j});
    const present = refs.filter(Boolean);
    const shared = rangeOf(boundOf(scale, present, clip), signed);
    const rangeFor = (ref) => (scale === "map" ? rangeOf(boundOf("map", [ref], clip), signed) : shared);
    const panels = [sides.a, sides.b].map((side, i) => this.panel(view, side, found[i], refs[i] && rangeFor(refs[i]), name,
      data[i ? "b" : "a"].predictions));
    const [mapA, mapB] = found.map((f) => f.map);
    this.current = {mapA, mapB, diff: null, run: view.run, cls: sides.cls, signed};
    this.body.replaceChildren(el("div", {class: "compare-panels"}, [...panels.map((p) => p.root),
      this.diffPanel(view, sides, found, shared)]), this.readout = el("p", {id: "compare-readout", class: "readout",
      text: "Point at a map to read A, B and B − A there."}));
    this.boxes = [...this.body.querySelectorAll(".map-box")];
  }

  /** One side: the map over its image, what it is of, its colour bar and top-k bars. */
  panel(view, side, found, range, name, predictions) {
    const probe = side.run.probes[side.image];
    const title = view.compare.mode === "runs" ? side.run.run : stepLabel(side.step);
    const swatch = el("span", {class: "run-swatch", "aria-hidden": "true"});
    swatch.style.background = view.colour(side.run.run) ?? "transparent";
    const children = [el("h3", {title}, [swatch, `${side.letter}: ${title}`])];
    if (found.map) {
      const label = `${side.letter}: image ${side.image}, ${stepLabel(side.step)}, ${view.method.method}, class ${className(side.run, found.map.cls)}`;
      const canvas = el("canvas", {class: "compare-map", role: "img", "aria-label": label});
      const paint = (target) => paintMap(target, found.map, range, name);
      paint(canvas);
      children.push(this.mapBox(view, side, canvas, found.map, label, paint),
        el("div", {class: "caption", text: `map of ${className(side.run, found.map.cls)} · true: ${trueLabel(side.run, side.image)}`}),
        colourBar(name, rangeTicks(range)),
        el("div", {class: "caption", text: view.scale === "map" ? "scale: this map's own (exaggerates weak maps)" : `scale: ${SCOPES[view.scale]}`}));
    } else {
      children.push(el("div", {class: "map-box missing"}, [el("img", {class: "probe", alt: "", src: this.api.probeUrl(side.run.run, side.image)}),
        el("div", {class: "cell-note", text: found.problem})]));
    }
    const p = predictions?.status === "ready" ? predictions.value : null;
    children.push(topBars(side.run, side.image, p));
    return {root: el("div", {id: `compare-${side.letter.toLowerCase()}`, class: "compare-panel"}, children)};
  }

  /** A map over its probe image, with hover read-out and click-to-enlarge. */
  mapBox(view, side, canvas, map, title, paint) {
    const box = el("div", {class: "map-box", title: "click to enlarge"},
      [el("img", {class: "probe", alt: "", src: this.api.probeUrl(side.run.run, side.image)}), canvas]);
    canvas.addEventListener("pointermove", (event) => this.hover(event, canvas));
    canvas.addEventListener("click", () => this.enlarged.open({title, probe: this.api.probeUrl(side.run.run, side.image),
      width: map.width, height: map.height, paint, value: (k) => map.value(k), opacity: view.opacity}));
    return box;
  }

  /** B − A on the panels' scale (or stretched, when asked), with its relative size. */
  diffPanel(view, sides, found, shared) {
    const children = [el("h3", {text: "B − A"})];
    const [a, b] = found;
    if (!a.map || !b.map) {
      children.push(el("p", {class: "message", id: "compare-no-diff",
        text: `No difference drawn: both sides must have a map of class ${className(view.run, sides.cls)}.`}));
      return el("div", {id: "compare-diff", class: "compare-panel"}, children);
    }
    const values = difference(a.map, b.map);
    if (!values) {
      children.push(el("p", {class: "message", id: "compare-no-diff",
        text: `No difference drawn: the maps differ in size (${a.map.width}×${a.map.height} vs ${b.map.width}×${b.map.height}).`}));
      return el("div", {id: "compare-diff", class: "compare-panel"}, children);
    }
    this.current.diff = values;
    const stretch = !!view.compare.stretch;
    // The panels' bound (in the per-map scale, the larger of the two maps' own).
    const bound = stretch ? absPercentile(values, view.clip) : shared.hi;
    const range = rangeOf(bound, true);
    const canvas = el("canvas", {class: "compare-map", role: "img", "aria-label": "B − A"});
    const paint = (target) => paintDifference(target, values, a.map.width, a.map.height, range, DIVERGING);
    paint(canvas);
    const change = relativeChange(a.map, values);
    const relative = change.relative === null ? "A is zero everywhere"
      : change.relative >= 10 ? `${fmt(change.relative)} times mean |A|` : `${(100 * change.relative).toPrecision(2)}% of mean |A|`;
    children.push(this.mapBox(view, sides.b, canvas, {width: a.map.width, height: a.map.height, value: (k) => values[k]},
      `B − A, class ${className(view.run, sides.cls)}`, paint),
    el("div", {class: "caption", text: "red: B higher · blue: A higher"}),
    colourBar(DIVERGING, rangeTicks(range)),
    el("div", {class: stretch ? "caption warning-text" : "caption", text: stretch
      ? "stretched to the difference's own range: exaggerates small changes"
      : "on the panels' scale: colour shows the change against the maps"}),
    el("p", {id: "compare-change", class: "change", text: `mean |B − A| = ${fmt(change.meanAbsDiff)} (${relative})`}));
    return el("div", {id: "compare-diff", class: "compare-panel"}, children);
  }

  /** Reads out A, B and B − A at the pixel under the pointer, marked on every panel. */
  hover(event, canvas) {
    const {mapA, mapB, diff, run, cls} = this.current;
    const reference = mapA ?? mapB;
    const rect = canvas.getBoundingClientRect();
    const x = Math.min(reference.width - 1, Math.max(0, Math.floor(((event.clientX - rect.left) / rect.width) * reference.width)));
    const y = Math.min(reference.height - 1, Math.max(0, Math.floor(((event.clientY - rect.top) / rect.height) * reference.height)));
    const k = y * reference.width + x;
    const parts = [`at (${x}, ${y}), class ${className(run, cls)}:`];
    if (mapA) parts.push(`A ${precise(mapA.value(k))}`);
    if (mapB) parts.push(`B ${precise(mapB.value(k))}`);
    if (diff) parts.push(`B − A ${precise(diff[k], true)}`);
    this.readout.textContent = parts.join(" ");
    for (const box of this.boxes) {
      let mark = box.querySelector(".pointer-mark");
      if (!mark) box.append(mark = el("span", {class: "pointer-mark", "aria-hidden": "true"}));
      mark.style.left = `${((x + 0.5) / reference.width) * 100}%`;
      mark.style.top = `${((y + 0.5) / reference.height) * 100}%`;
    }
  }
}
