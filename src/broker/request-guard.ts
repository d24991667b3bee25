// Decides whether a request to the credentials endpoint may be answered: loopback peer, loopback Host, token.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export type Denial = { status: 401 | 403; code: string; reason: string };

function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  return address.startsWith('127.') || address.startsWith('::ffff:127.') || address === '::1';
}

/** Host header must name this endpoint on loopback: a page on a rebound DNS name sends its own name instead. */
function isAllowedHost(host: string | undefined, port: number): boolean {
  if (host === undefined) return false;
  const h = host.toLowerCase();
  return h === `127.0.0.1:${port}` || h === `localhost:${port}`;
}

export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Compares digests, so the comparison takes the same time whatever the presented value's length or content. */
function tokenMatches(presented: string, expected: Buffer): boolean {
  return timingSafeEqual(tokenDigest(presented), expected);
}

/** The first reason to refuse the request, or undefined when host, peer and token are all right. */
export function checkRequest(req: IncomingMessage, port: number, expected: Buffer): Denial | undefined {
  if (!isLoopbackAddress(req.socket.remoteAddress)) return { status: 403, code: 'AccessDenied', reason: 'not-loopback' };
  if (!isAllowedHost(req.headers.host, port)) return { status: 403, code: 'AccessDenied', reason: 'bad-host' };
  const auth = req.headers.authorization;
  if (auth === undefined || auth === '') return { status: 401, code: 'Unauthorized', reason: 'missing-token' };
  if (!tokenMatches(auth, expected)) return { status: 403, code: 'AccessDenied', reason: 'bad-token' };
  return undefined;
}
