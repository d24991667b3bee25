// Printing errors for operators: cause chains (deduplicated, bounded, scrubbed), the AWS request id, debug stacks.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STSServiceException } from '@aws-sdk/client-sts';
import { BuildFailure, SystemFailure } from '../../src/core/exit-codes.js';
import { causeSuffix, debugChain, scrubSecrets } from '../../src/runner/failure-text.js';
import { describeFailure } from '../../src/runner/stage-command.js';

const sts = (name: string, message: string, requestId?: string) =>
  new STSServiceException({ name, $fault: 'server', $metadata: { httpStatusCode: 500, ...(requestId !== undefined ? { requestId } : {}) }, message });

test('a cause nothing printed is appended with its code; the request id follows', () => {
  const err = new SystemFailure('cannot read the central policy', { cause: sts('InternalFailure', 'We encountered an internal error', 'a1b2-c3') });
  assert.equal(
    describeFailure(err, false),
    'system failure: cannot read the central policy: caused by InternalFailure: We encountered an internal error (AWS request id a1b2-c3)',
  );
});

test('a cause the message already contains is not repeated, but its request id is added', () => {
  const cause = sts('InternalFailure', 'We encountered an internal error', 'req-42');
  const err = new SystemFailure(
    'STS did not answer AssumeRole for role "r" after 4 attempts (InternalFailure: We encountered an internal error); the runner will retry the job',
    { cause },
  );
  assert.equal(describeFailure(err, false), `system failure: ${err.message} (AWS request id req-42)`);
  const said = new BuildFailure('refused: We encountered an internal error (AWS request id req-42)', { cause });
  assert.equal(describeFailure(said, false), 'refused: We encountered an internal error (AWS request id req-42)', 'the id is not printed twice');
});

test('chains of several causes, each once, and the first request id found', () => {
  const root = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' });
  const mid = new Error('SSM GetParameter failed', { cause: root });
  const err = new BuildFailure('policy unavailable', { cause: mid });
  assert.equal(describeFailure(err, false), 'policy unavailable: caused by SSM GetParameter failed: caused by connect ECONNREFUSED 10.0.0.1:443');
  const withId = new SystemFailure('x', { cause: new Error('wrapped', { cause: sts('ServiceUnavailable', 'down', 'deep-id') }) });
  assert.equal(describeFailure(withId, false), 'system failure: x: caused by wrapped: caused by ServiceUnavailable: down (AWS request id deep-id)');
});

test('causes are bounded in length and count, and never print secrets', () => {
  const long = new SystemFailure('outer', { cause: new Error('y'.repeat(5000)) });
  const line = describeFailure(long, false);
  assert.ok(line.length < 400, `${line.length}`);
  assert.match(line, /: caused by y+\.\.\.$/);
  let e: Error = new Error('root cause 0');
  for (let i = 1; i < 50; i++) e = new Error(`cause ${i} ${'z'.repeat(250)}`, { cause: e });
  const many = describeFailure(new SystemFailure('top', { cause: e }), false);
  assert.ok(many.length < 1500, `${many.length}`);
  const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJwcm9qZWN0In0.c2lnbmF0dXJlLXBhcnQ';
  const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  const leaky = new SystemFailure('STS failed', { cause: new Error(`bad request body WebIdentityToken=${jwt} key=AKIAIOSFODNN7EXAMPLE secret=${secret}`) });
  for (const text of [describeFailure(leaky, false), describeFailure(leaky, true)]) {
    assert.ok(!text.includes(jwt) && !text.includes('AKIAIOSFODNN7EXAMPLE') && !text.includes(secret), text);
    assert.match(text, /\[JWT\].*\[access key id\].*\[secret\]/);
  }
  assert.equal(
    scrubSecrets('/var/lib/jobrole/slots/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'),
    '/var/lib/jobrole/slots/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  );
});

test('no cause: the line is unchanged', () => {
  assert.equal(causeSuffix(new Error('alone'), 'alone'), '');
  assert.equal(describeFailure(new BuildFailure('role "x" is refused'), false), 'role "x" is refused');
});

test('JOBROLE_DEBUG=1: the line, then every error of the chain with its stack and request id', () => {
  const cause = sts('InternalFailure', 'boom', 'dbg-1');
  const err = new SystemFailure('outer failure', { cause: new Error('middle', { cause }) });
  const text = describeFailure(err, true);
  const [first, ...rest] = text.split('\n');
  assert.equal(first, 'system failure: outer failure: caused by middle: caused by InternalFailure: boom (AWS request id dbg-1)');
  const tail = rest.join('\n');
  assert.match(tail, /^SystemFailure: outer failure\n {4}at /);
  assert.match(tail, /\ncaused by: Error: middle\n {4}at /);
  assert.match(tail, /\ncaused by: InternalFailure: boom\n {4}at [^]*\n {2}AWS request id dbg-1/);
  assert.equal(debugChain('thrown'), 'thrown');
  assert.doesNotMatch(describeFailure(new TypeError('bug'), true), /set JOBROLE_DEBUG=1/);
});
