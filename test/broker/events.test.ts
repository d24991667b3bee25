// The endpoint's typed JSON lines: answers and feed lines round-trip; missing fields, wrong types and foreign JSON are refused.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeLine, parseBrokerAnswer, parseFeedMessage } from '../../src/broker/events.js';

test('answer: a port or an error round-trips as one JSON line', () => {
  assert.equal(encodeLine({ port: 4321 }), '{"port":4321}\n');
  assert.deepEqual(parseBrokerAnswer(encodeLine({ port: 4321 }).trim()), { port: 4321 });
  assert.deepEqual(parseBrokerAnswer(encodeLine({ error: 'no STS' }).trim()), { error: 'no STS' });
});

test('answer: missing field, wrong type, out of range and foreign JSON are refused', () => {
  assert.throws(() => parseBrokerAnswer('{}'), /neither a port \(1-65535\) nor an error/);
  assert.throws(() => parseBrokerAnswer('{"port":"4321"}'), /neither a port/);
  assert.throws(() => parseBrokerAnswer('{"port":70000}'), /neither a port/);
  assert.throws(() => parseBrokerAnswer('{"error":5}'), /neither a port/);
  assert.throws(() => parseBrokerAnswer('[4321]'), /not a JSON object/);
  assert.throws(() => parseBrokerAnswer('{"port":43'), /the answer is not JSON/);
});

test('feed: a secret or synced round-trips; anything else is refused', () => {
  assert.deepEqual(parseFeedMessage(encodeLine({ secret: 's3cr3t' }).trim()), { secret: 's3cr3t' });
  assert.deepEqual(parseFeedMessage(encodeLine({ synced: true }).trim()), { synced: true });
  assert.throws(() => parseFeedMessage('{"secret":""}'), /neither a secret nor synced/);
  assert.throws(() => parseFeedMessage('{"secret":42}'), /neither a secret nor synced/);
  assert.throws(() => parseFeedMessage('{"synced":"yes"}'), /neither a secret nor synced/);
  assert.throws(() => parseFeedMessage('{"name":"left-pad"}'), /neither a secret nor synced/);
  assert.throws(() => parseFeedMessage('"secret"'), /not a JSON object/);
  assert.throws(() => parseFeedMessage('{"secret":"ab'), /a feed line is not JSON/);
});
