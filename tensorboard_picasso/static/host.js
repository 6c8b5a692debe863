/** The tab as part of TensorBoard: the bridge to the TensorBoard page around its iframe.
 *
 * - TensorBoard 2.21's experimental iframe protocol (tensorboard/components/experimental/
 *   in TensorBoard's source): the iframe posts "experimental.bootstrap" with a
 *   MessagePort to its parent; messages on the port are JSON {type, id, payload, error,
 *   isReply}. The host broadcasts "experimental.DataReloaded" whenever TensorBoard
 *   reloads its data (its reload button, or its auto-reload when that setting is on) and
 *   "experimental.RunsChanged" (the run names) when runs appear; it answers
 *   "experimental.GetRuns".
 * - URL plugin data: TensorBoard keeps `p.<plugin>.<key>` entries in its page's URL hash
 *   ("#picasso&p.picasso.run=..."). Its "experimental.GetURLPluginData" answers from a
 *   copy of the hash that TensorBoard refreshes only on a hashchange event (so it is empty
 *   on a freshly opened link), and the protocol has no message to write them: the tab
 *   reads and writes the parent's hash itself (same origin), in TensorBoard's encoding,
 *   replacing the history entry as TensorBoard's own storage does.
 * - Theme: TensorBoard puts class "dark-mode" on its page's body (from its theme setting,
 *   `?darkMode=true`, or the OS preference); outside TensorBoard the OS preference rules.
 * - Visibility: TensorBoard hides an inactive dashboard's iframe with an inline style.
 * - Run selection and colours are not part of the protocol ("GetRuns" lists every run):
 *   they are read from TensorBoard's runs table (the Time Series dashboard's run
 *   selector, kept in the page once opened): each row's checkbox and colour swatch (a run
 *   its regex filter hides has no row). Until that table exists every run is selected, coloured as TensorBoard colours runs by
 *   default: its palette in the order of the run list. */

const PROTOCOL = "experimental";
const REPLY_MS = 3000;
const PREFIX = "p.picasso.";
// TensorBoard's default run palette (light, dark), assigned in the order of its run list.
const PALETTE = [["#425066", "#8e98a3"], ["#12b5cb", "#12b5cb"], ["#e52592", "#e52592"],
  ["#f9ab00", "#f9ab00"], ["#9334e6", "#9334e6"], ["#7cb342", "#7cb342"], ["#e8710a", "#e8710a"]];

/** The parent TensorBoard page's window, or null outside TensorBoard (or cross-origin). */
function tensorBoardWindow() {
  try {
    return window.parent !== window && window.parent.document ? window.parent : null;
  } catch {
    return null;
  }
}

