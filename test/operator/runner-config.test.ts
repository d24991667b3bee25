// Doctor's gitlab-runner registration check: stages, args, timeouts and limit against [driver].slots.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../../src/config/load.js';
import { checkRunnerConfig } from '../../src/operator/checks/runner-config.js';
import { formatCheck } from '../../src/operator/checks/result.js';

const CONFIG = parseConfigText('[driver]\nslots = 4\n', '/etc/jobrole/config.toml');
const IP_CONFIG = parseConfigText(
  `
[driver]
slots = 1
[instance_profile]
propagation_timeout = "5m"
[[roles]]
name = "swap"
arn = "arn:aws:iam::111122223333:role/swap"
strategy = "instance-profile"
instance_profile = "swap-profile"
`,
  '/etc/jobrole/config.toml',
);

function runnerToml(over: { args?: Partial<Record<string, string>>; drop?: string; extra?: string; top?: string } = {}): string {
  const stages = ['config', 'prepare', 'run', 'cleanup'].filter((s) => s !== over.drop);
  const lines = stages.map((s) => `  ${s}_exec = "/usr/local/bin/jobrole"\n  ${s}_args = ${over.args?.[s] ?? `["${s}"]`}`);
  return `${over.top ?? 'concurrent = 8'}
[[runners]]
  name = "docker-host"
  executor = "docker"
[[runners]]
  name = "aws-jobs"
  executor = "custom"
  ${over.extra ?? 'limit = 4'}
  [runners.custom]
${lines.join('\n')}
`;
}

async function check(t: { after: (fn: () => Promise<void>) => void }, text: string, config = CONFIG): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'jobrole-runner-config-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'config.toml');
  await writeFile(path, text);
  return (await checkRunnerConfig(path, config)).map(formatCheck);
}

const fails = (lines: string[]) => lines.filter((l) => l.startsWith('FAIL'));

test('a good registration passes', async (t) => {
  const lines = await check(t, runnerToml());
  assert.deepEqual(fails(lines), [], lines.join('\n'));
  assert.ok(lines.some((l) => /PASS .*"aws-jobs": all four stages run jobrole/.test(l)));
  assert.ok(lines.some((l) => /PASS .*at most 4 jobs at once \(limit = 4\) within \[driver\]\.slots = 4/.test(l)));
});

test('wrong args fail, naming the stage and the expected args', async (t) => {
  const lines = await check(t, runnerToml({ args: { prepare: '["run"]', cleanup: '[]' } }));
  const f = fails(lines);
  assert.equal(f.length, 1, lines.join('\n'));
  assert.match(f[0] ?? '', /prepare_args = \["run"\], expected \["prepare"\]/);
  assert.match(f[0] ?? '', /cleanup_args = \[\], expected \["cleanup"\]/);
});

test('--config before the stage is accepted, and a different config path is pointed out', async (t) => {
  const args = Object.fromEntries(['config', 'prepare', 'run', 'cleanup'].map((s) => [s, `["--config", "/etc/jobrole/other.toml", "${s}"]`]));
  const lines = await check(t, runnerToml({ args }));
  assert.deepEqual(fails(lines), []);
  assert.ok(lines.some((l) => /^WARN .*--config \/etc\/jobrole\/other.toml/.test(l)));
});

test('a missing stage fails', async (t) => {
  const lines = await check(t, runnerToml({ drop: 'cleanup' }));
  assert.match(fails(lines)[0] ?? '', /cleanup_exec is missing/);
});

test('no custom runner running jobrole fails', async (t) => {
  const lines = await check(t, 'concurrent = 2\n[[runners]]\n  name = "x"\n  executor = "shell"\n');
  assert.match(fails(lines)[0] ?? '', /no \[\[runners\]\] with executor = "custom" runs jobrole/);
});

test('limit above [driver].slots fails; an unset limit falls back to concurrent', async (t) => {
  const over = fails(await check(t, runnerToml({ extra: 'limit = 6' })));
  assert.match(over[0] ?? '', /up to 6 jobs at once \(limit = 6\) but \[driver\]\.slots = 4: set limit = 4/);
  const unset = fails(await check(t, runnerToml({ extra: '' })));
  assert.match(unset[0] ?? '', /up to 8 jobs at once \(limit unset, concurrent = 8\)/);
  assert.deepEqual(fails(await check(t, runnerToml({ extra: '', top: 'concurrent = 2' }))), []);
});

test('timeouts: an instance-profile role needs prepare and cleanup above the propagation timeout + 60 s', async (t) => {
  const short = fails(
    await check(
      t,
      runnerToml({ extra: 'limit = 1', top: 'concurrent = 1' }).replace(
        '[runners.custom]',
        '[runners.custom]\n  prepare_exec_timeout = 120\n  cleanup_exec_timeout = 10',
      ),
      IP_CONFIG,
    ),
  );
  assert.equal(short.length, 1, short.join('\n'));
  assert.match(short[0] ?? '', /prepare_exec_timeout = 120 s is below .* = 360 s/);
  assert.match(short[0] ?? '', /cleanup_exec_timeout = 10 s is too short to scrub and restore the instance profile: set it to at least 360/);
  assert.deepEqual(fails(await check(t, runnerToml({ extra: 'limit = 1', top: 'concurrent = 1' }), IP_CONFIG)), [], 'the runner defaults (3600 s) are fine');
});

test('an unreadable or broken runner config fails; none given is skipped', async (t) => {
  assert.match((await checkRunnerConfig('/nonexistent/config.toml', CONFIG)).map(formatCheck)[0] ?? '', /^FAIL .*cannot be read \(ENOENT\)/);
  assert.match(fails(await check(t, '[[runners]\n'))[0] ?? '', /not valid TOML/);
  assert.match((await checkRunnerConfig(undefined, CONFIG)).map(formatCheck)[0] ?? '', /^SKIP /);
});
