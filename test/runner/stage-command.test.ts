// runStageCommand / describeFailure: exit codes per the runner contract and one readable line, never a stack by default.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describeFailure, printError, runStageCommand } from '../../src/runner/stage-command.js';
import { BuildFailure, SystemFailure } from '../../src/core/exit-codes.js';

const CODES = { BUILD_FAILURE_EXIT_CODE: '31', SYSTEM_FAILURE_EXIT_CODE: '32' };

/** Runs fn with process.stderr captured; returns what was written. */
async function captureStderr(fn: () => Promise<unknown>): Promise<string> {
  const chunks: string[] = [];
  const original = process.stderr.write.bind(process.stderr);
  process.stderr.write = (chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
    return true;
  };
  try {
    await fn();
  } finally {
    process.stderr.write = original;
  }
  return chunks.join('');
}

function withDebug<T>(value: string | undefined, fn: () => T): T {
  const saved = process.env.JOBROLE_DEBUG;
  if (value === undefined) delete process.env.JOBROLE_DEBUG;
  else process.env.JOBROLE_DEBUG = value;
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env.JOBROLE_DEBUG;
    else process.env.JOBROLE_DEBUG = saved;
  }
}

test('describeFailure: build failures as they are, system failures marked, internal errors without a stack by default', () => {
  assert.equal(describeFailure(new BuildFailure('role "x" is refused')), 'role "x" is refused');
  assert.equal(describeFailure(new SystemFailure('STS unreachable')), 'system failure: STS unreachable');
  withDebug(undefined, () => {
    const m = describeFailure(new TypeError('x is undefined'));
    assert.equal(m, 'internal error: x is undefined (set JOBROLE_DEBUG=1 in the runner environment for a stack trace)');
    assert.equal(describeFailure('thrown string'), 'internal error: thrown string (set JOBROLE_DEBUG=1 in the runner environment for a stack trace)');
    assert.match(describeFailure(null), /^internal error: null /);
  });
  withDebug('1', () => {
    const m = describeFailure(new TypeError('x is undefined'));
    assert.ok(m.startsWith('internal error: x is undefined\nTypeError: x is undefined\n    at '));
  });
});

test('printError prefixes every line with "jobrole:" in red', () => {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => {
    text += c.toString();
  });
  printError(new BuildFailure('line one\nline two'), out);
  assert.equal(text, '\u001b[31;1mjobrole: line one\u001b[0m\n\u001b[31;1mjobrole: line two\u001b[0m\n');
});

test("runStageCommand maps success, build failures, system failures and bugs to the runner's codes", async () => {
  assert.equal(await runStageCommand('prepare', CODES, async () => undefined), 0);
  assert.equal(await runStageCommand('run', CODES, async () => 0), 0);
  assert.equal(await runStageCommand('run', CODES, async (codes) => codes.buildFailure), 31, 'the handler may return a code');
  let seen: unknown;
  await runStageCommand('run', CODES, async (codes) => {
    seen = codes;
  });
  assert.deepEqual(seen, { buildFailure: 31, systemFailure: 32, missing: [] });
  let code = 0;
  const err = await captureStderr(async () => {
    code = await runStageCommand('prepare', CODES, async () => {
      throw new BuildFailure('role refused');
    });
  });
  assert.equal(code, 31);
  assert.match(err, /jobrole: role refused/);
  const err2 = await captureStderr(async () => {
    code = await runStageCommand('prepare', CODES, async () => {
      throw new SystemFailure('throttled');
    });
  });
  assert.equal(code, 32);
  assert.match(err2, /jobrole: system failure: throttled/);
  const err3 = await captureStderr(async () => {
    code = await runStageCommand('cleanup', CODES, async () => {
      throw new RangeError('oops');
    });
  });
  assert.equal(code, 32);
  assert.match(err3, /jobrole: internal error: oops/);
});

test("runStageCommand without the runner's exit codes: system failure, handler not run, says how to register", async () => {
  let ran = false;
  let code = 0;
  const err = await captureStderr(async () => {
    code = await runStageCommand('prepare', {}, async () => {
      ran = true;
    });
  });
  assert.equal(ran, false);
  assert.equal(code, 2);
  assert.match(err, /BUILD_FAILURE_EXIT_CODE and SYSTEM_FAILURE_EXIT_CODE are not set: "jobrole prepare" must be started by gitlab-runner's custom executor/);
  const err2 = await captureStderr(async () => {
    code = await runStageCommand('run', { SYSTEM_FAILURE_EXIT_CODE: '9' }, async () => {
      ran = true;
    });
  });
  assert.equal(code, 9, 'the system-failure code the runner did give is used');
  assert.match(err2, /BUILD_FAILURE_EXIT_CODE is not set/);
  assert.equal(ran, false);
});