/** A hash "#tab&k=v&..." as {tab, entries: [[key, value]]} (TensorBoard's encoding). */
function parseHash(hash) {
  const [tab, ...pairs] = hash.replace(/^#/, "").split("&");
  const entries = pairs.map((pair) => pair.split("=")).filter((kv) => kv.length === 2)
    .map(([k, v]) => [decodeURIComponent(k), decodeURIComponent(v)]);
  return {tab: tab.includes("=") ? "" : tab, entries};
}

export class Host {
  constructor() {
    this.parent = tensorBoardWindow();
    this.listeners = new Map(); // message type -> callback
    this.waiting = new Map(); // message id -> {resolve, reject}
    this.nextId = 0;
    this.port = null;
    if (this.parent) this.bootstrap();
  }

  get inTensorBoard() {
    return this.parent !== null;
  }

  bootstrap() {
    const channel = new MessageChannel();
    this.port = channel.port1;
    this.port.addEventListener("message", (event) => this.receive(event));
    this.port.start();
    this.parent.postMessage(`${PROTOCOL}.bootstrap`, "*", [channel.port2]);
  }

  receive(event) {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    if (message.isReply) {
      const waiting = this.waiting.get(message.id);
      this.waiting.delete(message.id);
      if (message.error) waiting?.reject(new Error(message.error));
      else waiting?.resolve(message.payload);
      return;
    }
    const callback = this.listeners.get(message.type);
    Promise.resolve(callback ? callback(message.payload) : null).then(
      (payload) => this.post({type: message.type, id: message.id, payload, error: null, isReply: true}),
      (error) => this.post({type: message.type, id: message.id, payload: null, error: String(error), isReply: true}));
  }

  post(message) {
    this.port.postMessage(JSON.stringify(message));
  }

  /** Sends a message to TensorBoard; rejects without an answer within REPLY_MS. */
  send(type, payload = null) {
    if (!this.port) return Promise.reject(new Error("not inside TensorBoard"));
    const id = this.nextId++;
    this.post({type, id, payload, error: null, isReply: false});
    return new Promise((resolve, reject) => {
      this.waiting.set(id, {resolve, reject});
      setTimeout(() => {
        if (this.waiting.delete(id)) reject(new Error(`TensorBoard did not answer ${type}`));
      }, REPLY_MS);
    });
  }

  /** Calls `callback()` whenever TensorBoard has reloaded its data. */
  onDataReloaded(callback) {
    this.listeners.set(`${PROTOCOL}.DataReloaded`, () => callback());
  }

  /** Calls `callback()` when TensorBoard's run list changes. */
  onRunsChanged(callback) {
    this.listeners.set(`${PROTOCOL}.RunsChanged`, () => callback());
  }

  /** TensorBoard's run names, in its order; null outside TensorBoard. */
  async runNames() {
    if (!this.port) return null;
    try {
      return await this.send(`${PROTOCOL}.GetRuns`);
    } catch {
      return null;
    }
  }

  /** The tab's URL plugin data: {key: string} from the page's `p.picasso.<key>` entries. */
  urlData() {
    if (!this.parent) return {};
    const {entries} = parseHash(this.parent.location.hash);
    return Object.fromEntries(entries.filter(([k]) => k.startsWith(PREFIX)).map(([k, v]) => [k.slice(PREFIX.length), v]));
  }

  /** Replaces the tab's URL plugin data with `data` ({key: string}; keys left out are
   * removed), keeping TensorBoard's own entries; no new history entry. */
  setUrlData(data) {
    if (!this.parent) return;
    const location = this.parent.location;
    const {tab, entries} = parseHash(location.hash);
    const kept = entries.filter(([k]) => !k.startsWith(PREFIX));
    const ours = Object.entries(data).map(([k, v]) => [PREFIX + k, String(v)]);
    const pairs = [...kept, ...ours].map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
    const hash = [tab, ...pairs].join("&");
    if (hash === location.hash.replace(/^#/, "")) return;
    const next = new URL(location.href);
    next.hash = hash;
    this.parent.history.replaceState(this.parent.history.state, "", next.toString());
  }

  /** "dark" or "light": TensorBoard's theme, or the OS preference outside TensorBoard. */
  theme() {
    if (this.parent) return this.parent.document.body.classList.contains("dark-mode") ? "dark" : "light";
    return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }

  /** Calls `callback(theme())` when the theme changes. */
  onThemeChange(callback) {
    const notify = () => callback(this.theme());
    if (this.parent) {
      new this.parent.MutationObserver(notify).observe(this.parent.document.body, {attributes: true, attributeFilter: ["class"]});
    } else {
      window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", notify);
    }
  }

  /** False while TensorBoard shows another dashboard (the tab's iframe is hidden). */
  visible() {
    const frame = this.parent ? window.frameElement : null;
    return !frame || frame.style.visibility !== "hidden";
  }

  /** Calls `callback(visible())` when the tab is shown or hidden. */
  onVisibilityChange(callback) {
    const frame = this.parent ? window.frameElement : null;
    if (frame) {
      new this.parent.MutationObserver(() => callback(this.visible())).observe(frame, {attributes: true, attributeFilter: ["style"]});
    }
  }

  /** TensorBoard's run selection: {selected(run) -> boolean, colour(run) -> CSS colour
   * or null}, for `names` (TensorBoard's run list, or null outside TensorBoard). */
  runSelection(names) {
    const rows = this.parent ? [...this.parent.document.querySelectorAll("tb-data-table-content-row[data-id]")] : [];
    const table = new Map(rows.map((row) => {
      const box = row.querySelector("input[type=checkbox]");
      const swatch = row.querySelector(".run-color-swatch");
      // data-id is "<experiment id>/<run name>"
      return [row.dataset.id.slice(row.dataset.id.indexOf("/") + 1), {
        selected: box ? box.checked : true, colour: swatch?.style.background || null}];
    }));
    const dark = this.theme() === "dark";
    const order = new Map((names ?? []).map((name, i) => [name, PALETTE[i % PALETTE.length][dark ? 1 : 0]]));
    // Once the table exists, a run it does not list is filtered out by its regex filter.
    return {
      selected: (run) => table.get(run)?.selected ?? !table.size,
      colour: (run) => table.get(run)?.colour ?? order.get(run) ?? null,
    };
  }
}
