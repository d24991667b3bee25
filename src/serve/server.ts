// `jobrole serve`: the HTTP(S) server around the routes — TLS reload on SIGHUP, drain on SIGTERM, bounded caches.

import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { STSClient } from '@aws-sdk/client-sts';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { auditLog } from '../audit/audit-log.js';
import { ssmClient, stsClient } from '../aws/clients.js';
import type { JobroleConfig, ServeSection } from '../config/types.js';
import { streamAccessLog, type AccessLog } from './access-log.js';
import { authenticator } from './auth.js';
import { hostForUrl, parseListen } from '../config/listen.js';
import { policySource } from './policy-source.js';
import { rateLimiter } from './rate-limit.js';
import { createHandler } from './routes.js';
import { sessionCache } from './session-cache.js';
import { loadTls } from './tls-files.js';
import { keySource } from '../identity/key-source.js';
import { brokerVerifier } from './token-verifier.js';

export interface ServeDeps {
  /** Operator messages (stderr). */
  warn: (message: string) => void;
  info: (message: string) => void;
  accessLog?: AccessLog;
  now?: () => number;
  /** For tests: clients instead of the SDK's own. */
  sts?: () => Promise<STSClient>;
  ssm?: () => Promise<SSMClient>;
  /** Longest wait for in-flight requests on drain; default 25 s. */
  drainTimeoutMs?: number;
}

export interface RunningBroker {
  url: string;
  port: number;
  /** Re-reads tls_cert/tls_key; keeps the old pair (and says why) when the new one is unusable. */
  reloadTls(): Promise<boolean>;
  /** Stops accepting, lets in-flight requests finish, closes; resolves when done. */
  drain(): Promise<void>;
  /** Resolves once drained. */
  done: Promise<void>;
}

function once<T>(make: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () =>
    (p ??= make().catch((err: unknown) => {
      p = undefined;
      throw err;
    }));
}

/** Starts the broker with `settings` (from serveSettings: audience resolved, rules checked). */
export async function startBroker(config: JobroleConfig, settings: ServeSection, deps: ServeDeps): Promise<RunningBroker> {
  const now = deps.now ?? Date.now;
  const listen = parseListen(settings.listen);
  if (listen === undefined) throw new Error(`[serve].listen = ${JSON.stringify(settings.listen)} is not host:port`);
  const tls = settings.tls_cert !== '' ? await loadTls(settings.tls_cert, settings.tls_key) : undefined;
  const keys = keySource(config, deps.warn);
  const auth = authenticator({
    verify: brokerVerifier(config, settings, keys),
    clockSkewSeconds: config.gitlab.clock_skew,
    maxRemembered: settings.max_cached,
    now,
  });
  const sts = {
    assumeRole: deps.sts ?? once(() => stsClient(config.aws)),
    // AssumeRoleWithWebIdentity is unsigned: placeholder credentials keep the SDK off the broker's own chain.
    webIdentity: deps.sts ?? once(() => stsClient({ ...config.aws, max_attempts: 1 }, { credentials: { accessKeyId: 'unused', secretAccessKey: 'unused' } })),
  };
  const policy = policySource(config, { ssm: deps.ssm ?? once(() => ssmClient(config.aws)), warn: deps.warn, now });
  const cache = sessionCache({ refreshBeforeSeconds: config.job.refresh_before, maxEntries: settings.max_cached, now });
  const limiter = rateLimiter({ perSecond: settings.rate_limit, maxKeys: settings.max_cached, now });
  const audit = auditLog(config.driver.audit_log, (e) => deps.warn(`cannot write the audit log ${config.driver.audit_log}: ${e.message}`));
  let draining = false;
  let inflight = 0;
  let idle: (() => void) | undefined;

  const handler = createHandler({
    auth,
    policy,
    cache,
    limiter,
    sts,
    audit,
    accessLog: deps.accessLog ?? streamAccessLog(process.stdout),
    healthy: async () => {
      await keys.keys();
      await policy.current();
      return true;
    },
    draining: () => draining,
    warn: deps.warn,
    now,
  });
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    inflight++;
    // While draining, every answer closes its connection so keep-alive clients reconnect elsewhere.
    if (draining) res.shouldKeepAlive = false;
    res.once('close', () => {
      inflight--;
      if (inflight === 0) idle?.();
    });
    handler(req, res).catch(() => res.destroy());
  };
  const serverOptions = { requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 65_000, maxHeaderSize: 32 * 1024 };
  const server: Server =
    tls !== undefined
      ? createHttpsServer({ ...serverOptions, cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' }, onRequest)
      : createHttpServer(serverOptions, onRequest);
  server.maxHeadersCount = 50;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: listen.host, port: listen.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `${tls !== undefined ? 'https' : 'http'}://${hostForUrl(listen.host)}:${port}`;

  // Bounded memory: expired sessions go every minute (the LRU cap bounds the rest).
  const sweeper = setInterval(() => cache.sweep(), 60_000);
  sweeper.unref();

  // Load keys and policy now so the first job does not wait, and say so when they cannot be loaded yet.
  keys.keys().catch((err: unknown) => deps.warn(`GitLab's signing keys cannot be loaded yet (${(err as Error).message}); /healthz answers 503 until they can`));
  policy.current().catch((err: unknown) => deps.warn(`the policy cannot be loaded yet: ${(err as Error).message}`));

  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  let drained: Promise<void> | undefined;

  const drain = (): Promise<void> => {
    drained ??= (async () => {
      draining = true;
      clearInterval(sweeper);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inflight > 0) {
        await new Promise<void>((resolve) => {
          idle = resolve;
          setTimeout(resolve, deps.drainTimeoutMs ?? 25_000).unref();
        });
      }
      server.closeAllConnections();
      await closed;
      finish();
    })();
    return drained;
  };

  const reloadTls = async (): Promise<boolean> => {
    if (tls === undefined) {
      deps.info('SIGHUP: no [serve].tls_cert configured, nothing to reload');
      return false;
    }
    try {
      const next = await loadTls(settings.tls_cert, settings.tls_key);
      (server as import('node:https').Server).setSecureContext({ cert: next.cert, key: next.key });
      deps.info(`TLS certificate reloaded: ${next.subject}, valid until ${next.validTo.toISOString()}`);
      return true;
    } catch (err) {
      deps.warn(`TLS reload failed, still serving the previous certificate: ${(err as Error).message}`);
      return false;
    }
  };

  return { url, port, reloadTls, drain, done };
}
