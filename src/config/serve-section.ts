// The [serve] section of config.toml (`jobrole serve`): listen address, TLS files, audience, limits.

import type { ServeSection } from './types.js';
import { ConfigError, int, parseTable, str } from './fields.js';
import { isLoopback, parseListen } from './listen.js';

const listenField = str({ hint: 'host:port such as "0.0.0.0:8443" or "[::1]:8443"' });

/** Validates [serve]; refuses plain HTTP on anything but a loopback address, naming the key. */
export function parseServe(raw: unknown): ServeSection {
  const s = parseTable<ServeSection>(raw, '[serve]', {
    listen: { field: listenField, default: '127.0.0.1:8443' },
    tls_cert: { field: str(), default: '' },
    tls_key: { field: str(), default: '' },
    audience: { field: str(), default: '' },
    rate_limit: { field: int(1, 10000), default: 20 },
    max_cached: { field: int(100, 1_000_000), default: 10000 },
  });
  const addr = parseListen(s.listen);
  if (addr === undefined) throw new ConfigError(`[serve].listen = ${JSON.stringify(s.listen)}: expected host:port such as "0.0.0.0:8443" or "[::1]:8443"`);
  for (const key of ['tls_cert', 'tls_key'] as const) {
    if (s[key] !== '' && !s[key].startsWith('/')) throw new ConfigError(`[serve].${key} = ${JSON.stringify(s[key])}: expected an absolute path to a PEM file`);
  }
  if ((s.tls_cert === '') !== (s.tls_key === '')) {
    const [set, unset] = s.tls_cert !== '' ? ['tls_cert', 'tls_key'] : ['tls_key', 'tls_cert'];
    throw new ConfigError(`[serve].${unset}: required because [serve].${set} is set (TLS needs both the certificate and its key)`);
  }
  if (s.tls_cert === '' && !isLoopback(addr.host)) {
    throw new ConfigError(
      `[serve].listen = ${JSON.stringify(s.listen)}: without tls_cert/tls_key the broker would serve ID tokens and credentials over plain HTTP on a non-loopback address; set [serve].tls_cert and tls_key, or listen on 127.0.0.1 behind a TLS-terminating proxy`,
    );
  }
  return s;
}
