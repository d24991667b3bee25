// Doctor for `jobrole serve`: the [serve] rules, the listen address, the TLS pair, and GitLab's keys reachable.

import { createServer } from 'node:net';
import { ConfigError } from '../../config/fields.js';
import type { JobroleConfig } from '../../config/types.js';
import { defaultFetch, discoverJwks, type FetchLike } from '../../identity/discovery.js';
import { jwksFromFile } from '../../identity/jwks-file.js';
import { parseListen } from '../../config/listen.js';
import { serveSettings } from '../../serve/serve-rules.js';
import { loadTls } from '../../serve/tls-files.js';
import { fail, pass, skip, warn, type CheckResult } from './result.js';

const DAY = 86_400_000;

/** Binds the address for a moment: is it this host's, is the port free, may this user bind it. */
async function checkListen(listen: string, tls: boolean): Promise<CheckResult> {
  const addr = parseListen(listen);
  if (addr === undefined) return fail(`[serve].listen = ${JSON.stringify(listen)}: not host:port`);
  const how = tls ? 'HTTPS' : 'plain HTTP on loopback (put a TLS-terminating proxy in front for other hosts)';
  const err = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    const s = createServer();
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e));
    s.listen({ host: addr.host, port: addr.port, exclusive: true }, () => s.close(() => resolve(undefined)));
  });
  if (err === undefined) return pass(`[serve].listen ${listen}: free, served as ${how}`);
  if (err.code === 'EADDRINUSE') return warn(`[serve].listen ${listen}: the port is in use (is jobrole serve already running?); served as ${how}`);
  if (err.code === 'EACCES')
    return fail(
      `[serve].listen ${listen}: this user may not bind port ${addr.port} (below 1024 needs CAP_NET_BIND_SERVICE, e.g. AmbientCapabilities= in the systemd unit)`,
    );
  if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN')
    return fail(`[serve].listen ${listen}: ${addr.host} is not an address of this host (${err.code})`);
  return fail(`[serve].listen ${listen}: cannot listen (${err.code ?? err.message})`);
}

export interface ServeCheckDeps {
  fetch?: FetchLike;
  now?: () => Date;
}

export async function checkServe(config: JobroleConfig, deps: ServeCheckDeps = {}): Promise<CheckResult[]> {
  let settings;
  try {
    settings = serveSettings(config);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return [fail(`jobrole serve: ${err.message}`), skip("serve: listen address, TLS and GitLab's keys not checked")];
  }
  const out: CheckResult[] = [
    pass(
      `jobrole serve: audience ${JSON.stringify(settings.audience)}, ${config.roles.length} role(s) it can serve, rate limit ${settings.rate_limit}/s per job, up to ${settings.max_cached} cached sessions`,
    ),
  ];
  out.push(await checkListen(settings.listen, settings.tls_cert !== ''));
  if (settings.tls_cert === '') {
    out.push(skip('[serve].tls_cert/tls_key: not set (plain HTTP on loopback)'));
  } else {
    try {
      const tls = await loadTls(settings.tls_cert, settings.tls_key);
      const left = tls.validTo.getTime() - (deps.now ?? (() => new Date()))().getTime();
      const what = `TLS certificate ${tls.subject} for ${tls.names.join(', ') || '(no subjectAltName)'}, key matches, valid until ${tls.validTo.toISOString()}`;
      if (left <= 0) out.push(fail(`${what}: EXPIRED; replace ${settings.tls_cert} and send SIGHUP`));
      else if (left < 14 * DAY) out.push(warn(`${what}: expires in ${Math.floor(left / DAY)} days; rotate it (files replaced + SIGHUP, no restart)`));
      else out.push(pass(what));
      if (tls.names.length === 0) out.push(warn('the TLS certificate has no subjectAltName: SDKs match the host name against it and will refuse the broker'));
    } catch (err) {
      out.push(fail((err as Error).message));
    }
  }
  const g = config.gitlab;
  try {
    if (g.jwks_file !== '') {
      const keys = await jwksFromFile(g.jwks_file).keys();
      out.push(pass(`GitLab's keys from [gitlab].jwks_file ${g.jwks_file}: ${keys.keys.length} key(s)`));
    } else {
      const found = await discoverJwks(g.url, deps.fetch ?? defaultFetch, 5000);
      out.push(pass(`issuer ${g.url} reachable: ${found.jwks.keys.length} signing key(s) at ${found.jwksUri}`));
    }
  } catch (err) {
    out.push(fail(`issuer ${g.url}: ${(err as Error).message} The broker answers 503 (and /healthz fails) until it has GitLab's keys.`));
  }
  return out;
}
