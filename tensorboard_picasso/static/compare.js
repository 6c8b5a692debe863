/** The compare view: one probe image, checkpoint A vs B of a run or run A vs B at one
 * step; both maps side by side, the signed difference B − A in the diverging colormap
 * centred at 0, and both top-k bar charts. Images are matched across runs by hash. */

import {DIVERGING, lut} from "./colormaps.js";
import {el, labelled, setOptions} from "./dom.js";
import {colourBar, mapCanvas, paintMap} from "./paint.js";
import {className, topBars, trueLabel} from "./predictions.js";
import {difference, rangeOf} from "./scale.js";
import {stepLabel} from "./steps.js";

const SIDE = 220; // CSS px per compare canvas

const stepItems = (steps) => steps.map((s) => ({value: s, label: stepLabel(s)}));
const stepsOf = (run, method) => run.methods.find((m) => m.method === method)?.steps ?? [];

export class Compare {
  /** `onChange(patch)` updates the compare spec (image, mode, stepA, stepB, runA, runB, step). */
  constructor(api, onChange) {
    this.api = api;
    this.onChange = onChange;
    this.root = el("section", {id: "compare-view", hidden: true});
    this.generation = 0;
  }

  /** Hides the view (and stops drawing it). */
  clear() {
    this.generation++;
    this.root.hidden = true;
  }

  /** Shows the comparison for `view.compare`, or hides when it is null. */
  async render(view) {
    const generation = ++this.generation;
    const live = () => generation === this.generation;
    this.root.hidden = !view.compare;
    if (!view.compare) return;
    const sides = this.resolve(view);
    const body = el("div", {class: "compare-body"});
    this.root.replaceChildren(this.controls(view, sides), body);
    if (sides.problem) {
      body.append(el("p", {class: "message", text: sides.problem}));
      return;
    }
    try {
      await this.draw(view, sides, body, live);
    } catch (error) {
      if (live()) body.replaceChildren(el("p", {class: "message error", text: `Cannot compare: ${error.message}`}));
    }
  }

  /** Completes the spec with defaults: {mode, image, a: {run, step, image}, b: {...}, steps, ...}. */
  resolve({runs, run, method, compare}) {
    const mode = compare.mode === "runs" ? "runs" : "steps";
    const image = run.probes.some((p) => p.index === compare.image) ? compare.image : 0;
    const sides = {mode, image, runsWithMethod: runs.filter((r) => stepsOf(r, method.method).length)};
    if (mode === "steps") {
      const steps = method.steps;
      const stepB = steps.includes(compare.stepB) ? compare.stepB : steps.at(-1);
      const stepA = steps.includes(compare.stepA) ? compare.stepA : steps[Math.max(0, steps.indexOf(stepB) - 1)];
      return {...sides, steps, a: {run, step: stepA, image}, b: {run, step: stepB, image}};
    }
    const byName = (name) => sides.runsWithMethod.find((r) => r.run === name);
    const runA = byName(compare.runA) ?? run;
    const hash = runA.probes.find((p) => p.index === image)?.hash;
    const others = sides.runsWithMethod.filter((r) => r !== runA);
    const runB = byName(compare.runB) ?? others.find((r) => r.probes.some((p) => p.hash === hash)) ?? others[0] ?? runA;
    const stepsB = stepsOf(runB, method.method);
    const steps = stepsOf(runA, method.method).filter((s) => stepsB.includes(s));
    const step = steps.includes(compare.step) ? compare.step : steps.at(-1);
    const imageB = runB.probes.find((p) => p.hash === hash)?.index;
    const result = {...sides, steps, step, a: {run: runA, step, image}, b: {run: runB, step, image: imageB}};
    if (sides.runsWithMethod.length < 2) result.problem = `Only one run has ${method.method} maps.`;
    else if (!steps.length) result.problem = "These two runs have no step in common.";
    else if (imageB === undefined) result.problem = "Run B's probe set does not contain this image.";
    return result;
  }

