/** The grid (#picasso-grid): probe images as rows, checkpoints as columns. The first
 * column is the slider's step (it stays in view, as do the row headers and the column
 * headers); the other columns are the picked checkpoints (one equal to the slider's step
 * is shown in the first column only). Each cell draws the map of its target class over
 * its image, says which class that is (or in words why there is no map), the top-1
 * prediction (✓ right, ✗ wrong), a "⚑ flipped" mark where it changed since the previous
 * logged step, and quality badges. Hovering a map reads out its value.
 *
 * Only cells in view exist (rows and columns are virtualised), and a cell repaints only
 * when what it shows changed. One Tab stop: arrow keys move between cells (Home/End,
 * PageUp/PageDown too), Enter opens the compare view of a cell or selects a row's image. */

import {attr, el, fmt, precise, setText} from "./dom.js";
import {cellBadges, fixed, valueAt, METRICS} from "./metrics.js";
import {clearMap, colourBar, paintMap, rangeTicks} from "./paint.js";
import {MARKS, className, top1, trueLabel, verdict} from "./predictions.js";
import {boundOf, rangeOf} from "./scale.js";
import {previousStep, stepLabel} from "./steps.js";
import {targetClass, targetLabel} from "./targets.js";

const HEAD = 30; // px: the column header row
const ROW_HEAD = 136; // px: the row header column
const GAP = 8; // px between cells
const CAPTION = 50; // px: the text lines under a map
const MIN_CELL = 96;
const MAX_CELL = 320;
const OVERSCAN = 1; // rows and columns drawn beyond the visible ones
const ROWS_IN_VIEW = 3; // cells are no taller than lets this many rows fit
const MAX_SPARE = 200; // cells kept for reuse

const CONSTANT = "the model's output does not change with the input at this checkpoint — " +
  "typical of BatchNorm statistics early in training";

export class Grid {
  /** `onPick(image, step)`: a cell was chosen (click, Enter); `onSelect(image)`: a row
   * header was; `onScroll()`: the visible part changed (render again). */
  constructor(api, {onPick, onSelect, onScroll}) {
    Object.assign(this, {api, onPick, onSelect});
    this.inner = el("div", {class: "grid-inner"});
    this.root = el("div", {id: "picasso-grid", role: "grid", "aria-label": "maps: probe images by checkpoint",
      onkeydown: (event) => this.key(event)}, [this.inner]);
    this.head = el("div", {class: "grid-head", role: "row", "aria-rowindex": 1});
    this.corner = el("div", {class: "corner", role: "columnheader", text: "probe image"});
    this.tip = el("div", {class: "map-tip", hidden: true, "aria-hidden": "true"});
    this.message = el("p", {class: "message grid-message", hidden: true});
    this.rows = new Map(); // image -> row
    this.spare = []; // cells out of view, for reuse
    this.heads = new Map(); // column index -> header node
    this.active = {row: 0, col: 0}; // the keyboard's cell (col -1: the row header)
    this.root.addEventListener("scroll", () => onScroll(), {passive: true});
    new ResizeObserver(() => onScroll()).observe(this.root);
  }

  clear() {
    this.view = null;
    this.run = null;
    this.layout = null;
    this.rows.clear();
    this.heads.clear();
    this.inner.replaceChildren();
  }

