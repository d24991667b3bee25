// parseDuration / formatDuration: the duration forms operators write in config.toml.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { formatDuration, parseDuration } from '../../src/config/duration.js';

test('parseDuration accepts whole seconds, unit forms and combinations', () => {
  assert.equal(parseDuration(90), 90);
  assert.equal(parseDuration(0), 0);
  assert.equal(parseDuration('3600'), 3600);
  assert.equal(parseDuration('90s'), 90);
  assert.equal(parseDuration('15m'), 900);
  assert.equal(parseDuration('1h'), 3600);
  assert.equal(parseDuration('1h30m'), 5400);
  assert.equal(parseDuration('2d'), 172800);
  assert.equal(parseDuration('1h0m5s'), 3605);
  assert.equal(parseDuration('  20m  '), 1200, 'surrounding whitespace is ignored');
});

test('parseDuration rejects everything else', () => {
  for (const bad of [
    -1,
    1.5,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    '',
    ' ',
    '-5',
    '1.5h',
    '1 h',
    '1h 30m',
    'h',
    '15min',
    '1H',
    '1w',
    'abc',
    true,
    null,
    undefined,
    {},
    ['1h'],
  ]) {
    assert.equal(parseDuration(bad), undefined, `${inspect(bad)} must not parse`);
  }
});

test('formatDuration renders h/m/s parts and rounds', () => {
  assert.equal(formatDuration(5400), '1h30m');
  assert.equal(formatDuration(3605), '1h5s');
  assert.equal(formatDuration(59.6), '1m');
  assert.equal(formatDuration(45), '45s');
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(-3), '0s');
  assert.equal(formatDuration(90000), '25h');
});

test('parseDuration and formatDuration round-trip', () => {
  for (const s of [1, 59, 60, 61, 3599, 3600, 5400, 43200, 86399]) assert.equal(parseDuration(formatDuration(s)), s);
});
