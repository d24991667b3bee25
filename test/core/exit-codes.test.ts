// The exit-code contract: build vs system failures and the codes gitlab-runner gives.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BuildFailure, SystemFailure, exitCodeFor, readExitCodes } from '../../src/core/exit-codes.js';

test("readExitCodes takes the runner's codes", () => {
  assert.deepEqual(readExitCodes({ BUILD_FAILURE_EXIT_CODE: '7', SYSTEM_FAILURE_EXIT_CODE: ' 9 ' }), { buildFailure: 7, systemFailure: 9, missing: [] });
});

test('readExitCodes falls back to 1 and 2 and reports what was missing or invalid', () => {
  assert.deepEqual(readExitCodes({}), { buildFailure: 1, systemFailure: 2, missing: ['BUILD_FAILURE_EXIT_CODE', 'SYSTEM_FAILURE_EXIT_CODE'] });
  for (const bad of ['0', '256', '-1', 'x', '', '1.5', '1000']) {
    assert.deepEqual(
      readExitCodes({ BUILD_FAILURE_EXIT_CODE: bad, SYSTEM_FAILURE_EXIT_CODE: '3' }),
      { buildFailure: 1, systemFailure: 3, missing: ['BUILD_FAILURE_EXIT_CODE'] },
      bad,
    );
  }
});

test('exitCodeFor: build failures only for BuildFailure, everything else is a system failure', () => {
  const codes = { buildFailure: 11, systemFailure: 22 };
  assert.equal(exitCodeFor(new BuildFailure('role refused'), codes), 11);
  assert.equal(exitCodeFor(new SystemFailure('sts down'), codes), 22);
  assert.equal(exitCodeFor(new Error('bug'), codes), 22);
  assert.equal(exitCodeFor('string thrown', codes), 22);
  assert.equal(exitCodeFor(undefined, codes), 22);
});

test("failures keep their cause and the job's own exit status", () => {
  const cause = new Error('root');
  const b = new BuildFailure('script failed', { cause, jobExitCode: 3 });
  assert.equal(b.name, 'BuildFailure');
  assert.equal(b.cause, cause);
  assert.equal(b.jobExitCode, 3);
  assert.equal(new BuildFailure('x').jobExitCode, undefined);
  assert.ok(!('cause' in new BuildFailure('x')), 'no cause property unless given');
  const s = new SystemFailure('down', { cause });
  assert.equal(s.name, 'SystemFailure');
  assert.equal(s.cause, cause);
  assert.ok(s instanceof Error && !(s instanceof BuildFailure));
});
