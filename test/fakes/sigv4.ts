// Verifies AWS Signature Version 4 (Authorization header form) exactly as AWS computes it.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface SigV4Auth {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

export interface SignedRequest {
  method: string;
  /** The request target as sent: path plus optional ?query. */
  url: string;
  /** Node's rawHeaders: [name, value, name, value, …]. */
  rawHeaders: string[];
  body: Buffer;
}

const AUTH_RE =
  /^AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request\s*,\s*SignedHeaders=([^,\s]+)\s*,\s*Signature=([0-9a-f]{64})\s*$/;

/** undefined when there is no header; 'malformed' when there is one we cannot read. */
export function parseAuthorization(header: string | undefined): SigV4Auth | 'malformed' | undefined {
  if (header === undefined || header === '') return undefined;
  const m = AUTH_RE.exec(header);
  if (!m) return 'malformed';
  return {
    accessKeyId: m[1] as string,
    date: m[2] as string,
    region: m[3] as string,
    service: m[4] as string,
    signedHeaders: (m[5] as string).split(';'),
    signature: m[6] as string,
  };
}

function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function canonicalQuery(query: string): string {
  if (query === '') return '';
  const pairs = query
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const i = p.indexOf('=');
      const k = i < 0 ? p : p.slice(0, i);
      const v = i < 0 ? '' : p.slice(i + 1);
      return [uriEncode(safeDecode(k)), uriEncode(safeDecode(v))] as const;
    });
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/** Non-S3 services encode each path segment of the (already encoded) path once more. */
function canonicalPath(path: string): string {
  return path.split('/').map(uriEncode).join('/') || '/';
}

function headerValues(rawHeaders: string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as string).toLowerCase();
    const value = (rawHeaders[i + 1] as string).trim().replace(/\s+/g, ' ');
    const list = out.get(name) ?? [];
    list.push(value);
    out.set(name, list);
  }
  return out;
}

const sha256hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

function canonicalRequest(req: SignedRequest, auth: SigV4Auth): string | undefined {
  const q = req.url.indexOf('?');
  const path = q < 0 ? req.url : req.url.slice(0, q);
  const query = q < 0 ? '' : req.url.slice(q + 1);
  const headers = headerValues(req.rawHeaders);
  const lines: string[] = [];
  for (const name of auth.signedHeaders) {
    const values = headers.get(name);
    if (values === undefined) return undefined;
    lines.push(`${name}:${values.join(',')}`);
  }
  const declared = headers.get('x-amz-content-sha256')?.[0];
  const actual = sha256hex(req.body);
  if (declared !== undefined && declared !== actual && declared !== 'UNSIGNED-PAYLOAD') return undefined;
  return [req.method, canonicalPath(path), canonicalQuery(query), lines.join('\n') + '\n', auth.signedHeaders.join(';'), declared ?? actual].join('\n');
}

/** True when the signature was made with this secret over this very request. */
export function verifySigV4(req: SignedRequest, auth: SigV4Auth, secretAccessKey: string): boolean {
  if (!auth.signedHeaders.includes('host')) return false;
  const headers = headerValues(req.rawHeaders);
  const amzDate = headers.get('x-amz-date')?.[0];
  if (amzDate === undefined || !amzDate.startsWith(auth.date)) return false;
  const canonical = canonicalRequest(req, auth);
  if (canonical === undefined) return false;
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256hex(canonical)].join('\n');
  let key = hmac('AWS4' + secretAccessKey, auth.date);
  key = hmac(key, auth.region);
  key = hmac(key, auth.service);
  key = hmac(key, 'aws4_request');
  const expected = createHmac('sha256', key).update(stringToSign, 'utf8').digest();
  const given = Buffer.from(auth.signature, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
