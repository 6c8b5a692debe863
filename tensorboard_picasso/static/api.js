/** Client for the Picasso HTTP API (docs/http_api.md). URLs are relative to the iframe
 * document, whose base is TensorBoard's `data/plugin/picasso/`, so they work behind
 * --path_prefix and proxies.
 *
 * Views pull data synchronously while they render: `get()` returns the entry of a
 * request ({status: "loading" | "ready" | "error", value, error}) and starts it when
 * needed; each settled request calls `onSettle` so the app renders again. Keys carry the
 * step's `version`, so a rewritten step is fetched again. At most MAX_IN_FLIGHT requests
 * run at once, the most recently wanted first; a queued request that no render asked for
 * since the previous frame is dropped. Decoded maps beyond MAX_CACHE_BYTES are evicted,
 * least recently used first. */

import {decodeBlock} from "./codec.js";

const MAX_IN_FLIGHT = 6;
const MAX_CACHE_BYTES = 256 * 2 ** 20;

function url(route, params) {
  return `${route}?${new URLSearchParams(params)}`;
}

/** The response of a pending fetch of `route`; a 4xx/5xx becomes an Error carrying the
 * backend's message. */
async function checked(route, pending) {
  let response;
  try {
    response = await pending;
  } catch (error) {
    throw new Error(`${route}: could not reach TensorBoard (${error.message})`);
  }
  if (!response.ok) {
    const body = await response.json().catch(() => null);
    throw new Error(body?.error ?? `${route}: HTTP ${response.status}`);
  }
  return response;
}

async function parsed(route, response) {
  try {
    return await response.json();
  } catch {
    throw new Error(`${route}: the response is not JSON`);
  }
}

function fetchOk(route, params) {
  return checked(route, fetch(url(route, params)));
}

async function getJson(route, params = {}) {
  return parsed(route, await fetchOk(route, params));
}

export class Api {
  /** `onSettle()` is called after any request of get() settles. */
  constructor(onSettle = () => {}) {
    this.onSettle = onSettle;
    this.entries = new Map(); // key -> entry, least recently used first
    this.queue = [];
    this.active = 0;
    this.bytes = 0;
    this.frame = 0;
  }

  /** The run index (never cached: it is what tells that something changed), from the
   * pending fetch `pending` when one was started early. */
  async index(pending = fetch("index")) {
    return parsed("index", await checked("index", pending));
  }

  /** Starts a new render frame: requests queued before the previous one and not asked
   * for since are dropped when their turn comes. */
  nextFrame() {
    this.frame++;
  }

  /** One method of a run over all its steps (classes, scales' quantiles, metrics,
   * verdicts); `signature` names the steps and versions it must cover. */
  series(run, method, signature) {
    return this.get(["series", run, method, signature], () => getJson("series", {run, method}));
  }

  /** A checkpoint's maps (a grid column), decoded: {header, maps[image][j]}. */
  block(run, method, step, version, prefetch = false) {
    return this.get(["block", run, method, step, version], async () =>
      decodeBlock(await (await fetchOk("block", {run, method, step})).arrayBuffer()), prefetch);
  }

  predictions(run, step, version) {
    return this.get(["predictions", run, step, version], () => getJson("predictions", {run, step}));
  }

  /** The URL of a probe image's PNG (drawn by <img> elements; the browser caches it). */
  probeUrl(run, image) {
    return url("probe", {run, image});
  }

  /** The entry of `key`, started (or re-queued) when absent; `prefetch` requests wait
   * behind those a view shows. */
  get(keyParts, load, prefetch = false) {
    const key = keyParts.join("\u0000"); // names are any text but NUL
    let entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key); // re-inserted as the most recently used
    } else {
      entry = {key, status: "loading", value: null, error: null, bytes: 0, load, queued: true};
      this.queue.push(entry);
    }
    entry.frame = this.frame;
    entry.prefetch = prefetch && (entry.prefetch ?? true);
    this.entries.set(key, entry);
    queueMicrotask(() => this.pump());
    return entry;
  }

  /** Forgets failed requests, so the next render asks again (after TensorBoard reloaded). */
  retryFailed() {
    for (const [key, entry] of this.entries) if (entry.status === "error") this.entries.delete(key);
  }

  /** Starts queued requests: the most recently wanted, shown before prefetched. */
  pump() {
    this.queue = this.queue.filter((entry) => {
      if (entry.frame >= this.frame - 1) return true;
      this.entries.delete(entry.key); // nobody wants it any more: asked again later if needed
      return false;
    });
    this.queue.sort((a, b) => (a.prefetch - b.prefetch) || (b.frame - a.frame));
    while (this.active < MAX_IN_FLIGHT && this.queue.length) {
      const entry = this.queue.shift();
      entry.queued = false;
      this.active++;
      entry.load().then((value) => {
        Object.assign(entry, {status: "ready", value, bytes: value?.bytes ?? 0});
        this.bytes += entry.bytes;
        this.evict();
      }, (error) => {
        Object.assign(entry, {status: "error", error});
      }).finally(() => {
        this.active--;
        this.pump();
        this.onSettle();
      });
    }
  }

  /** Drops the least recently used decoded blocks while they exceed MAX_CACHE_BYTES. */
  evict() {
    for (const [key, entry] of this.entries) {
      if (this.bytes <= MAX_CACHE_BYTES) break;
      if (!entry.bytes) continue;
      this.entries.delete(key);
      this.bytes -= entry.bytes;
    }
  }
}
