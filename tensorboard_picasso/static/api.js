/** Client for the Picasso HTTP API (docs/http_api.md). URLs are relative to the iframe
 * document, whose base is TensorBoard's `data/plugin/picasso/`, so they work behind
 * --path_prefix and proxies.
 *
 * Views pull data synchronously while they render: `get()` returns the entry of a
 * request ({status: "loading" | "ready" | "error", value, error}) and starts it when
 * needed; each settled request calls `onSettle` so the app renders again. Keys carry the
 * step's `version`, so a rewritten step is fetched again. At most MAX_IN_FLIGHT requests
 * are on the network at once (a block's decoding, in a worker, does not count), by
 * priority and the most recently wanted first; a queued request that no render asked for
 * since the previous frame is dropped. Decoded maps beyond MAX_CACHE_BYTES are evicted,
 * least recently used first. */

import {decodeBlock, storedMaps} from "./codec.js";

const MAX_IN_FLIGHT = 6;
/** Request priorities: maps first, then captions, then steps fetched ahead. */
export const MAPS = 0;
export const CAPTIONS = 1;
export const AHEAD = 2;
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

/** Decodes blocks in a worker (decoder.js), so a large checkpoint never blocks the page;
 * in this thread when the worker cannot start. */
class Decoder {
  constructor() {
    this.waiting = new Map(); // id -> {resolve, reject, buffer}
    this.nextId = 0;
    this.proven = false; // the worker has answered once
    try {
      this.worker = new Worker(new URL("./decoder.js", import.meta.url), {type: "module"});
      this.worker.onmessage = ({data}) => this.settle(data);
      this.worker.onerror = () => this.fallBack();
    } catch {
      this.worker = null;
    }
  }

  decode(buffer) {
    if (!this.worker) return decodeBlock(buffer);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      // A copy for decoding here, until the worker has shown it runs.
      this.waiting.set(id, {resolve, reject, buffer: this.proven ? null : buffer.slice(0)});
      this.worker.postMessage({id, buffer}, [buffer]);
    });
  }

  settle({id, error, header, q}) {
    this.proven = true;
    const waiting = this.waiting.get(id);
    this.waiting.delete(id);
    if (error) waiting.reject(new Error(error));
    else waiting.resolve(storedMaps({header, q}));
  }

  /** The worker failed to load: decode what it was given, and what comes, here. */
  fallBack() {
    this.worker = null;
    for (const {resolve, reject, buffer} of this.waiting.values()) decodeBlock(buffer).then(resolve, reject);
    this.waiting.clear();
  }
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
    this.decoder = new Decoder();
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
    return this.get(["series", run, method, signature], () => getJson("series", {run, method}), MAPS);
  }

  /** A checkpoint's maps (a grid column), decoded: {header, maps[image][j]}. */
  block(run, method, step, version, priority = MAPS) {
    return this.get(["block", run, method, step, version], async (received) => {
      const buffer = await (await fetchOk("block", {run, method, step})).arrayBuffer();
      received(); // decoding needs no connection: the next request may start
      return this.decoder.decode(buffer);
    }, priority);
  }

  predictions(run, step, version, priority = CAPTIONS) {
    return this.get(["predictions", run, step, version], () => getJson("predictions", {run, step}), priority);
  }

  /** The URL of a probe image's PNG (drawn by <img> elements; the browser caches it). */
  probeUrl(run, image) {
    return url("probe", {run, image});
  }

  /** The entry of `key`, started (or queued) when absent; the queue serves the highest
   * `priority` (lowest number) it was asked with, most recently wanted first. */
  get(keyParts, load, priority) {
    const key = keyParts.join("\u0000"); // names are any text but NUL
    let entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key); // re-inserted as the most recently used
    } else {
      entry = {key, status: "loading", value: null, error: null, bytes: 0, load, queued: true};
      this.queue.push(entry);
    }
    entry.frame = this.frame;
    entry.priority = Math.min(priority, entry.priority ?? priority);
    this.entries.set(key, entry);
    queueMicrotask(() => this.pump());
    return entry;
  }

  /** Forgets failed requests, so the next render asks again (after TensorBoard reloaded). */
  retryFailed() {
    for (const [key, entry] of this.entries) if (entry.status === "error") this.entries.delete(key);
  }

  /** Starts queued requests: by priority, then the most recently wanted. */
  pump() {
    this.queue = this.queue.filter((entry) => {
      if (entry.frame >= this.frame - 1) return true;
      this.entries.delete(entry.key); // nobody wants it any more: asked again later if needed
      return false;
    });
    this.queue.sort((a, b) => (a.priority - b.priority) || (b.frame - a.frame));
    while (this.active < MAX_IN_FLIGHT && this.queue.length) {
      const entry = this.queue.shift();
      entry.queued = false;
      this.active++;
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        this.active--;
        this.pump();
      };
      entry.load(release).then((value) => {
        Object.assign(entry, {status: "ready", value, bytes: value?.bytes ?? 0});
        this.bytes += entry.bytes;
        this.evict();
      }, (error) => {
        Object.assign(entry, {status: "error", error});
      }).finally(() => {
        release();
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
