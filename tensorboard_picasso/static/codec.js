/** The `block` route's body (docs/http_api.md): a checkpoint's maps in their stored
 * compact form, decoded in the browser.
 *
 * Body: uint32 LE n | header JSON (n bytes) | zlib block. Inflated, the block holds two
 * byte planes of M*H*W bytes (low bytes, then high bytes) of uint16 `d`: each map's 16-bit
 * quantised values `q`, differenced along the width and then along the height. Summing
 * back along both axes (mod 65536) gives `q`; the value is lo + q / 65535 * (hi - lo). */

const LEVELS = 65535;

/** zlib (RFC 1950) bytes inflated by the browser, off the main thread. */
async function inflate(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** `q` of `count` maps of `height`×`width` from the inflated planes (one pass per map:
 * a running sum along each row, plus the row above). */
function undelta(planes, count, height, width) {
  const size = count * height * width;
  const q = new Uint16Array(size);
  const high = size;
  for (let m = 0; m < count; m++) {
    const base = m * height * width;
    for (let r = 0; r < height; r++) {
      let run = 0;
      const row = base + r * width;
      for (let c = 0; c < width; c++) {
        const k = row + c;
        run = (run + (planes[k] | (planes[high + k] << 8))) & 0xffff;
        q[k] = r ? (run + q[k - width]) & 0xffff : run;
      }
    }
  }
  return q;
}

/** A map of the block: its class and stored range, its quantised values, and value(k). */
class StoredMap {
  constructor(cls, [lo, hi], width, height, q, absQuantiles) {
    Object.assign(this, {cls, lo, hi, width, height, q, absQuantiles});
    this.step = (hi - lo) / LEVELS; // value of one quantisation level
  }

  /** The stored value at pixel index k (row-major), in the map's units. */
  value(k) {
    return this.lo + this.q[k] * this.step;
  }

  /** True when every value is 0 (lo == hi == 0). */
  get zero() {
    return this.lo === 0 && this.hi === 0;
  }
}

/** Decodes a `block` response body: {header, q} with q the quantised values of every map
 * (Uint16Array, maps in block order). Pure computation: it runs in a worker (decoder.js).
 * Throws an Error naming what does not fit. */
export async function decodeBody(buffer) {
  const view = new DataView(buffer);
  if (buffer.byteLength < 4) throw new Error("block: the response is empty");
  const length = view.getUint32(0, true);
  if (4 + length > buffer.byteLength) throw new Error("block: the header is cut short");
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, length)));
  const {targets, height, width} = header;
  const count = targets.reduce((sum, classes) => sum + classes.length, 0);
  const planes = await inflate(new Uint8Array(buffer, 4 + length));
  if (planes.length !== 2 * count * height * width) {
    throw new Error(`block: ${planes.length} bytes inflated, expected ${2 * count * height * width} ` +
      `for ${count} maps of ${width}×${height}`);
  }
  return {header, q: undelta(planes, count, height, width)};
}

/** The maps of a decoded body: {header, maps: [image][j] -> StoredMap, bytes} (maps in
 * `header.targets` order). */
export function storedMaps({header, q}) {
  const {targets, ranges, height, width} = header;
  const pixels = height * width;
  let m = 0;
  const maps = targets.map((classes, image) => classes.map((cls, j) =>
    new StoredMap(cls, ranges[image][j], width, height, q.subarray(pixels * m, pixels * ++m),
      header.abs_quantiles?.[image]?.[j] ?? null)));
  return {header, maps, bytes: q.byteLength};
}

/** Decodes a `block` response body in this thread: storedMaps(await decodeBody(buffer)). */
export async function decodeBlock(buffer) {
  return storedMaps(await decodeBody(buffer));
}
