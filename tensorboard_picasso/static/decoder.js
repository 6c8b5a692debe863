/** A worker that decodes `block` responses (codec.js) off the tab's main thread:
 * receives {id, buffer}, answers {id, header, q} (q transferred) or {id, error}. */

import {decodeBody} from "./codec.js";

self.onmessage = async ({data: {id, buffer}}) => {
  try {
    const {header, q} = await decodeBody(buffer);
    self.postMessage({id, header, q}, [q.buffer]);
  } catch (error) {
    self.postMessage({id, error: error.message});
  }
};
