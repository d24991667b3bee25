// The broker's listen address: "host:port" (IPv6 as "[::1]:8443") parsed, and whether the host is loopback.

import { isIP } from 'node:net';

export interface ListenAddress {
  host: string;
  port: number;
}

/** Parses "host:port"; undefined when it is not one. Port 0 (any free port) is allowed for tests. */
export function parseListen(value: string): ListenAddress | undefined {
  const m = /^\[([0-9A-Fa-f:.]+)\]:(\d{1,5})$/.exec(value) ?? /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  if (m === null) return undefined;
  const host = m[1] as string;
  const port = Number(m[2]);
  if (port > 65535) return undefined;
  if (value.startsWith('[') && isIP(host) !== 6) return undefined;
  return { host, port };
}

/** 127.0.0.0/8, ::1 and localhost: the only hosts plain HTTP may listen on. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1' || host === '0:0:0:0:0:0:0:1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/** For URLs: IPv6 hosts in brackets. */
export function hostForUrl(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}
