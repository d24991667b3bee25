// Attacker: another slot's user floods a job's credentials endpoint with thousands of connections, reopening each
// as soon as it fails; the kernel resets every one (the endpoint's nftables rule), and the job's calls all succeed.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { runCommand } from '../../src/isolation/command.js';
import { buildJobResponse } from '../harness/runner.js';
import { startWorld, isRoot, DEBIAN_AWS, type World, DEPLOYER_ROLE } from './world.js';
import { SETPRIV, asUser, jobUser, openMailbox, waitFor, waitForEndpoint } from './attacker-helpers.js';

const NOT_ROOT = isRoot ? false : 'needs root: isolation "users" creates job users; the flooder runs as another job user';
const CONNECTIONS = 2000;
const CALLS = 5;
const FD_LIMIT = 1024;

/** Holds CONNECTIONS connections to the port, reconnecting each one the moment it closes; reports every 200 ms. */
const FLOODER = `
const net = require('node:net');
const port = Number(process.argv[1]);
const target = Number(process.argv[2]);
let connects = 0, resets = 0, refused = 0, bytes = 0, open = 0, peak = 0, stop = false;
function one() {
  if (stop) return;
  const s = net.createConnection({ host: '127.0.0.1', port });
  let connected = false;
  s.on('connect', () => { connected = true; connects++; open++; if (open > peak) peak = open; });
  s.on('data', (d) => { bytes += d.length; });
  s.on('error', (e) => { if (e.code === 'ECONNRESET') resets++; else refused++; });
  s.on('close', () => { if (connected) open--; setImmediate(one); });
}
for (let i = 0; i < target; i++) one();
const report = () => process.stdout.write(JSON.stringify({ connects, resets, refused, bytes, open, peak, at: Date.now() }) + '\\n');
setInterval(report, 200);
process.on('SIGTERM', () => { stop = true; report(); process.exit(0); });
`;

interface FloodStats {
  connects: number;
  resets: number;
  refused: number;
  bytes: number;
  open: number;
  peak: number;
  at: number;
}

describe("attacker: 2,000 idle connections from another slot's user against a job's endpoint", { skip: NOT_ROOT }, () => {
  let world: World;
  before(async () => {
    // The driver (and so its broker) gets the common default descriptor limit, 1024: below the flood's 2,000, so
    // only a refusal that never reaches the endpoint (the kernel's) keeps the job's calls going.
    world = await startWorld({
      isolation: 'users',
      slots: 2,
      roles: DEPLOYER_ROLE,
      driverPrefix: ['/usr/bin/prlimit', `--nofile=${FD_LIMIT}:${FD_LIMIT}`, '--'],
    });
    world.emu.addRole({ arn: world.roleArn('deployer'), trust: { principals: [world.emu.hostRoleArn] } });
  });
  after(() => world?.close());

  test("the kernel refuses every flood connection, the job's aws calls all succeed, and the rule is gone after cleanup", async () => {
    // The job's sandbox does not see the test's temp dirs: it learns that the flood is on over loopback.
    const sync = await openMailbox();
    const job = world.job({
      response: buildJobResponse({ jobId: 7401, projectId: 5, projectPath: 'group/app', ref: 'main' }),
      variables: { JOBROLE_ROLE: 'deployer', EP: world.emu.endpoint, MB: sync.url },
      steps: {
        script: [
          'on=; for i in $(seq 600); do curl -sf "$MB/on" >/dev/null && { on=1; break; }; sleep 0.1; done; [ -n "$on" ] || { echo "no flood started"; exit 1; }',
          `echo "calls start $(date +%s%3N)"`,
          `for i in $(seq ${CALLS}); do if ${DEBIAN_AWS} sts get-caller-identity --endpoint-url "$EP" --query Arn --output text >$HOME/out 2>&1; then echo "call $i ok $(cat $HOME/out)"; else echo "call $i FAIL $(cat $HOME/out)"; fi; done`,
          `echo "calls end $(date +%s%3N)"`,
        ],
      },
    });
    const a = await waitForEndpoint(world, 7401);
    const port = new URL(a.url).port;
    assert.ok(a.brokerPid !== undefined, 'the job has a broker');
    assert.match(
      await readFile(`/proc/${a.brokerPid}/limits`, 'utf8'),
      new RegExp(`^Max open files\\s+${FD_LIMIT}\\s`, 'm'),
      'the broker runs with the small limit',
    );
    const other = jobUser(world, a.user.uid === jobUser(world, 1).uid ? 2 : 1);
    assert.notEqual(other.uid, a.user.uid);
    const flooder = spawn(SETPRIV, [...asUser(other), process.execPath, '-e', FLOODER, port, String(CONNECTIONS)], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { PATH: '/usr/bin:/bin' },
    });
    const stats: FloodStats[] = [];
    let text = '';
    flooder.stdout.setEncoding('utf8');
    flooder.stdout.on('data', (d: string) => {
      text += d;
      let nl: number;
      while ((nl = text.indexOf('\n')) !== -1) {
        stats.push(JSON.parse(text.slice(0, nl)) as FloodStats);
        text = text.slice(nl + 1);
      }
    });
    let result: Awaited<typeof job>;
    try {
      await waitFor(
        'the flood to reach 2,000 attempts',
        async () => ((stats.at(-1)?.refused ?? 0) + (stats.at(-1)?.connects ?? 0) >= CONNECTIONS ? true : undefined),
        30_000,
      );
      sync.set('on', '1');
      result = await job;
    } finally {
      const exited = new Promise((r) => flooder.once('exit', r));
      flooder.kill('SIGTERM');
      await exited;
      await sync.close();
    }
    assert.equal(result.status, 'success', result.jobLog);
    const log = result.jobLog;
    const calls = [...log.matchAll(/^call (\d+) (ok|FAIL) (.*)$/gm)];
    assert.equal(calls.length, CALLS, log);
    for (const c of calls) assert.equal(c[2], 'ok', `call ${c[1]} failed under the flood: ${c[3]}`);
    for (const c of calls) assert.match(c[3]!, /assumed-role\/deployer\//);
    const start = Number(/^calls start (\d+)$/m.exec(log)?.[1]);
    const end = Number(/^calls end (\d+)$/m.exec(log)?.[1]);
    const during = stats.filter((s) => s.at >= start && s.at <= end);
    assert.ok(during.length >= 2, 'the flooder reported while the job made its calls');
    const first = during[0]!;
    const last = during.at(-1)!;
    assert.ok(last.refused - first.refused >= CONNECTIONS, `the flood kept trying during the calls: ${first.refused} -> ${last.refused} refused`);
    const final = stats.at(-1)!;
    assert.equal(final.connects, 0, 'not one connection of the other uid was ever established');
    assert.equal(final.bytes, 0, 'a connection of the other uid was answered');
    const table = await runCommand('nft', ['list', 'table', 'inet', `${world.firewallTable}_ep`]);
    assert.doesNotMatch(table.stdout, /chain job_7401_/, "cleanup removed the job's rule");
  });
});
