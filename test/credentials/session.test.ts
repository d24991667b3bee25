// Session names, source identity and tags: derived from trusted facts, always within STS's character and length rules.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CHAINING_CAP_SECONDS,
  MIN_SESSION_SECONDS,
  assumeRoleDuration,
  cleanName,
  cleanTagValue,
  sessionName,
  sessionTags,
  sourceIdentity,
} from '../../src/credentials/session.js';
import { jobContext } from '../policy/context-fixture.js';

const STS_NAME = /^[\w+=,.@-]{2,64}$/;
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u;

test('sessionName is gitlab-<project_id>-<job_id> and always valid', () => {
  assert.equal(sessionName(jobContext({ projectId: 77, jobId: 4242 })), 'gitlab-77-4242');
  const big = sessionName(jobContext({ projectId: 999999999999999, jobId: 999999999999999 }));
  assert.match(big, STS_NAME);
});

test('cleanName maps anything into [\\w+=,.@-]{2,64}', () => {
  assert.equal(cleanName('group/sub/app'), 'group.sub.app');
  assert.equal(cleanName('a b:c'), 'a-b-c');
  assert.equal(cleanName('x'), 'x-');
  assert.equal(cleanName(''), '--');
  assert.equal(cleanName('é'), '--');
  for (const v of ['aws:evil', 'g/'.repeat(100), 'ünïcödé/名前', '\u0000\n', 'user+tag@example.com']) assert.match(cleanName(v), STS_NAME, v);
  assert.ok(!cleanName('aws:x').startsWith('aws:'), 'SourceIdentity must not start with aws:');
});

test('sourceIdentity per [job].source_identity', () => {
  const ctx = jobContext({ jobId: 4242, projectPath: 'group/app' });
  assert.equal(sourceIdentity(ctx, 'none'), undefined);
  assert.equal(sourceIdentity(ctx, 'job'), 'gitlab-job-4242');
  assert.equal(sourceIdentity(ctx, 'project'), 'group.app');
  assert.equal(sourceIdentity(ctx, 'user_login'), 'gitlab-job-4242', 'no verified token: falls back to the job');
  assert.equal(sourceIdentity(jobContext({ claims: { user_login: 'alice.smith' } }), 'user_login'), 'alice.smith');
  assert.equal(sourceIdentity(jobContext({ claims: { user_login: '' } }), 'user_login'), 'gitlab-job-4242');
  assert.match(sourceIdentity(jobContext({ claims: { user_login: 'a' } }), 'user_login') ?? '', STS_NAME);
});

test('cleanTagValue keeps allowed characters (including letters of any script) and bounds the length', () => {
  assert.equal(cleanTagValue('group/app'), 'group/app');
  assert.equal(cleanTagValue('feature/ü-名前 x@y:1=2+3'), 'feature/ü-名前 x@y:1=2+3');
  assert.equal(cleanTagValue('a$b*c"d\ne'), 'a_b_c_d_e');
  assert.equal(cleanTagValue(''), '');
  assert.equal(cleanTagValue('x'.repeat(300)).length, 256);
  assert.match(cleanTagValue('anything \u0000 goes\t!'), TAG_VALUE);
});

// Known bug (see report): slice(0, 256) counts UTF-16 units and can split an astral letter into a lone surrogate.
test('cleanTagValue never leaves half a character at the cut', () => {
  const v = cleanTagValue(`${'a'.repeat(255)}\u{1D49C}`);
  assert.ok(!/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(v), 'no lone surrogate sent to STS');
});

test('sessionTags: project and job required, ref/ref_type/pipeline/project id optional, values cleaned', () => {
  const t = sessionTags(jobContext({ projectPath: 'group/app', jobId: 4242, ref: 'feature/$weird*', refType: 'branch', pipelineId: 900, projectId: 77 }));
  assert.deepEqual(t.required, [
    { Key: 'gitlab:project_path', Value: 'group/app' },
    { Key: 'gitlab:job_id', Value: '4242' },
  ]);
  assert.deepEqual(t.optional, [
    { Key: 'gitlab:ref', Value: 'feature/_weird_' },
    { Key: 'gitlab:ref_type', Value: 'branch' },
    { Key: 'gitlab:pipeline_id', Value: '900' },
    { Key: 'gitlab:project_id', Value: '77' },
  ]);
  for (const tag of [...t.required, ...t.optional]) assert.match(tag.Value, TAG_VALUE);
});

test('assumeRoleDuration: at least 15 minutes, at most the 1-hour chaining cap', () => {
  assert.equal(MIN_SESSION_SECONDS, 900);
  assert.equal(CHAINING_CAP_SECONDS, 3600);
  assert.equal(assumeRoleDuration(1800), 1800);
  assert.equal(assumeRoleDuration(43200), 3600);
  assert.equal(assumeRoleDuration(60), 900);
  assert.equal(assumeRoleDuration(3600), 3600);
});
