/** The grid: probe images as rows; columns are the slider's focus step, then the picked
 * checkpoints. Each cell draws a map over its image, with the true label, the top-1
 * prediction, a "⚑ flipped" mark where it changed since the previous logged step, and
 * quality badges. Rows can be sorted by a quality metric; a row's header selects its
 * image. The DOM is rebuilt only when the rows or the number of columns change;
 * otherwise cells are redrawn in place, which keeps sliders smooth. */

import {el, fmt} from "./dom.js";
import {METRICS, cellBadges, fixed, valueAt, worstFirst} from "./metrics.js";
import {mapCanvas, paintMap} from "./paint.js";
import {className, top1, trueLabel} from "./predictions.js";
import {rangeOf} from "./scale.js";
import {previousStep, stepLabel} from "./steps.js";

const CELL = 160; // canvas pixels per cell; on screen a cell is 100..160 CSS px wide
const THUMB = 64; // CSS px of the plain probe image in the row header

export class Grid {
  /** `onPick(image, step)` is called when a cell is clicked, `onSelect(image)` when a
   * row's header is. */
  constructor(api, onPick, onSelect) {
    this.api = api;
    this.onPick = onPick;
    this.onSelect = onSelect;
    this.root = el("div", {id: "picasso-grid"});
    this.generation = 0;
    this.layout = null;
  }

  /** Removes the grid (and stops drawing it). */
  clear() {
    this.generation++;
    this.layout = null;
    this.root.replaceChildren();
  }

  /** Shows `view` (see index.js); resolves when every cell is drawn or shows why it is
   * not. A newer render() makes older ones stop quietly. */
  async render(view) {
    const generation = ++this.generation;
    const live = () => generation === this.generation;
    const steps = [view.focus, ...view.columns];
    const layout = JSON.stringify([view.run.run, view.run.probes, steps.length]);
    if (layout !== this.layout) this.build(view, steps.length);
    this.layout = layout;
    this.heads.forEach((head, k) => {
      head.textContent = k === 0 ? `▸ ${stepLabel(steps[k])}` : stepLabel(steps[k]);
      head.classList.toggle("at-focus", k > 0 && steps[k] === view.focus);
    });
    await Promise.all(this.rows.map((row) => {
      row.head.classList.toggle("selected", row.image === view.image);
      row.cells.forEach((cell, k) => {
        if (cell.step !== steps[k]) cell.badges.replaceChildren(); // until annotate()
        cell.step = steps[k];
        cell.node.dataset.step = steps[k];
      });
      return Promise.all([this.drawMaps(view, row, live),
        ...row.cells.map((cell) => this.caption(view, row.image, cell, live))]);
    }));
  }

  /** Builds the header row and one row per probe image with `columns` cells. */
  build(view, columns) {
    this.root.style.gridTemplateColumns = `max-content repeat(${columns}, minmax(100px, ${CELL}px))`;
    this.heads = Array.from({length: columns}, (_, k) => el("div", {
      class: k === 0 ? "col-head focus" : "col-head",
      title: k === 0 ? "the step chosen with the slider" : "",
    }));
    this.rows = view.run.probes.map((probe) => this.row(view.run, probe, columns));
    this.order = null;
    this.root.replaceChildren(el("div", {class: "corner", text: "probe image"}), ...this.heads,
      ...this.rows.flatMap((row) => [row.head, ...row.cells.map((cell) => cell.node)]));
  }

  /** Shows the quality `metrics` of `view.method` (a `metrics` response): each cell's
   * badges (for the first target's maps only, which the metrics score), and the rows
   * sorted by `view.sort` at the focus step, worst first ("": probe order). */
  annotate({focus, sort, target}, metrics) {
    const images = this.rows.map((row) => row.image);
    const order = sort && metrics.metrics[sort] ? worstFirst(metrics, sort, focus, images) : images;
    for (const row of this.rows) {
      row.note.textContent = order === images ? "" : `${METRICS[sort].label}: ${fixed(valueAt(metrics, sort, focus, row.image))}`;
      for (const cell of row.cells) {
        cell.badges.hidden = target !== 0;
        cell.badges.replaceChildren(...cellBadges(metrics, cell.step, row.image).map(({kind, text, title}) =>
          el("span", {class: `badge ${kind}`, text, title})));
      }
    }
    if (JSON.stringify(order) === JSON.stringify(this.order)) return;
    this.order = order;
    const rows = new Map(this.rows.map((row) => [row.image, row]));
    this.root.append(...order.flatMap((image) => [rows.get(image).head, ...rows.get(image).cells.map((cell) => cell.node)]));
  }