  /** Shows `view` (App.view()); returns true when every visible cell is drawn (or says
   * why it is not). Cheap when nothing changed. */
  render(view) {
    this.view = view;
    const {rows, columns, probe} = view;
    if (this.run !== view.run.run) { // rows belong to a run's probe images
      for (const row of this.rows.values()) {
        for (const cell of row.cells.values()) this.release(cell);
        row.node.remove();
      }
      this.rows.clear();
      this.run = view.run.run;
    }
    // Layout is read once, before anything is written: no layout is forced mid-render.
    const box = {width: this.root.clientWidth, height: this.root.clientHeight,
      top: this.root.scrollTop, left: this.root.scrollLeft};
    // As wide as the window allows, but short enough for ROWS_IN_VIEW rows.
    const byWidth = Math.floor((box.width - ROW_HEAD) / Math.max(1, columns.length)) - GAP;
    const byHeight = Math.floor(((box.height - HEAD) / ROWS_IN_VIEW - CAPTION - GAP) * probe.width / probe.height);
    const cell = Math.max(MIN_CELL, Math.min(MAX_CELL, byWidth, byHeight));
    const mapHeight = Math.round((cell * probe.height) / probe.width);
    const geometry = {cell, mapHeight, row: mapHeight + CAPTION + GAP};
    const layout = JSON.stringify([geometry, rows.length, columns.length]);
    if (layout !== this.layout) {
      this.layout = layout;
      this.geometry = geometry;
      this.inner.style.width = `${ROW_HEAD + columns.length * (cell + GAP)}px`;
      this.inner.style.height = `${HEAD + rows.length * geometry.row}px`;
      this.root.style.setProperty("--cell", `${cell}px`);
      this.root.style.setProperty("--map-height", `${mapHeight}px`);
      this.root.style.setProperty("--row", `${geometry.row - GAP}px`);
    }
    attr(this.root, "aria-rowcount", rows.length + 1);
    attr(this.root, "aria-colcount", columns.length + 1);
    this.message.hidden = rows.length > 0;
    if (!rows.length) this.message.textContent = view.emptyReason;
    if (this.head.parentNode !== this.inner) this.inner.append(this.head, this.message);
    this.clampActive();
    const [visibleRows, visibleCols] = this.visible(box);
    this.renderHeads(visibleCols);
    let done = true;
    const wanted = new Set(visibleRows.map((r) => rows[r]));
    for (const [image, row] of this.rows) {
      if (!wanted.has(image)) {
        for (const cell of row.cells.values()) this.release(cell);
        row.node.remove();
        this.rows.delete(image);
      }
    }
    for (const r of visibleRows) {
      const row = this.row(rows[r], r);
      done = this.renderRow(row, visibleCols) && done;
    }
    this.syncTabStop();
    return done;
  }

  /** [row positions, column indices] in view (plus OVERSCAN) of the scroll box `box`,
   * with the active cell's. */
  visible(box) {
    const {row, cell} = this.geometry;
    const {rows, columns} = this.view;
    const top = Math.max(0, box.top - HEAD);
    const r0 = Math.max(0, Math.floor(top / row) - OVERSCAN);
    const r1 = Math.min(rows.length - 1, Math.floor((top + box.height) / row) + OVERSCAN);
    const c0 = Math.max(1, Math.floor(box.left / (cell + GAP)) + 1 - OVERSCAN);
    const c1 = Math.min(columns.length - 1, Math.floor((box.left + box.width - ROW_HEAD) / (cell + GAP)) + OVERSCAN);
    const rowList = [];
    for (let r = r0; r <= r1; r++) rowList.push(r);
    if (rows.length && !rowList.includes(this.active.row)) rowList.push(this.active.row);
    const cols = columns.length ? [0] : [];
    for (let c = c0; c <= c1; c++) cols.push(c);
    if (this.active.col > 0 && !cols.includes(this.active.col)) cols.push(this.active.col);
    return [rowList, cols];
  }

  renderHeads(cols) {
    const {columns, focus} = this.view;
    if (this.corner.parentNode !== this.head) this.head.append(this.corner);
    for (const [k, node] of this.heads) {
      if (!cols.includes(k) || k >= columns.length) {
        node.remove();
        this.heads.delete(k);
      }
    }
    for (const k of cols) {
      let node = this.heads.get(k);
      if (!node) {
        node = el("div", {class: k === 0 ? "col-head focus" : "col-head", role: "columnheader", "aria-colindex": k + 2});
        this.head.append(node);
        this.heads.set(k, node);
      }
      const left = k > 0 ? `${ROW_HEAD + k * (this.geometry.cell + GAP)}px` : "";
      if (node.dataset.left !== left) node.style.left = node.dataset.left = left;
      const step = columns[k];
      setText(node, k === 0 ? `▸ ${stepLabel(step)}` : step === focus ? `${stepLabel(step)} ◂ slider` : stepLabel(step));
      const title = k === 0 ? "the step chosen with the slider" : step === focus ? "shown in the slider's column" : "";
      if (node.title !== title) node.title = title;
    }
  }

