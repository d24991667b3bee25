// The endpoint's sourceSpec is checked on read: every recipe prepare writes passes; a bad or foreign one names its field.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBrokerSourceSpec, type BrokerSourceSpec } from '../../src/broker/source-spec.js';
import { parseConfigText } from '../../src/config/load.js';
import { sessionSpec } from '../../src/credentials/session-spec.js';
import { jobContextFromResponse } from '../../src/runner/job-context.js';
import { buildJobResponse } from '../harness/job-response.js';
import { DEPLOYER_ROLE } from '../harness/roles.js';

const config = parseConfigText(DEPLOYER_ROLE, 'test.toml');
const role = config.roles[0]!;
const ctx = jobContextFromResponse(buildJobResponse(), 'response.json');
const audit = { path: '/var/log/jobrole/audit.jsonl', jobId: 4242, jobKey: '4242-0123456789ab', project: 'group/app', role: 'deployer' };

test('the recipes prepare writes read back unchanged (through JSON, as the handshake carries them)', () => {
  const assumeRole: BrokerSourceSpec = { spec: sessionSpec(config, role, ctx), audit, jobDir: '/var/lib/jobrole/jobs/4242-0123456789ab' };
  assert.deepEqual(parseBrokerSourceSpec(JSON.parse(JSON.stringify(assumeRole))), JSON.parse(JSON.stringify(assumeRole)));
  const swap: BrokerSourceSpec = {
    spec: { strategy: 'instance-profile', imdsEndpoint: 'http://169.254.169.254', imdsRoleName: 'deployer', roleArn: role.arn, sessionName: 'gitlab-77-4242' },
    audit,
  };
  assert.deepEqual(parseBrokerSourceSpec(JSON.parse(JSON.stringify(swap))), swap);
});

test('a bad or foreign sourceSpec is an error naming the first bad field, not a crash in the first refresh', () => {
  const good = JSON.parse(JSON.stringify({ spec: sessionSpec(config, role, ctx), audit })) as Record<string, Record<string, unknown>>;
  assert.throws(
    () => parseBrokerSourceSpec({ ...good, spec: { ...good['spec'], durationSeconds: '3600' } }),
    /sourceSpec\.spec\.durationSeconds is string, expected a whole number/,
  );
  assert.throws(
    () => parseBrokerSourceSpec({ ...good, spec: { ...good['spec'], strategy: 'static-keys' } }),
    /sourceSpec\.spec\.strategy .*expected one of assume-role, web-identity/,
  );
  assert.throws(() => parseBrokerSourceSpec({ ...good, audit: { ...good['audit'], jobId: undefined } }), /sourceSpec\.audit\.jobId/);
  assert.throws(() => parseBrokerSourceSpec({ lifetimeMs: 1 }), /the endpoint's handshake: sourceSpec\.spec is undefined, expected an object/);
  assert.throws(() => parseBrokerSourceSpec('{"spec":1}'), /sourceSpec is string, expected an object/);
});
