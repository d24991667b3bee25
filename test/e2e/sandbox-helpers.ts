// Helpers for the sandbox attack tests: C survivors built with gcc, a UDP heartbeat listener, a root-owned sentinel.

import { execFileSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Two survivors in one program, each heartbeating over UDP to 127.0.0.1:<port> every 50 ms with its tag:
 * - `zombie-leader`: the main thread pthread_exit()s while a second thread runs on, so /proc/<pid>/status
 *   of the process says zombie while it still runs (a /proc scan of processes does not see it);
 * - `hopper`: forks and exits every few hundred microseconds, so its pid never stays the same.
 * Both detach (setsid) and ignore SIGTERM/SIGHUP/SIGINT.
 */
const SURVIVOR_C = String.raw`
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int port;
static const char *tag;

static long now_ms(void) { struct timeval tv; gettimeofday(&tv, 0); return tv.tv_sec * 1000L + tv.tv_usec / 1000; }

static void beat(void) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0) return;
  struct sockaddr_in a; memset(&a, 0, sizeof a);
  a.sin_family = AF_INET; a.sin_port = htons(port); a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  char msg[64]; snprintf(msg, sizeof msg, "%s %d", tag, (int)getpid());
  sendto(s, msg, strlen(msg), 0, (struct sockaddr *)&a, sizeof a);
  close(s);
}

static void *runner(void *arg) { (void)arg; for (;;) { beat(); usleep(50000); } return 0; }

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  tag = argv[1]; port = atoi(argv[2]);
  signal(SIGTERM, SIG_IGN); signal(SIGHUP, SIG_IGN); signal(SIGINT, SIG_IGN);
  if (fork() > 0) return 0;
  setsid();
  if (strcmp(tag, "zombie-leader") == 0) {
    pthread_t t; pthread_create(&t, 0, runner, 0);
    pthread_exit(0);
  }
  long last = 0;
  for (;;) {
    pid_t p = fork();
    if (p > 0) _exit(0);
    if (p < 0) usleep(1000);
    if (now_ms() - last >= 50) { beat(); last = now_ms(); }
    usleep(300);
  }
}
`;

/** Compiles the survivors into dir/survivor (needs gcc); returns the binary's path. */
export async function buildSurvivor(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const src = join(dir, 'survivor.c');
  const bin = join(dir, 'survivor');
  await writeFile(src, SURVIVOR_C);
  execFileSync('gcc', ['-O1', '-pthread', '-o', bin, src], { stdio: 'pipe' });
  await chmod(bin, 0o755);
  return bin;
}

export function hasGcc(): boolean {
  try {
    execFileSync('gcc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface Heartbeats {
  port: number;
  /** Arrival times (ms since epoch) per tag. */
  times(tag: string): number[];
  /** Arrivals of any tag after `since`. */
  after(since: number): Array<{ tag: string; at: number }>;
  /** Everything received, for payload checks. */
  messages(): Array<{ text: string; at: number }>;
  close(): Promise<void>;
}

export async function listenHeartbeats(): Promise<Heartbeats> {
  const sock: Socket = createSocket('udp4');
  const got: Array<{ text: string; at: number }> = [];
  sock.on('message', (m) => got.push({ text: m.toString('utf8'), at: Date.now() }));
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', () => resolve()));
  const tagOf = (t: string) => t.split(' ')[0] ?? '';
  return {
    port: sock.address().port,
    times: (tag) => got.filter((g) => tagOf(g.text) === tag).map((g) => g.at),
    after: (since) => got.filter((g) => g.at > since).map((g) => ({ tag: tagOf(g.text), at: g.at })),
    messages: () => [...got],
    close: () => new Promise((resolve) => sock.close(() => resolve())),
  };
}

export interface Sentinel {
  dir: string;
  file: string;
  /** Throws unless the directory and file are exactly as made: root-owned, same modes, same content. */
  check(): Promise<void>;
}

/** A root-owned directory with a root-owned 0600 file: what a racer tries to make root chown, chmod or delete. */
export async function makeSentinel(parent: string): Promise<Sentinel> {
  const dir = join(parent, 'sentinel');
  const file = join(dir, 'root-file');
  await mkdir(dir, { mode: 0o755 });
  await chmod(dir, 0o755);
  await writeFile(file, 'root data\n', { mode: 0o600 });
  await chmod(file, 0o600);
  return {
    dir,
    file,
    check: async () => {
      const d = await stat(dir);
      const f = await stat(file);
      const text = await readFile(file, 'utf8');
      const got = { dirUid: d.uid, dirMode: d.mode & 0o7777, fileUid: f.uid, fileGid: f.gid, fileMode: f.mode & 0o7777, text };
      const want = { dirUid: 0, dirMode: 0o755, fileUid: 0, fileGid: 0, fileMode: 0o600, text: 'root data\n' };
      if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`the sentinel changed: ${JSON.stringify(got)}`);
    },
  };
}