  /** The row of `image` at position `r` (created when new). */
  row(image, r) {
    let row = this.rows.get(image);
    if (!row) {
      const {run} = this.view;
      const thumb = el("img", {class: "probe", alt: "", src: this.api.probeUrl(run.run, image)});
      row = {image, cells: new Map(), scale: el("div", {class: "row-scale"}), note: el("div", {class: "row-note"})};
      row.head = el("div", {class: "row-head", role: "rowheader", tabIndex: -1, "data-image": image,
        title: "select this image: its line in the quality charts, and the compare view's image",
        onclick: () => this.choose(row.position, -1)},
      [thumb, el("div", {class: "row-title", text: `image ${image}`}),
        el("div", {class: "row-truth", text: `true: ${trueLabel(run, image)}`}), row.scale, row.note]);
      row.node = el("div", {class: "grid-row", role: "row"}, [row.head]);
      this.inner.append(row.node);
      this.rows.set(image, row);
    }
    const top = `${HEAD + r * this.geometry.row}px`;
    if (row.top !== top) row.node.style.top = row.top = top;
    attr(row.node, "aria-rowindex", r + 2);
    row.position = r;
    return row;
  }

  /** Draws a row's header and its visible cells; true when all are drawn. */
  renderRow(row, cols) {
    const view = this.view;
    row.head.classList.toggle("selected", row.image === view.image);
    attr(row.head, "aria-selected", row.image === view.image);
    this.rowScale(row);
    const sort = view.sort && view.series?.metrics[view.sort];
    setText(row.note, sort ? `${METRICS[view.sort].label}: ${fixed(valueAt(view.series, view.sort, view.series.steps.indexOf(view.focus), row.image))}` : "");
    for (const [k, cell] of row.cells) {
      if (!cols.includes(k) || k >= view.columns.length) {
        this.release(cell);
        row.cells.delete(k);
      }
    }
    let done = true;
    for (const k of cols) done = this.renderCell(row, k) && done;
    return done;
  }

  /** The row header's colour bar: the image's scale, in the map's units. */
  rowScale(row) {
    const {series, scale, clip, signed, colormap} = this.view;
    if (!series || scale !== "image") {
      if (row.scaleKey !== null) row.scale.replaceChildren();
      row.scaleKey = null;
      return;
    }
    const range = rangeOf(boundOf("image", [{series, image: row.image}], clip), signed);
    const key = JSON.stringify([range, colormap]);
    if (key === row.scaleKey) return;
    row.scaleKey = key;
    row.scale.replaceChildren(colourBar(colormap, rangeTicks(range), "colorbar mini"));
    row.scale.title = `this image's scale across its checkpoints: ${fmt(range.lo)} … ${fmt(range.hi)} (p${clip} of |v|)`;
  }

  /** The cell of column `k` in `row`: drawn already, or a cell that left the view,
   * reused (creating elements is what made scrolling slow). */
  cellNode(row, k) {
    let cell = row.cells.get(k);
    if (cell) return cell;
    cell = this.spare.pop() ?? this.newCell();
    Object.assign(cell, {row, k, inputs: null, painted: null, captioned: null, badgeKey: null, map: null, left: null});
    cell.node.classList.toggle("focus", k === 0);
    attr(cell.node, "aria-colindex", k + 2);
    const src = this.api.probeUrl(this.view.run.run, row.image);
    if (cell.probe.getAttribute("src") !== src) cell.probe.src = src;
    row.node.append(cell.node);
    row.cells.set(k, cell);
    return cell;
  }

  newCell() {
    const cell = {
      canvas: el("canvas", {class: "cell-map", role: "img", width: 1, height: 1}),
      probe: el("img", {class: "probe", alt: ""}),
      note: el("div", {class: "cell-note"}),
      flip: el("span", {class: "flip", text: "⚑ flipped", hidden: true}),
      cls: el("div", {class: "cap cls"}),
      pred: el("div", {class: "cap pred"}),
      badges: el("div", {class: "cap badges"}),
    };
    cell.canvas.addEventListener("pointermove", (event) => this.hover(event, cell));
    cell.canvas.addEventListener("pointerleave", () => (this.tip.hidden = true));
    cell.node = el("div", {class: "cell", role: "gridcell", tabIndex: -1, onclick: () => this.choose(cell.row.position, cell.k)}, [
      el("div", {class: "map-box"}, [cell.probe, cell.canvas, cell.note, cell.flip]), cell.cls, cell.pred, cell.badges]);
    return cell;
  }

