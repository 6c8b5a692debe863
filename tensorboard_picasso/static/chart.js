/** Small line charts of values over checkpoint steps: gaps where a value is missing,
 * labels at the y range's ends (and 0) and at the first and last step, a dashed marker
 * at the slider's step. Hovering shows each line's value at the nearest step; clicking
 * picks that step. The lines are drawn on one canvas, the marker and hover on a second
 * one above it, so following the slider redraws only the marker. */

import {el} from "./dom.js";

const PAD = {left: 24, right: 6, top: 6, bottom: 14}; // CSS px around the plot

/** A canvas of `width`×`height` CSS px, with backing pixels for the screen's density. */
function hiDpiCanvas(width, height, className) {
  const ratio = window.devicePixelRatio || 1;
  const canvas = el("canvas", {class: className, width: Math.round(width * ratio), height: Math.round(height * ratio)});
  Object.assign(canvas.style, {width: `${width}px`, height: `${height}px`});
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  return canvas;
}

/** The y range for `lines`: [0, 1], widened in steps of 0.5 to hold every value. */
function yRange(lines) {
  const values = lines.flatMap((line) => line.values).filter((v) => v !== null);
  return {lo: Math.min(0, Math.floor(2 * Math.min(...values)) / 2), hi: Math.max(1, Math.ceil(2 * Math.max(...values)) / 2)};
}

export class LineChart {
  /** A chart of `width`×`height` CSS px; `label(step)` names steps; `onPick(step)` is
   * called when the user clicks near a step; `describe` names the chart for screen readers. */
  constructor({width, height, label, onPick, describe}) {
    Object.assign(this, {width, height, label, onPick});
    this.base = hiDpiCanvas(width, height, "chart-lines");
    this.over = hiDpiCanvas(width, height, "chart-over");
    this.tip = el("div", {class: "chart-tip", hidden: true});
    this.root = el("div", {class: "chart", role: "img", "aria-label": describe}, [this.base, this.over, this.tip]);
    this.root.style.width = `${width}px`;
    this.root.style.height = `${height}px`;
    this.over.addEventListener("pointermove", (event) => this.hover(event));
    this.over.addEventListener("pointerleave", () => this.hover(null));
    this.over.addEventListener("click", (event) => {
      const i = this.nearest(event);
      if (i !== null) this.onPick(this.data.steps[i]);
    });
  }

  x(step) {
    const {steps} = this.data;
    const [first, last] = [steps[0], steps.at(-1)];
    return PAD.left + (last === first ? 0.5 : (step - first) / (last - first)) * (this.width - PAD.left - PAD.right);
  }

  y(value) {
    const {lo, hi} = this.range;
    return PAD.top + ((hi - value) / (hi - lo)) * (this.height - PAD.top - PAD.bottom);
  }

  /** Draws `lines` ([{values (null = missing), colour, name}], one value per step of
   * `steps`) and the marker at step `marker`. */
  draw({steps, lines, marker}) {
    this.data = {steps, lines};
    this.range = yRange(lines);
    const ctx = this.base.getContext("2d");
    const style = getComputedStyle(this.root);
    this.colours = Object.fromEntries(["--muted", "--line", "--ink"].map((name) => [name, style.getPropertyValue(name).trim()]));
    ctx.clearRect(0, 0, this.width, this.height);
    ctx.font = "10px Roboto, Arial, sans-serif";
    ctx.fillStyle = this.colours["--muted"];
    ctx.strokeStyle = this.colours["--line"];
    ctx.lineWidth = 1;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (const value of new Set([this.range.lo, 0, this.range.hi])) {
      const y = Math.round(this.y(value)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(PAD.left, y);
      ctx.lineTo(this.width - PAD.right, y);
      ctx.stroke();
      ctx.fillText(String(value), PAD.left - 4, this.y(value));
    }
    ctx.textBaseline = "bottom";
    ctx.textAlign = "left";
    ctx.fillText(this.label(steps[0]), PAD.left, this.height);
    ctx.textAlign = "right";
    if (steps.length > 1) ctx.fillText(this.label(steps.at(-1)), this.width - PAD.right, this.height);
    for (const {values, colour} of lines) {
      const points = values.map((value, i) => value === null ? null : [this.x(steps[i]), this.y(value)]);
      ctx.strokeStyle = ctx.fillStyle = colour;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      points.forEach((point, i) => {
        if (point && points[i - 1]) ctx.lineTo(...point);
        else if (point) ctx.moveTo(...point);
      });
      ctx.stroke();
      points.forEach((point, i) => { // a value with no neighbour to join is a dot
        if (point && !points[i - 1] && !points[i + 1]) {
          ctx.beginPath();
          ctx.arc(...point, 1.5, 0, 2 * Math.PI);
          ctx.fill();
        }
      });
    }
    this.mark(marker);
  }

  /** Moves the marker to `step` (and redraws the hover line, if any). */
  mark(step) {
    this.marker = step;
    const ctx = this.over.getContext("2d");
    ctx.clearRect(0, 0, this.width, this.height);
    const {steps, lines} = this.data;
    for (const [i, dashed] of [[steps.indexOf(step), true], [this.hovered ?? -1, false]]) {
      if (i < 0) continue;
      const x = Math.round(this.x(steps[i])) + 0.5;
      ctx.strokeStyle = this.colours[dashed ? "--muted" : "--ink"];
      ctx.lineWidth = 1;
      ctx.setLineDash(dashed ? [2, 2] : []);
      ctx.beginPath();
      ctx.moveTo(x, PAD.top);
      ctx.lineTo(x, this.height - PAD.bottom);
      ctx.stroke();
      ctx.setLineDash([]);
      for (const {values, colour} of lines) {
        if (values[i] === null) continue;
        ctx.fillStyle = colour;
        ctx.beginPath();
        ctx.arc(this.x(steps[i]), this.y(values[i]), 2.5, 0, 2 * Math.PI);
        ctx.fill();
      }
    }
  }

  /** The index of the step nearest the pointer of `event`, or null. */
  nearest(event) {
    const {steps} = this.data ?? {steps: []};
    if (!steps.length) return null;
    const x = event.offsetX;
    let best = 0;
    steps.forEach((step, i) => {
      if (Math.abs(this.x(step) - x) < Math.abs(this.x(steps[best]) - x)) best = i;
    });
    return best;
  }

  /** Shows the values at the step nearest the pointer (null: hides them). */
  hover(event) {
    this.hovered = event ? this.nearest(event) : null;
    this.mark(this.marker);
    this.tip.hidden = this.hovered === null;
    if (this.hovered === null) return;
    const i = this.hovered;
    const fmt = (v) => (v === null ? "–" : v.toFixed(2));
    this.tip.textContent = `${this.label(this.data.steps[i])}: ` +
      this.data.lines.map((line) => `${line.name} ${fmt(line.values[i])}`).join(" · ");
    const x = this.x(this.data.steps[i]);
    this.tip.style.left = x < this.width / 2 ? `${x + 6}px` : "";
    this.tip.style.right = x < this.width / 2 ? "" : `${this.width - x + 6}px`;
  }
}