  /** The compare panel's own controls. */
  controls({run}, sides) {
    const select = (id, items, value, key, parse = Number) => {
      const node = el("select", {id, onchange: () => this.onChange({[key]: parse(node.value)})});
      setOptions(node, items, value ?? "");
      return node;
    };
    const parts = [
      el("h2", {text: "Compare"}),
      labelled("Image", select("compare-image", run.probes.map((p) =>
        ({value: p.index, label: `image ${p.index} (${trueLabel(run, p.index)})`})), sides.image, "image")),
      labelled("Mode", select("compare-mode", [
        {value: "steps", label: "checkpoint A vs checkpoint B"},
        {value: "runs", label: "run A vs run B"}], sides.mode, "mode", String)),
    ];
    if (sides.mode === "steps") {
      parts.push(labelled("A", select("compare-step-a", stepItems(sides.steps), sides.a.step, "stepA")),
        labelled("B", select("compare-step-b", stepItems(sides.steps), sides.b.step, "stepB")));
    } else {
      const runItems = sides.runsWithMethod.map((r) => ({value: r.run, label: r.run}));
      parts.push(labelled("Run A", select("compare-run-a", runItems, sides.a.run.run, "runA", String)),
        labelled("Run B", select("compare-run-b", runItems, sides.b.run.run, "runB", String)),
        labelled("Step", select("compare-step", stepItems(sides.steps), sides.step, "step")));
    }
    parts.push(el("button", {id: "compare-close", text: "Close", onclick: () => this.onChange(null)}));
    return el("div", {class: "compare-controls"}, parts);
  }

  /** Fetches both sides and draws A, B, B − A and the top-k bars. */
  async draw({method, target, display}, {a, b}, body, live) {
    const load = (side) => Promise.all([
      this.api.map(side.run.run, method.method, side.step, side.image, target, live),
      this.api.probe(side.run.run, side.image, live).catch(() => null),
      side.run.prediction_steps.includes(side.step)
        ? this.api.predictions(side.run.run, side.step, live) : null,
    ]);
    const [[mapA, probeA, predA], [mapB, probeB, predB]] = await Promise.all([load(a), load(b)]);
    if (!live()) return;
    const shared = rangeOf([mapA.values, mapB.values], display.clip, method.signed);
    const rangeFor = (map) => display.norm === "shared" ? shared : rangeOf([map.values], display.clip, method.signed);
    const title = (side, letter) => a.run === b.run
      ? `${letter}: ${stepLabel(side.step)}` : `${letter}: ${side.run.run}`;
    body.replaceChildren(
      this.panel("compare-a", title(a, "A"), a, mapA, probeA, {...display, ...rangeFor(mapA)}, topBars(a.run, a.image, predA)),
      this.panel("compare-b", title(b, "B"), b, mapB, probeB, {...display, ...rangeFor(mapB)}, topBars(b.run, b.image, predB)),
      this.diffPanel({a, b}, mapA, mapB, probeB, display));
  }

  /** One side: its map over its image, what the map is of, a colour bar and the bars. */
  panel(id, title, side, map, probe, style, bars) {
    const probeInfo = side.run.probes.find((p) => p.index === side.image);
    const canvas = mapCanvas(probeInfo.width, probeInfo.height, SIDE, "compare-map");
    paintMap(canvas, probe, map, style);
    return el("div", {id, class: "compare-panel"}, [
      el("h3", {text: title, title}), canvas,
      el("div", {class: "caption", text: `map of ${className(side.run, map.targetClass, map.targetName)} · true: ${trueLabel(side.run, side.image)}`}),
      colourBar(style.table, style), bars,
    ]);
  }

  /** The signed difference B − A, centred at 0, with its own clipped range. */
  diffPanel({a, b}, mapA, mapB, probe, display) {
    const diff = difference(mapA, mapB);
    const children = [el("h3", {text: "B − A"})];
    if (!diff) {
      children.push(el("p", {class: "message", text: `The maps differ in size (${mapA.width}×${mapA.height} vs ${mapB.width}×${mapB.height}).`}));
    } else {
      const style = {...display, table: lut(DIVERGING), ...rangeOf([diff.values], display.clip, true)};
      const canvas = mapCanvas(diff.width, diff.height, SIDE, "compare-map");
      paintMap(canvas, probe, diff, style);
      children.push(canvas, el("div", {class: "caption", text: "red: B higher · blue: A higher"}), colourBar(style.table, style));
      if (mapA.targetClass !== mapB.targetClass) {
        children.push(el("p", {class: "message", text: `A maps class ${className(a.run, mapA.targetClass, mapA.targetName)}, ` +
          `B maps class ${className(b.run, mapB.targetClass, mapB.targetName)}.`}));
      }
    }
    return el("div", {id: "compare-diff", class: "compare-panel"}, children);
  }
}