  /** Takes a cell out of the view, to be reused. */
  release(cell) {
    cell.node.remove();
    if (this.spare.length < MAX_SPARE) this.spare.push(cell);
  }

  /** Draws one cell; true when it shows its map (or says why there is none). Does
   * nothing when none of what it shows changed since the last render. */
  renderCell(row, k) {
    const view = this.view;
    const {run, method, columns, focus} = view;
    const step = columns[k];
    const cell = this.cellNode(row, k);
    const left = k > 0 ? `${ROW_HEAD + k * (this.geometry.cell + GAP)}px` : "";
    if (cell.left !== left) cell.node.style.left = cell.left = left;
    if (k > 0 && step === focus) return this.duplicate(cell, step);
    // The block first: it takes the server longest. Its header says which classes it maps.
    const block = this.api.block(run.run, method.method, step, view.version(step));
    const predictions = view.predictionsAt(step);
    const before = previousStep(run.prediction_steps, step);
    const previous = before === null ? null : view.predictionsAt(before);
    const inputs = [step, block, block.status, predictions, predictions?.status, previous, previous?.status,
      view.series, view.target, view.scale, view.clip, view.colormap];
    if (cell.inputs?.length === inputs.length && inputs.every((value, i) => value === cell.inputs[i])) return cell.done;
    cell.inputs = inputs;
    cell.node.dataset.step = step;
    cell.node.dataset.image = row.image;
    cell.node.classList.remove("duplicate");
    cell.done = this.drawCell(row, cell, step, block, this.caption(cell, row.image, step, predictions, previous), predictions);
    return cell.done;
  }

  /** The picked column equal to the slider's step shows it only in the slider's column. */
  duplicate(cell, step) {
    if (cell.inputs?.length === 1 && cell.inputs[0] === step) return true;
    cell.inputs = [step];
    cell.done = true;
    cell.node.dataset.step = step;
    cell.node.classList.add("duplicate");
    cell.node.classList.remove("loading", "said");
    this.showNote(cell, "shown in the slider's column");
    setText(cell.cls, "");
    setText(cell.pred, "");
    cell.badges.replaceChildren();
    cell.flip.hidden = true;
    cell.badgeKey = cell.painted = cell.captioned = cell.map = null;
    return true;
  }

  drawCell(row, cell, step, block, captionReady, predictions) {
    const view = this.view;
    const {run, method, series} = view;
    if (block.status === "error") return this.say(cell, `no map: ${block.error.message}`, step) && captionReady;
    if (block.status !== "ready") return this.loading(cell, step);
    const {header} = block.value;
    if (header.constant_output) return this.say(cell, CONSTANT, step, {kind: "constant"}) && captionReady;
    const target = targetClass(view.target, run, row.image, predictions);
    if (target.pending) return this.loading(cell, step);
    const classes = header.targets[row.image] ?? [];
    const j = target.cls === undefined ? -1 : classes.indexOf(target.cls);
    if (target.problem) return this.say(cell, `no map: ${target.problem}`, step) && captionReady;
    if (j < 0) {
      const logged = classes.map((c) => className(run, c)).join(", ") || "none";
      return this.say(cell, `no map of class ${className(run, target.cls)} at this step (mapped: ${logged})`, step) && captionReady;
    }
    const s = series ? series.steps.indexOf(step) : -1;
    if (s < 0) return this.loading(cell, step); // the scale needs the series
    this.badges(cell, s, row.image, j);
    const map = block.value.maps[row.image]?.[j];
    if (!map) return this.say(cell, "no map: the checkpoint's block lacks this image", step) && captionReady;
    const range = rangeOf(boundOf(view.scale, [{series, image: row.image, step: s, j}], view.clip), method.signed);
    const key = `${run.run}\u0000${method.method}\u0000${step}\u0000${view.version(step)}\u0000${row.image}\u0000${j}\u0000${range.lo}\u0000${range.hi}\u0000${view.colormap}`;
    setText(cell.cls, `map: ${className(run, map.cls)}` + (view.scale === "map" ? ` · ${fmt(range.lo)}…${fmt(range.hi)}` : ""));
    cell.cls.title = `${targetLabel(run, view.target)}: the map of class ${className(run, map.cls)}`;
    if (map.zero) return this.say(cell, "this map is zero everywhere", step, {keepClass: true}) && captionReady;
    if (cell.painted !== key) {
      paintMap(cell.canvas, map, range, view.colormap);
      cell.painted = key;
    }
    cell.map = map;
    cell.range = range;
    cell.step = step;
    cell.node.classList.remove("loading", "said", "constant");
    cell.canvas.hidden = false;
    cell.note.hidden = true;
    attr(cell.canvas, "aria-label", `image ${row.image}, ${stepLabel(step)}, ${method.method}, class ${className(run, map.cls)}`);
    return captionReady;
  }

