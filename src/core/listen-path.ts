// Starts a net.Server listening on a unix socket path and resolves once it listens (rejects on the listen error).

import type { Server } from 'node:net';

export function listenOnPath(server: Server, path: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
