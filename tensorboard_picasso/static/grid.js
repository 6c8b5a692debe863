/** The grid: probe images as rows; columns are the slider's focus step, then the picked
 * checkpoints. Each cell draws a map over its image, with the true label, the top-1
 * prediction and a "⚑ flipped" mark where it changed since the previous logged step. */

import {el, fmt} from "./dom.js";
import {mapCanvas, paintMap} from "./paint.js";
import {className, top1, trueLabel} from "./predictions.js";
import {rangeOf} from "./scale.js";
import {previousStep, stepLabel} from "./steps.js";

const CELL = 120; // CSS px per cell canvas
const THUMB = 64; // CSS px of the plain probe image in the row header

export class Grid {
  /** `onPick(image, step)` is called when a cell is clicked. */
  constructor(api, onPick) {
    this.api = api;
    this.onPick = onPick;
    this.root = el("div", {id: "picasso-grid"});
    this.generation = 0;
  }

  /** Removes the grid (and stops drawing it). */
  clear() {
    this.generation++;
    this.root.replaceChildren();
  }

  /** Rebuilds the grid for `view` (see index.js); resolves when every cell is drawn or
   * shows why it is not. A newer render() makes older ones stop quietly. */
  async render(view) {
    const generation = ++this.generation;
    const live = () => generation === this.generation;
    const steps = [view.focus, ...view.columns];
    this.root.style.gridTemplateColumns = `max-content repeat(${steps.length}, ${CELL}px)`;
    const heads = steps.map((step, k) => el("div", {
      class: k === 0 ? "col-head focus" : step === view.focus ? "col-head at-focus" : "col-head",
      text: k === 0 ? `▸ ${stepLabel(step)}` : stepLabel(step),
      title: k === 0 ? "the step chosen with the slider" : "",
    }));
    const rows = view.run.probes.map((probe) => this.row(view, probe, steps));
    this.root.replaceChildren(el("div", {class: "corner", text: "probe image"}), ...heads,
      ...rows.flatMap((row) => [row.head, ...row.cells.map((cell) => cell.node)]));
    await Promise.all(rows.map((row) => Promise.all([
      this.drawMaps(view, row, live),
      ...row.cells.map((cell) => this.caption(view, row.image, cell, live)),
    ])));
  }

  /** The DOM of one image's row: a header and one cell per step. */
  row(view, probe, steps) {
    const image = probe.index;
    const range = el("div", {class: "row-range"});
    const thumb = mapCanvas(probe.width, probe.height, THUMB, "probe");
    const head = el("div", {class: "row-head"}, [
      thumb, el("div", {class: "row-title", text: `image ${image}`}), range,
    ]);
    const cells = steps.map((step, k) => {
      const cell = {
        step,
        canvas: mapCanvas(probe.width, probe.height, CELL, "cell-map"),
        truth: el("div", {class: "truth", text: `true: ${trueLabel(view.run, image)}`}),
        pred: el("div", {class: "pred", text: "…"}),
        target: el("div", {class: "target"}),
      };
      cell.node = el("div", {
        class: k === 0 ? "cell focus" : "cell",
        title: "click to compare",
        onclick: () => this.onPick(image, step),
      }, [cell.canvas, cell.truth, cell.pred, cell.target]);
      cell.node.dataset.step = step;
      return cell;
    });
    return {image, head, thumb, range, cells};
  }

  /** Fetches the row's maps and draws them, normalised per map or across the row. */
  async drawMaps({run, method, target, display}, row, live) {
    const probe = this.api.probe(run.run, row.image, live).catch(() => null);
    const maps = await Promise.allSettled(row.cells.map((cell) =>
      this.api.map(run.run, method.method, cell.step, row.image, target, live)));
    const image = await probe;
    if (!live()) return;
    if (image) row.thumb.getContext("2d").drawImage(image, 0, 0, row.thumb.width, row.thumb.height);
    const loaded = maps.filter((m) => m.status === "fulfilled").map((m) => m.value.values);
    const shared = rangeOf(loaded, display.clip, method.signed);
    if (display.norm === "shared") row.range.textContent = `scale ${fmt(shared.lo)} … ${fmt(shared.hi)}`;
    row.cells.forEach((cell, k) => {
      if (maps[k].status === "rejected") {
        cell.node.classList.add("failed");
        cell.target.textContent = `no map: ${maps[k].reason.message}`;
        return;
      }
      const map = maps[k].value;
      const range = display.norm === "shared" ? shared : rangeOf([map.values], display.clip, method.signed);
      paintMap(cell.canvas, image, map, {...display, ...range});
      const target = className(run, map.targetClass, map.targetName);
      cell.target.textContent = `map: ${target}`;
      cell.canvas.title = `${stepLabel(cell.step)}, map of ${target}, ` +
        `colours span ${fmt(range.lo)} … ${fmt(range.hi)}`;
    });
  }

  /** Fills a cell's top-1 prediction, and marks a flip since the previous logged step. */
  async caption({run}, image, cell, live) {
    const steps = run.prediction_steps;
    if (!steps.includes(cell.step)) {
      cell.pred.textContent = "no prediction";
      return;
    }
    const before = previousStep(steps, cell.step);
    let now, then;
    try {
      [now, then] = await Promise.all([cell.step, before].map((step) =>
        step === null ? null : this.api.predictions(run.run, step, live).then((p) => top1(p, image))));
    } catch (error) {
      if (live()) cell.pred.textContent = `no prediction: ${error.message}`;
      return;
    }
    if (!live() || !now) return;
    const name = className(run, now.class, now.name);
    cell.pred.textContent = `pred: ${name} ${(100 * now.prob).toFixed(0)}%`;
    const label = run.probes[image].label;
    if (label != null) cell.pred.classList.add(now.class === label ? "right" : "wrong");
    if (then && then.class !== now.class) {
      cell.node.append(el("span", {
        class: "flip", text: "⚑ flipped",
        title: `top-1 was ${className(run, then.class, then.name)} at ${stepLabel(before)}`,
      }));
    }
  }
}