  /** Marks a cell as waiting for data: what it still shows is dimmed, and says so.
   * Returns false (not drawn yet). */
  loading(cell, step) {
    cell.node.classList.add("loading");
    this.showNote(cell, `loading ${stepLabel(step)}…`);
    return false;
  }

  /** Shows a message in words instead of a map (the probe image stays visible); the
   * class line stays only with `keepClass`. Returns true (drawn). */
  say(cell, text, step, {kind = "", keepClass = false} = {}) {
    const key = `say:${text}`;
    cell.node.classList.remove("loading");
    cell.node.classList.add("said");
    cell.node.classList.toggle("constant", kind === "constant");
    cell.map = null;
    if (cell.painted !== key) {
      clearMap(cell.canvas);
      cell.painted = key;
    }
    cell.canvas.hidden = true;
    this.showNote(cell, text);
    if (!keepClass) {
      setText(cell.cls, "");
      cell.badges.replaceChildren();
      cell.badgeKey = null;
    }
    attr(cell.canvas, "aria-label", `${stepLabel(step)}: ${text}`);
    return true;
  }

  showNote(cell, text) {
    setText(cell.note, text);
    cell.note.hidden = false;
  }

  /** The cell's quality badges: only for the image's first map, which the metrics score. */
  badges(cell, s, image, j) {
    const series = this.view.series;
    const key = JSON.stringify([series.run, series.method, series.versions[s], s, image, j === 0]);
    if (cell.badgeKey === key) return;
    cell.badgeKey = key;
    cell.badges.replaceChildren(...(j === 0 ? cellBadges(series, s, image).map(({kind, text, title}) =>
      el("span", {class: `badge ${kind}`, text, title})) : []));
  }

  /** The cell's top-1 prediction and flip mark; true when shown. */
  caption(cell, image, step, predictions, previous) {
    const {run} = this.view;
    if (!predictions) {
      setText(cell.pred, "no prediction logged");
      cell.flip.hidden = true;
      return true;
    }
    if (predictions.status === "loading" || previous?.status === "loading") return false;
    const key = JSON.stringify([step, predictions.status, previous?.status]);
    if (cell.captioned === key) return true;
    cell.captioned = key;
    if (predictions.status === "error") {
      setText(cell.pred, `no prediction: ${predictions.error.message}`);
      cell.flip.hidden = true;
      return true;
    }
    const now = top1(predictions.value, image);
    const then = previous?.status === "ready" ? top1(previous.value, image) : null;
    const mark = verdict(run, image, now);
    cell.pred.classList.toggle("right", mark === "right");
    cell.pred.classList.toggle("wrong", mark === "wrong");
    setText(cell.pred, now ? `${mark ? MARKS[mark] + " " : ""}pred: ${className(run, now.class, now.name)} ${(100 * now.prob).toFixed(0)}%` : "no prediction");
    cell.pred.title = mark ? `top-1 prediction (${mark === "right" ? "right" : "wrong"}: true class ${trueLabel(run, image)})` : "top-1 prediction";
    cell.flip.hidden = !(now && then && then.class !== now.class);
    if (!cell.flip.hidden) cell.flip.title = `top-1 was ${className(run, then.class, then.name)} at ${stepLabel(previousStep(run.prediction_steps, step))}`;
    return true;
  }

