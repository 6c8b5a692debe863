/** A tiny DOM builder. Text reaches the page only through Text nodes and textContent,
 * never as HTML: run, class and error strings are untrusted. */

/** Creates `<tag>` with `props` (text, class, on<event>, DOM properties, else attributes). */
export function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value == null) continue;
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

/** Replaces a <select>'s options with `items` ({value, label, disabled}) when they
 * changed, and selects `value`. Option values are strings. */
export function setOptions(select, items, value) {
  const signature = JSON.stringify(items);
  if (select.dataset.options !== signature) {
    select.replaceChildren(...items.map((item) =>
      el("option", {value: String(item.value), text: item.label, disabled: !!item.disabled})));
    select.dataset.options = signature;
  }
  select.value = String(value);
}

/** A labelled control: <label class="control">Label <select|input></label>. */
export function labelled(label, control) {
  return el("label", {class: "control"}, [el("span", {text: label}), control]);
}

/** A short number for labels: 3 significant digits, exponent when tiny or huge. */
export function fmt(value) {
  const a = Math.abs(value);
  if (a === 0) return "0";
  return a < 1e-3 || a >= 1e4 ? value.toExponential(1) : String(Number(value.toPrecision(3)));
}

/** A value read out under the pointer: 4 significant digits, signed when `signed`. */
export function precise(value, signed = false) {
  if (value === 0) return "0";
  const a = Math.abs(value);
  const text = a < 1e-3 || a >= 1e5 ? value.toExponential(3) : String(Number(value.toPrecision(4)));
  return signed && value > 0 ? `+${text}` : text;
}

/** Sets a node's text only when it changed (no needless layout work). */
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

/** Sets an attribute only when its value (as text) changed. */
export function attr(node, name, value) {
  const text = String(value);
  if (node.getAttribute(name) !== text) node.setAttribute(name, text);
}
