/** Client for the Picasso HTTP API (docs/http_api.md). URLs are relative to the iframe
 * document, whose base is TensorBoard's `data/plugin/picasso/`, so they work behind
 * --path_prefix and proxies. Responses for logged steps never change, so they are
 * cached (least recently used maps are dropped past MAX_CACHE_BYTES); at most
 * MAX_IN_FLIGHT requests run at a time. */

const MAX_IN_FLIGHT = 8;
const MAX_CACHE_BYTES = 256 * 2 ** 20; // decoded maps kept for redraws and scrubbing

/** Rejection of a queued request nobody wanted any more when its turn came. */
class Skipped extends Error {}

/** Runs async jobs FIFO, at most `size` at a time; skips jobs whose wanted() is false. */
class Pool {
  constructor(size) {
    this.size = size;
    this.active = 0;
    this.queue = [];
  }

  run(job, wanted) {
    return new Promise((resolve, reject) => {
      this.queue.push({job, wanted, resolve, reject});
      this.next();
    });
  }

  next() {
    while (this.active < this.size && this.queue.length) {
      const task = this.queue.shift();
      if (!task.wanted()) {
        task.reject(new Skipped("no longer needed"));
        continue;
      }
      this.active++;
      task.job().then(task.resolve, task.reject).finally(() => {
        this.active--;
        this.next();
      });
    }
  }
}

function url(route, params) {
  return `${route}?${new URLSearchParams(params)}`;
}

/** GETs a JSON route; a 4xx/5xx becomes an Error carrying the backend's message. */
async function getJson(route, params = {}) {
  let response;
  try {
    response = await fetch(url(route, params));
  } catch (error) {
    throw new Error(`${route}: could not reach TensorBoard (${error.message})`);
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new Error(body?.error ?? `${route}: HTTP ${response.status}`);
  if (body === null) throw new Error(`${route}: the response is not JSON`);
  return body;
}

/** One map of a `mapset` response (with the set's size) as {width, height, values:
 * Float32Array, targetClass, targetName} (targetName may be null: see className() in
 * predictions.js). */
function decodeMap(json, width, height) {
  const binary = atob(json.data);
  const values = new Float32Array(width * height);
  if (binary.length !== values.length * 4) {
    throw new Error(`map data has ${binary.length} bytes, expected ${values.length * 4}`);
  }
  const view = new DataView(new ArrayBuffer(binary.length));
  for (let i = 0; i < binary.length; i++) view.setUint8(i, binary.charCodeAt(i));
  for (let i = 0; i < values.length; i++) values[i] = view.getFloat32(i * 4, true);
  return {width, height, values, targetClass: json.target_class, targetName: json.target_name};
}

/** A `mapset` response as its decoded maps, in probe order. */
function decodeMapset(json) {
  return json.maps.map((map) => decodeMap(map, json.width, json.height));
}

/** Loads a PNG route into a decoded <img> (same origin, so canvases stay readable). */
async function loadImage(src) {
  const image = new Image();
  image.src = src;
  try {
    await image.decode();
  } catch {
    throw new Error(`could not load the probe image (${src})`);
  }
  return image;
}

export class Api {
  constructor() {
    this.pool = new Pool(MAX_IN_FLIGHT);
    this.cache = new Map(); // key -> {promise, wants: [() => boolean] | null, bytes}, oldest first
    this.bytes = 0; // decoded map values held by the cache
  }

  /** The run index; never cached (it is polled for new checkpoints). */
  index() {
    return getJson("index");
  }

  /** Quality metrics of a method over training; not cached (it grows with each step). */
  metrics(run, method) {
    return getJson("metrics", {run, method});
  }

  /** The per-step header of a method (targets, target names, ranges). */
  header(run, method, step, wanted) {
    return this.cached({route: "maps", run, method, step}, getJson, wanted);
  }

  /** Every probe image's map at one checkpoint (a grid column), decoded: one request,
   * cached as a whole, so no map is fetched twice. */
  mapset(run, method, step, target, wanted) {
    return this.cached({route: "mapset", run, method, step, target},
      (route, params) => getJson(route, params).then(decodeMapset), wanted,
      (maps) => maps.reduce((bytes, map) => bytes + map.values.byteLength, 0));
  }

  /** One map, decoded (from its checkpoint's mapset). */
  async map(run, method, step, image, target, wanted) {
    const map = (await this.mapset(run, method, step, target, wanted))[image];
    if (!map) throw new Error(`the checkpoint has no map of image ${image}`);
    return map;
  }

  predictions(run, step, wanted) {
    return this.cached({route: "predictions", run, step}, getJson, wanted);
  }

  probe(run, image, wanted) {
    return this.cached({route: "probe", run, image}, (route, params) => loadImage(url(route, params)), wanted);
  }

  /** Shares one request per key; a queued request is skipped when no caller still
   * wants it, and a failed or skipped one is forgotten so it can be retried. `sizeOf`
   * gives the bytes of map values a response holds (for eviction). */
  cached({route, ...params}, load, wanted = () => true, sizeOf = () => 0) {
    const key = JSON.stringify([route, params]);
    let entry = this.cache.get(key);
    if (entry) {
      entry.wants?.push(wanted);
      this.cache.delete(key); // re-inserted below as the most recently used
    } else {
      entry = {wants: [wanted], bytes: 0};
      entry.promise = this.pool.run(() => load(route, params), () => entry.wants.some((w) => w()));
      entry.promise.then((value) => {
        entry.wants = null;
        entry.bytes = sizeOf(value);
        this.bytes += entry.bytes;
        this.evict();
      }, () => this.cache.delete(key));
    }
    this.cache.set(key, entry);
    return entry.promise;
  }

  /** Drops the least recently used finished responses while maps exceed MAX_CACHE_BYTES. */
  evict() {
    for (const [key, entry] of this.cache) {
      if (this.bytes <= MAX_CACHE_BYTES) break;
      if (entry.wants !== null) continue;
      this.cache.delete(key);
      this.bytes -= entry.bytes;
    }
  }
}