  /** The DOM of one image's row: a header with the plain image, and the cells. */
  row(run, probe, columns) {
    const image = probe.index;
    const range = el("div", {class: "row-range"});
    const note = el("div", {class: "row-note"});
    const thumb = mapCanvas(probe.width, probe.height, THUMB, "probe");
    const head = el("div", {class: "row-head", "data-image": image, tabIndex: 0, role: "button",
      title: "select this image: its line in the quality charts, and in the compare view",
      onclick: () => this.onSelect(image),
      onkeydown: (event) => event.key === "Enter" && this.onSelect(image),
    }, [thumb, el("div", {class: "row-title", text: `image ${image}`}), range, note]);
    const cells = Array.from({length: columns}, (_, k) => {
      const cell = {
        canvas: mapCanvas(probe.width, probe.height, CELL, "cell-map"),
        pred: el("div", {class: "pred"}),
        target: el("div", {class: "target"}),
        flip: el("span", {class: "flip", text: "⚑ flipped", hidden: true}),
        badges: el("div", {class: "badges"}),
      };
      cell.node = el("div", {
        class: k === 0 ? "cell focus" : "cell",
        title: "click to compare", tabIndex: 0, role: "button",
        onclick: () => this.onPick(image, cell.step),
        onkeydown: (event) => event.key === "Enter" && this.onPick(image, cell.step),
      }, [cell.canvas, el("div", {class: "truth", text: `true: ${trueLabel(run, image)}`}),
        cell.pred, cell.target, cell.badges, cell.flip]);
      return cell;
    });
    return {image, head, thumb, range, note, cells};
  }

  /** Fetches the row's maps and draws them, normalised per map or across the row; and
   * the plain image in the row's header. Maps are asked for first: they take the server
   * longest. */
  async drawMaps({run, method, target, display}, row, live) {
    const maps = Promise.allSettled(row.cells.map((cell) =>
      this.api.map(run.run, method.method, cell.step, row.image, target, live)));
    const image = await this.api.probe(run.run, row.image, live).catch(() => null);
    if (image && !row.thumbDrawn) {
      row.thumb.getContext("2d").drawImage(image, 0, 0, row.thumb.width, row.thumb.height);
      row.thumbDrawn = true;
    }
    const settled = await maps;
    if (!live()) return;
    const loaded = settled.filter((m) => m.status === "fulfilled").map((m) => m.value.values);
    const shared = rangeOf(loaded, display.clip, method.signed);
    row.range.textContent = display.norm === "shared" ? `scale ${fmt(shared.lo)} … ${fmt(shared.hi)}` : "";
    row.cells.forEach((cell, k) => {
      const failed = settled[k].status === "rejected";
      cell.node.classList.toggle("failed", failed);
      if (failed) {
        cell.canvas.getContext("2d").clearRect(0, 0, cell.canvas.width, cell.canvas.height);
        cell.target.textContent = cell.target.title = `no map: ${settled[k].reason.message}`;
        return;
      }
      const map = settled[k].value;
      const range = display.norm === "shared" ? shared : rangeOf([map.values], display.clip, method.signed);
      paintMap(cell.canvas, image, map, {...display, ...range});
      const name = className(run, map.targetClass, map.targetName);
      cell.target.textContent = `map: ${name}`;
      cell.target.title = "";
      cell.canvas.title = `${stepLabel(cell.step)}, map of ${name}, colours span ${fmt(range.lo)} … ${fmt(range.hi)}`;
    });
  }

  /** Shows a cell's top-1 prediction, and marks a flip since the previous logged step. */
  async caption({run}, image, cell, live) {
    const steps = run.prediction_steps;
    const before = previousStep(steps, cell.step);
    let now = null, then = null, problem = steps.includes(cell.step) ? null : "no prediction";
    if (!problem) {
      try {
        [now, then] = await Promise.all([cell.step, before].map((step) =>
          step === null ? null : this.api.predictions(run.run, step, live).then((p) => top1(p, image))));
      } catch (error) {
        problem = `no prediction: ${error.message}`;
      }
    }
    if (!live()) return;
    const label = run.probes[image].label;
    cell.pred.textContent = now ? `pred: ${className(run, now.class, now.name)} ${(100 * now.prob).toFixed(0)}%` : problem;
    cell.pred.classList.toggle("right", !!now && label != null && now.class === label);
    cell.pred.classList.toggle("wrong", !!now && label != null && now.class !== label);
    cell.flip.hidden = !(now && then && then.class !== now.class);
    if (!cell.flip.hidden) cell.flip.title = `top-1 was ${className(run, then.class, then.name)} at ${stepLabel(before)}`;
  }
}
