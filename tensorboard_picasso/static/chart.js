/** Small line charts on a canvas: values over checkpoint steps, with gaps where a value
 * is missing, labels at the y range's ends (and 0), the first and last step, and a
 * dashed marker line. */

import {el} from "./dom.js";

const FONT = "10px Roboto, Arial, sans-serif";
const GRID = "#e0e0e0";
const MUTED = "#757575";
const MARKER = "#bdbdbd";
const PAD = {left: 24, right: 6, top: 6, bottom: 14}; // CSS px around the plot

/** A canvas of `width`×`height` CSS px, with backing pixels for the screen's density. */
export function chartCanvas(width, height, className) {
  const ratio = window.devicePixelRatio || 1;
  const canvas = el("canvas", {class: className, width: Math.round(width * ratio), height: Math.round(height * ratio)});
  Object.assign(canvas.style, {width: `${width}px`, height: `${height}px`});
  return canvas;
}

/** The y range for `lines`: [0, 1], widened in steps of 0.5 to hold every value. */
function yRange(lines) {
  const values = lines.flatMap((line) => line.values).filter((v) => v !== null);
  return {lo: Math.min(0, Math.floor(2 * Math.min(...values)) / 2), hi: Math.max(1, Math.ceil(2 * Math.max(...values)) / 2)};
}

/** Draws `lines` ([{values (null = missing), colour}], one value per step of `steps`) on
 * `canvas`, with a dot at step `marker` on each line; `label(step)` names the x ends. */
export function lineChart(canvas, {steps, lines, marker, label}) {
  const ratio = canvas.width / parseFloat(canvas.style.width);
  const [width, height] = [canvas.width / ratio, canvas.height / ratio];
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const {lo, hi} = yRange(lines);
  const [first, last] = [steps[0], steps.at(-1)];
  const x = (step) => PAD.left + (last === first ? 0.5 : (step - first) / (last - first)) * (width - PAD.left - PAD.right);
  const y = (value) => PAD.top + ((hi - value) / (hi - lo)) * (height - PAD.top - PAD.bottom);

  ctx.font = FONT;
  ctx.fillStyle = MUTED;
  ctx.strokeStyle = GRID;
  ctx.lineWidth = 1;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const value of new Set([lo, 0, hi])) {
    ctx.beginPath();
    ctx.moveTo(PAD.left, Math.round(y(value)) + 0.5);
    ctx.lineTo(width - PAD.right, Math.round(y(value)) + 0.5);
    ctx.stroke();
    ctx.fillText(String(value), PAD.left - 4, y(value));
  }
  ctx.textBaseline = "bottom";
  ctx.textAlign = "left";
  ctx.fillText(label(first), PAD.left, height);
  ctx.textAlign = "right";
  if (last !== first) ctx.fillText(label(last), width - PAD.right, height);

  if (steps.includes(marker)) {
    ctx.strokeStyle = MARKER;
    ctx.setLineDash([2, 2]);
    ctx.beginPath();
    ctx.moveTo(Math.round(x(marker)) + 0.5, PAD.top);
    ctx.lineTo(Math.round(x(marker)) + 0.5, height - PAD.bottom);
    ctx.stroke();
    ctx.setLineDash([]);
  }
  for (const {values, colour} of lines) {
    const points = values.map((value, i) => value === null ? null : [x(steps[i]), y(value)]);
    ctx.strokeStyle = ctx.fillStyle = colour;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    points.forEach((point, i) => {
      if (point && points[i - 1]) ctx.lineTo(...point);
      else if (point) ctx.moveTo(...point);
    });
    ctx.stroke();
    // Dots where a value has no neighbour to join, and at the marker.
    points.forEach((point, i) => {
      const alone = !points[i - 1] && !points[i + 1];
      if (point && (alone || steps[i] === marker)) {
        ctx.beginPath();
        ctx.arc(...point, alone ? 1.5 : 2.5, 0, 2 * Math.PI);
        ctx.fill();
      }
    });
  }
}
