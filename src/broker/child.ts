// The broker process's body: read the handshake from stdin, serve credentials and the secret feed, answer
// ready, then live until the job's deadline or SIGTERM.

import type { Readable, Writable } from 'node:stream';
import type { IssuedSession, SessionSource } from '../core/credential-types.js';
import { encodeLine, type BrokerAnswer, type BrokerEvent } from './events.js';
import { serveSecretFeed, type SecretFeed } from './feed.js';
import { initialSession, MAX_HANDSHAKE_BYTES, parseHandshake } from './handshake.js';
import { BROKER_TITLE } from '../core/process-identity.js';
import { startCredentialServer, type CredentialServer } from './server.js';

export interface BrokerChildDeps {
  stdin: Readable;
  stdout: Writable;
  makeSource: (sourceSpec: unknown) => Promise<SessionSource>;
  /** Each session the endpoint renews to (a key it did not serve before; never the initial one). */
  onIssue?: (s: IssuedSession) => void;
  /** Event lines (never a secret). stderr is /dev/null once the parent has let go, so log to a file. */
  log?: (line: string) => void;
  /** The endpoint's events, typed (each is also logged as a line). */
  onEvent?: (e: BrokerEvent) => void;
  /** Where SIGTERM/SIGINT/SIGHUP arrive; default the process. */
  signals?: NodeJS.EventEmitter;
}

async function readAll(stdin: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += b.length;
    if (size > MAX_HANDSHAKE_BYTES) throw new Error(`broker handshake: more than ${MAX_HANDSHAKE_BYTES} bytes on stdin`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function secretsOf(s: IssuedSession): string[] {
  return [s.credentials.accessKeyId, s.credentials.secretAccessKey, s.credentials.sessionToken];
}

function writeLine(out: Writable, value: BrokerAnswer): Promise<void> {
  return new Promise((resolve) => out.end(encodeLine(value), () => resolve()));
}

export async function runBrokerChild(deps: BrokerChildDeps): Promise<void> {
  process.title = BROKER_TITLE;
  const log = deps.log ?? (() => {});
  const signals = deps.signals ?? process;
  let feed: SecretFeed | undefined;
  let server: CredentialServer | undefined;
  const closeAll = async (): Promise<void> => {
    await server?.close();
    await feed?.close();
  };

  try {
    const handshake = parseHandshake(await readAll(deps.stdin));
    const deadline = new Date(handshake.deadline);
    if (deadline.getTime() <= Date.now()) throw new Error(`broker handshake: deadline ${handshake.deadline} has already passed`);
    const initial = initialSession(handshake);
    const source = await deps.makeSource(handshake.sourceSpec);
    const liveFeed = await serveSecretFeed(handshake.feedSocketPath);
    feed = liveFeed;
    for (const s of [handshake.token, ...secretsOf(initial)]) liveFeed.publish(s);
    server = await startCredentialServer({
      token: handshake.token,
      allowedUids: handshake.allowedUids,
      source,
      initial,
      refreshBeforeSeconds: handshake.refreshBeforeSeconds,
      ...(handshake.pollMs !== undefined ? { pollMs: handshake.pollMs } : {}),
      deadline,
      onIssue: (s) => {
        for (const secret of secretsOf(s)) liveFeed.publish(secret);
        deps.onIssue?.(s);
      },
      onEvent: (e) => {
        log(`${e.type}: ${e.detail}`);
        deps.onEvent?.(e);
      },
    });
  } catch (err) {
    await closeAll().catch(() => undefined);
    const message = err instanceof Error ? err.message : String(err);
    await writeLine(deps.stdout, { error: message });
    throw err;
  }

  const running = server;
  const stopSignal = new Promise<string>((resolve) => {
    const handler = (sig: string) => () => resolve(sig);
    const handlers = (['SIGTERM', 'SIGINT', 'SIGHUP'] as const).map((sig) => [sig, handler(sig)] as const);
    for (const [sig, h] of handlers) signals.on(sig, h);
    void running.done.then(() => {
      for (const [sig, h] of handlers) signals.off(sig, h);
    });
  });
  await writeLine(deps.stdout, { port: running.port });
  log(`ready on port ${running.port}`);
  const why = await Promise.race([running.done, stopSignal]);
  log(`stopping: ${why}`);
  await closeAll();
}
