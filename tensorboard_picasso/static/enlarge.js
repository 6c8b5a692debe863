/** The enlarged view (dialog#enlarge): one map at actual size (one map pixel per CSS
 * pixel, or an integer zoom), over its probe image with adjustable brightness and
 * contrast, with the value under the pointer. Esc or Close closes it. */

import {el, labelled, precise} from "./dom.js";

const ZOOMS = [1, 2, 4, 8];

export class Enlarged {
  constructor() {
    this.title = el("h2");
    this.canvas = el("canvas", {class: "enlarged-map", role: "img"});
    this.probe = el("img", {class: "probe", alt: ""});
    this.box = el("div", {class: "enlarged-box"}, [this.probe, this.canvas]);
    this.readout = el("p", {class: "readout", text: "Point at the map to read its value."});
    const slider = (id, min, max, step, value, oninput) => el("input", {id, type: "range", min, max, step, value, oninput});
    this.zoom = el("select", {id: "enlarge-zoom", onchange: () => this.layout()},
      ZOOMS.map((z) => el("option", {value: String(z), text: z === 1 ? "actual size (1×)" : `${z}×`})));
    this.brightness = slider("enlarge-brightness", 0.2, 3, 0.05, 1, () => this.filter());
    this.contrast = slider("enlarge-contrast", 0.2, 3, 0.05, 1, () => this.filter());
    this.opacity = slider("enlarge-opacity", 0, 1, 0.05, 0.6, () => this.box.style.setProperty("--map-opacity", this.opacity.value));
    this.root = el("dialog", {id: "enlarge", "aria-labelledby": "enlarge-title"}, [
      el("div", {class: "enlarge-head"}, [this.title,
        el("button", {id: "enlarge-close", type: "button", text: "Close", onclick: () => this.root.close()})]),
      el("div", {class: "enlarge-controls"}, [labelled("Zoom", this.zoom), labelled("Brightness", this.brightness),
        labelled("Contrast", this.contrast), labelled("Map opacity", this.opacity)]),
      el("div", {class: "enlarged-scroll"}, [this.box]), this.readout,
    ]);
    this.title.id = "enlarge-title";
    this.canvas.addEventListener("pointermove", (event) => this.hover(event));
    document.body.append(this.root);
  }

  /** Opens a map: {title, probe (URL), width, height, paint(canvas), value(k), opacity}. */
  open({title, probe, width, height, paint, value, opacity}) {
    Object.assign(this, {width, height, value});
    this.title.textContent = title;
    this.canvas.setAttribute("aria-label", title);
    this.probe.src = probe;
    paint(this.canvas);
    this.zoom.value = String(Math.max(1, ...ZOOMS.filter((z) => z * Math.max(width, height) <= 512)));
    this.opacity.value = String(opacity);
    this.box.style.setProperty("--map-opacity", String(opacity));
    this.layout();
    this.readout.textContent = "Point at the map to read its value.";
    if (!this.root.open) this.root.showModal();
  }

  layout() {
    const zoom = Number(this.zoom.value);
    this.box.style.width = `${this.width * zoom}px`;
    this.box.style.height = `${this.height * zoom}px`;
  }

  filter() {
    this.probe.style.filter = `brightness(${this.brightness.value}) contrast(${this.contrast.value})`;
  }

  hover(event) {
    const rect = this.canvas.getBoundingClientRect();
    const x = Math.min(this.width - 1, Math.floor(((event.clientX - rect.left) / rect.width) * this.width));
    const y = Math.min(this.height - 1, Math.floor(((event.clientY - rect.top) / rect.height) * this.height));
    this.readout.textContent = `value at (${x}, ${y}): ${precise(this.value(y * this.width + x))}`;
  }
}
