// The FetchLike the IMDS client needs, over node:http: the broker runs with --lite-mode (no WebAssembly), where
// the global fetch (undici) cannot start.

import { request } from 'node:http';
import type { FetchLike } from './imds.js';

/** Largest metadata answer read (a credentials document is ~1.5 KB). */
const MAX_BODY = 256 * 1024;

export const nodeHttpFetch: FetchLike = (url, init) =>
  new Promise((resolve, reject) => {
    const req = request(url, { method: init.method, headers: init.headers, ...(init.signal !== undefined ? { signal: init.signal } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) return req.destroy(new Error(`answer from ${url} is larger than ${MAX_BODY} bytes`));
        chunks.push(c);
      });
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, text: async () => body });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
