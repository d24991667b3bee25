// The job log: warnings start with "WARNING:" like gitlab-runner's own, errors and sections as GitLab renders them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { jobLog } from '../../src/core/job-log.js';

const plain = (s: string) => s.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');

function capture() {
  const out = new PassThrough();
  const err = new PassThrough();
  const text = { out: '', err: '' };
  out.on('data', (d: Buffer) => {
    text.out += d.toString();
  });
  err.on('data', (d: Buffer) => {
    text.err += d.toString();
  });
  return { log: jobLog(out, err), text };
}

test('a warning starts with "WARNING:" (after the colour codes) and names jobrole; continuation lines follow', () => {
  const { log, text } = capture();
  log.warn('the central policy is stale\nsecond line');
  log.error('broken');
  const lines = plain(text.err).split('\n');
  assert.equal(lines[0], 'WARNING: jobrole: the central policy is stale');
  assert.equal(lines[1], 'second line');
  assert.equal(lines[2], 'jobrole: broken');
  assert.equal(text.out, '');
});