  /** Reads out the value under the pointer. */
  hover(event, cell) {
    if (!cell.map) return;
    const {map} = cell;
    const rect = cell.canvas.getBoundingClientRect();
    const x = Math.min(map.width - 1, Math.floor(((event.clientX - rect.left) / rect.width) * map.width));
    const y = Math.min(map.height - 1, Math.floor(((event.clientY - rect.top) / rect.height) * map.height));
    const image = Number(cell.node.dataset.image);
    this.tip.textContent = `image ${image} · ${stepLabel(cell.step)} · class ${className(this.view.run, map.cls)}: ` +
      `${precise(map.value(y * map.width + x))} at (${x}, ${y})`;
    this.tip.hidden = false;
    const box = this.root.getBoundingClientRect();
    this.tip.style.left = `${event.clientX - box.left + this.root.scrollLeft + 12}px`;
    this.tip.style.top = `${event.clientY - box.top + this.root.scrollTop + 12}px`;
    if (this.tip.parentNode !== this.inner) this.inner.append(this.tip);
  }

  // -- keyboard ------------------------------------------------------------------------

  clampActive() {
    const {rows, columns} = this.view;
    this.active.row = Math.max(0, Math.min(rows.length - 1, this.active.row));
    this.active.col = Math.max(-1, Math.min(columns.length - 1, this.active.col));
  }

  /** The node of the active cell (or row header), when drawn. */
  activeNode() {
    const image = this.view?.rows[this.active.row];
    const row = this.rows.get(image);
    if (!row) return null;
    return this.active.col < 0 ? row.head : row.cells.get(this.active.col)?.node ?? null;
  }

  /** One Tab stop: the active cell. */
  syncTabStop() {
    const active = this.activeNode();
    for (const node of this.inner.querySelectorAll("[tabindex='0']")) if (node !== active) node.tabIndex = -1;
    if (active) active.tabIndex = 0;
  }

  key(event) {
    if (!this.view?.rows.length) return;
    const {rows, columns} = this.view;
    const page = Math.max(1, Math.floor(this.root.clientHeight / this.geometry.row) - 1);
    const moves = {
      ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1],
      PageUp: [-page, 0], PageDown: [page, 0],
      Home: event.ctrlKey ? [-rows.length, -columns.length] : [0, -columns.length],
      End: event.ctrlKey ? [rows.length, columns.length] : [0, columns.length],
    };
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      this.choose(this.active.row, this.active.col);
      return;
    }
    const move = moves[event.key];
    if (!move) return;
    event.preventDefault();
    this.active.row += move[0];
    this.active.col += move[1];
    this.clampActive();
    this.focusActive();
  }

  /** Scrolls the active cell into view, draws it and focuses it. */
  focusActive() {
    const {row, cell} = this.geometry;
    const top = HEAD + this.active.row * row;
    if (top - HEAD < this.root.scrollTop) this.root.scrollTop = top - HEAD;
    else if (top + row > this.root.scrollTop + this.root.clientHeight) this.root.scrollTop = top + row - this.root.clientHeight;
    if (this.active.col > 0) {
      const left = this.active.col * (cell + GAP);
      if (left - (cell + GAP) < this.root.scrollLeft) this.root.scrollLeft = Math.max(0, left - (cell + GAP));
      else if (ROW_HEAD + left + cell > this.root.scrollLeft + this.root.clientWidth) {
        this.root.scrollLeft = ROW_HEAD + left + cell - this.root.clientWidth;
      }
    }
    this.render(this.view);
    this.activeNode()?.focus({preventScroll: true});
  }

  /** Acts on cell (r, k): a row header selects its image, a cell opens its comparison. */
  choose(r, k) {
    this.active = {row: r, col: k};
    const image = this.view.rows[r];
    if (k < 0) this.onSelect(image);
    else this.onPick(image, this.view.columns[k]);
  }

  /** Focuses the active cell again (when the compare view closes). */
  restoreFocus() {
    this.focusActive();
  }
}
