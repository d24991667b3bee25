// Unix-socket feed of every secret the broker has issued, so run stages started earlier can mask later ones.

import { lstat, chmod, unlink } from 'node:fs/promises';
import { createConnection, createServer, type Socket } from 'node:net';
import { encodeLine, parseFeedMessage } from './events.js';
import { listenOnPath } from '../core/listen-path.js';

export interface SecretFeed {
  /** Sends the secret to every subscriber (once; repeats are ignored) and to those who connect later. */
  publish(secret: string): void;
  /** Disconnects subscribers and removes the socket. */
  close(): Promise<void>;
}

export interface SecretSubscription {
  /** Settles once every secret issued before connecting has been passed to onSecret, or there is no feed. */
  ready: Promise<void>;
  close(): void;
}

const line = (secret: string): string => encodeLine({ secret });
const SYNCED = encodeLine({ synced: true });

function someoneListens(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/** Removes a stale socket left by a crashed broker; refuses to touch a live one or anything not a socket. */
async function clearStaleSocket(path: string): Promise<void> {
  try {
    const st = await lstat(path);
    if (!st.isSocket()) throw new Error(`secret feed path ${path} exists and is not a socket; refusing to replace it`);
    if (await someoneListens(path)) throw new Error(`secret feed ${path} is in use by a running broker`);
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Listens on `path` (mode 0600; the caller puts it in the job's root-only state directory). */
export async function serveSecretFeed(path: string): Promise<SecretFeed> {
  await clearStaleSocket(path);
  const secrets: string[] = [];
  const known = new Set<string>();
  const clients = new Set<Socket>();
  const server = createServer((socket) => {
    clients.add(socket);
    socket.on('close', () => clients.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.resume(); // subscribers send nothing; drain anyway
    // Everything issued so far, then a marker so the subscriber knows it has caught up.
    socket.write(secrets.map(line).join('') + SYNCED);
  });
  // The socket file must never exist with a wider mode, not even between bind and chmod.
  const oldMask = process.umask(0o177);
  try {
    await listenOnPath(server, path);
  } finally {
    process.umask(oldMask);
  }
  await chmod(path, 0o600);

  return {
    publish(secret) {
      if (secret === '' || known.has(secret)) return;
      known.add(secret);
      secrets.push(secret);
      const text = line(secret);
      for (const c of clients) c.write(text);
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const c of clients) c.destroy();
      await closed;
      await unlink(path).catch(() => undefined);
    },
  };
}

/** Connects to the feed at `path`; no socket (no broker for this job) means nothing to subscribe to. */
export function subscribeSecretFeed(path: string, onSecret: (secret: string) => void): SecretSubscription {
  let buffered = '';
  let settle: () => void = () => {};
  const ready = new Promise<void>((resolve) => (settle = resolve));
  const socket = createConnection(path);
  socket.setEncoding('utf8');
  socket.on('error', () => settle());
  socket.on('close', () => settle());
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) !== -1) {
      const text = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      try {
        const msg = parseFeedMessage(text);
        if ('secret' in msg) onSecret(msg.secret);
        else settle();
      } catch {
        // a malformed line cannot be a secret we were meant to learn; skip it
      }
    }
  });
  return {
    ready,
    close() {
      socket.destroy();
      settle();
    },
  };
}
