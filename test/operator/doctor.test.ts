// `jobrole doctor` end to end against the AWS emulator, a fake getent/nft and a temp state tree.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';
import { parseConfigText } from '../../src/config/load.js';
import type { CommandRunner } from '../../src/isolation/command.js';
import { runDoctor, type DoctorDeps } from '../../src/operator/doctor.js';
import { stateLayout } from '../../src/state/job-store.js';
import { quarantineSlot } from '../../src/state/quarantine.js';
import { startAwsEmulator, type AwsEmulator } from '../fakes/aws-emulator.js';

let emu: AwsEmulator;
before(async () => {
  emu = await startAwsEmulator();
});
after(async () => {
  await emu.stop();
});

const UID = 51001;
/**
 * getent knows the job users only when `users` is true, each with a private group; with `sharedGid` the users'
 * primary group is that gid, `users`, with member alice. nft has no jobrole table.
 */
function fakeRun(users: boolean, sharedGid?: number): CommandRunner {
  return async (file, args) => {
    if (file === 'getent') {
      if (!users) return { exitCode: 2, stdout: '', stderr: '' };
      const entry = (name: string) => {
        const slot = Number(name.replace(/\D+/g, ''));
        return `${name}:x:${UID + slot}:${sharedGid ?? UID + slot}:job:/home/${name}:/bin/bash`;
      };
      if (args[0] === 'group') {
        const gid = args[1] ?? '';
        return { exitCode: 0, stdout: Number(gid) === sharedGid ? `users:x:${gid}:alice\n` : `jobrole-job${Number(gid) - UID}:x:${gid}:\n`, stderr: '' };
      }
      if (args[1] === undefined)
        return { exitCode: 0, stdout: `${['jobrole-job1', 'jobrole-job2'].map(entry).join('\n')}\nalice:x:1000:1000::/home/alice:/bin/bash\n`, stderr: '' };
      return { exitCode: 0, stdout: `${entry(args[1])}\n`, stderr: '' };
    }
    if (file === 'nft') return { exitCode: 1, stdout: '', stderr: 'Error: No such file or directory' };
    return { exitCode: 127, stdout: '', stderr: `unexpected ${file}` };
  };
}

async function setup(t: { after: (fn: () => Promise<void>) => void }, extra = '') {
  const dir = await mkdtemp(join(tmpdir(), 'jobrole-doctor-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const config = parseConfigText(
    `
[driver]
state_dir = "${dir}/state"
builds_dir = "${dir}/builds"
cache_dir = "${dir}/cache"
home_dir = "${dir}/home"
audit_log = "${dir}/audit/audit.jsonl"
slots = 2
[aws]
region = "${emu.region}"
${extra}
`,
    join(dir, 'config.toml'),
  );
  const creds = { accessKeyId: emu.host.accessKeyId, secretAccessKey: emu.host.secretAccessKey };
  const deps: DoctorDeps = {
    sts: async () => new STSClient({ region: emu.region, endpoint: emu.endpoint, maxAttempts: 1, credentials: creds }),
    ssm: async () => new SSMClient({ region: emu.region, endpoint: emu.endpoint, maxAttempts: 1, credentials: creds }),
    run: fakeRun(false),
    uid: () => 0,
    nftTable: 'jobrole_doctor_test',
  };
  return { dir, config, deps };
}

const find = (lines: string[], re: RegExp) => lines.find((l) => re.test(l));

test('an invalid config is one FAIL and the rest is skipped', async () => {
  const r = await runDoctor({ configError: 'config /etc/jobrole/config.toml: [job].delivery = "ftp": expected one of ...' });
  assert.equal(r.ok, false);
  assert.match(r.lines[0] ?? '', /^FAIL config invalid: config \/etc\/jobrole\/config.toml: \[job\]\.delivery/);
  assert.match(r.lines[1] ?? '', /^SKIP /);
});

test('host credentials, caller ARN and clock skew pass against STS; not root with isolation users fails', async (t) => {
  const s = await setup(t);
  const r = await runDoctor({ config: s.config }, { ...s.deps, uid: () => 1000 });
  assert.equal(r.ok, false);
  assert.match(r.lines[0] ?? '', /^PASS config valid \(.*config.toml, 0 roles\)/);
  assert.ok(find(r.lines, /^FAIL running as uid 1000, but \[job\]\.isolation = "users" needs root/), r.lines.join('\n'));
  assert.ok(find(r.lines, new RegExp(`^PASS host credentials work: sts:GetCallerIdentity says ${emu.host.arn.replace(/[/.]/g, '\\$&')}`)), r.lines.join('\n'));
  assert.ok(find(r.lines, /^PASS clock skew: /), r.lines.join('\n'));
  assert.ok(find(r.lines, /^FAIL job users missing: jobrole-job1, jobrole-job2 .*run `jobrole host init`/), r.lines.join('\n'));
  assert.ok(find(r.lines, /^SKIP gitlab-runner registration/));
});

test('isolation "none" needs no root, but is warned about; host setup is skipped', async (t) => {
  const s = await setup(t, '[job]\nisolation = "none"');
  const r = await runDoctor({ config: s.config }, { ...s.deps, uid: () => 1000 });
  assert.ok(find(r.lines, /^PASS running as uid 1000; \[job\]\.isolation = "none"/), r.lines.join('\n'));
  assert.ok(find(r.lines, /^WARN \[job\]\.isolation = "none"/));
  assert.ok(find(r.lines, /^SKIP job users, directories and IMDS firewall rule/));
  assert.equal(r.ok, true, r.lines.join('\n'));
});

test('clock skew against the Date header of STS: WARN above 5 s, FAIL above 60 s', async (t) => {
  const s = await setup(t, '[job]\nisolation = "none"');
  const at = (offsetMs: number) => () => new Date(Date.now() + offsetMs);
  const ahead = await runDoctor({ config: s.config }, { ...s.deps, now: at(120_000) });
  assert.match(find(ahead.lines, /clock skew/) ?? '', /^FAIL clock skew: this host is 1\d\d\.\d s ahead of STS: fix time sync/);
  assert.equal(ahead.ok, false);
  const behind = await runDoctor({ config: s.config }, { ...s.deps, now: at(-15_000) });
  assert.match(find(behind.lines, /clock skew/) ?? '', /^WARN clock skew: this host is 1\d\.\d s behind STS/);
});

test('GetCallerIdentity failure is a FAIL line with advice', async (t) => {
  const s = await setup(t, '[job]\nisolation = "none"');
  emu.faults.deny('GetCallerIdentity', 1);
  const denied = await runDoctor({ config: s.config }, s.deps);
  assert.match(
    find(denied.lines, /host credentials/) ?? '',
    /^FAIL host credentials: sts:GetCallerIdentity failed in us-east-1 \(AccessDenied: .* \(AWS request id [\w-]+\)\): the call is denied/,
  );
  assert.equal(denied.ok, false);
  const noCreds: DoctorDeps = {
    ...s.deps,
    sts: async () =>
      new STSClient({
        region: emu.region,
        endpoint: emu.endpoint,
        maxAttempts: 1,
        credentials: () => Promise.reject(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' })),
      }),
  };
  const none = await runDoctor({ config: s.config }, noCreds);
  assert.match(find(none.lines, /host credentials/) ?? '', /^FAIL .*CredentialsProviderError.*attach an instance profile/);
  assert.match(find(none.lines, /clock skew/) ?? '', /^SKIP /);
});

test('dry-run roles: a real AssumeRole per role, opt-in; a denied one fails naming the trust policy', async (t) => {
  const ok = `arn:aws:iam::${emu.account}:role/doctor-ok`;
  const denied = `arn:aws:iam::${emu.account}:role/doctor-denied`;
  emu.addRole({ arn: ok });
  emu.addRole({ arn: denied, trust: { principals: [] } });
  const s = await setup(t, `[job]\nisolation = "none"\n[[roles]]\nname = "ok"\narn = "${ok}"\n[[roles]]\nname = "denied"\narn = "${denied}"\n`);
  const quiet = await runDoctor({ config: s.config }, s.deps);
  assert.ok(find(quiet.lines, /^SKIP roles: 2 not tried \(pass --dry-run-roles/));
  const before = emu.sessions.length;
  const r = await runDoctor({ config: s.config, dryRunRoles: true }, s.deps);
  assert.ok(find(r.lines, /^PASS role "ok" assumable from here \(arn:aws:sts::\d+:assumed-role\/doctor-ok\/jobrole-doctor, 900 s/), r.lines.join('\n'));
  assert.ok(
    find(
      r.lines,
      /^FAIL role "denied" .*AssumeRole failed \(AccessDenied: .*its trust policy must allow .* sts:AssumeRole, sts:TagSession, sts:SetSourceIdentity/,
    ),
    r.lines.join('\n'),
  );
  const issued = emu.sessions.slice(before);
  assert.equal(issued.length, 1);
  assert.ok(!r.lines.join('\n').includes(issued[0]?.accessKeyId ?? 'none'), 'the credentials are never printed');
});

test(
  'host setup: users, directories with owners and modes, and a missing firewall rule',
  { skip: process.getuid?.() !== 0 && 'needs root to chown' },
  async (t) => {
    const s = await setup(t);
    const d = s.config.driver;
    const mk = async (p: string, uid: number, mode: number) => {
      await mkdir(p, { recursive: true });
      await chown(p, uid, uid);
      await chmod(p, mode);
    };
    await mk(d.state_dir, 0, 0o711);
    await mk(join(s.dir, 'audit'), 0, 0o700);
    await mk(d.home_dir, 0, 0o755);
    for (const base of [d.builds_dir, d.cache_dir]) {
      await mk(base, 0, 0o755);
      for (const slot of [1, 2]) await mk(join(base, `slot${slot}`), UID + slot, 0o700);
    }
    const deps = { ...s.deps, run: fakeRun(true) };
    const good = await runDoctor({ config: s.config }, deps);
    assert.ok(find(good.lines, /^PASS job users exist for all 2 slots \(jobrole-job1 uid 51002, jobrole-job2 uid 51003\)/), good.lines.join('\n'));
    assert.ok(find(good.lines, /^PASS job users' primary groups are their own/), good.lines.join('\n'));
    assert.ok(!find(good.lines, /primary group .* is not its own/), good.lines.join('\n'));
    assert.ok(find(good.lines, /^PASS directories: 9 in place/), good.lines.join('\n'));
    assert.ok(find(good.lines, /^FAIL IMDS firewall rule: .*run `jobrole host init`/), good.lines.join('\n'));
    assert.ok(find(good.lines, /^PASS endpoint firewall rules: 0 in jobrole_doctor_test_ep, each of a job in progress/), good.lines.join('\n'));
    await chmod(join(d.builds_dir, 'slot2'), 0o755);
    await chown(join(d.cache_dir, 'slot1'), 0, 0);
    const bad = await runDoctor({ config: s.config }, deps);
    assert.ok(find(bad.lines, /^FAIL builds dir .*\/builds\/slot2: mode 0755, expected 0700: run `jobrole host init`/), bad.lines.join('\n'));
    assert.ok(find(bad.lines, /^FAIL cache dir .*\/cache\/slot1: owned by 0:0, expected jobrole-job1 \(51002:51002\)/), bad.lines.join('\n'));
    // The audit log in a shared directory (like /var/log, root 0755) is fine; one others can write is not.
    await chmod(join(s.dir, 'audit'), 0o755);
    const shared = await runDoctor({ config: s.config }, deps);
    assert.ok(!find(shared.lines, /^FAIL audit log dir/), shared.lines.join('\n'));
    await chmod(join(s.dir, 'audit'), 0o777);
    const open = await runDoctor({ config: s.config }, deps);
    assert.ok(find(open.lines, /^FAIL audit log dir .*\/audit: mode 0777 is writable by group or others/), open.lines.join('\n'));
  },
);

test('central policy: fetched fresh and merged; a broken parameter fails', async (t) => {
  const name = `/jobrole/doctor-${process.pid}`;
  emu.putParameter(name, `[[roles]]\nname = "central"\narn = "arn:aws:iam::${emu.account}:role/central"\n`, 'SecureString');
  const s = await setup(t, `[job]\nisolation = "none"\n[policy]\nssm_parameter = "${name}"`);
  const r = await runDoctor({ config: s.config }, s.deps);
  assert.ok(find(r.lines, new RegExp(`^PASS central policy ${name}: 1 roles after merging`)), r.lines.join('\n'));
  emu.putParameter(`${name}-broken`, 'roles = 3\n');
  const broken = await setup(t, `[job]\nisolation = "none"\n[policy]\nssm_parameter = "${name}-broken"`);
  const b = await runDoctor({ config: broken.config }, broken.deps);
  assert.ok(find(b.lines, /^FAIL central policy .* is unusable: roles: expected \[\[roles\]\].*jobs on this host fail/), b.lines.join('\n'));
  assert.equal(b.ok, false);
});

test('a role granting on conditions the job author chooses, without a protection, is a WARN naming role and conditions', async (t) => {
  const s = await setup(
    t,
    `
[gitlab]
url = "https://gitlab.example.com"
[[roles]]
name = "deploy-env"
arn = "arn:aws:iam::111122223333:role/deploy-env"
  [roles.allow]
  environments = ["production"]
  pipeline_sources = ["web"]
[[roles]]
name = "deploy-safe"
arn = "arn:aws:iam::111122223333:role/deploy-safe"
  [roles.allow]
  environments = ["production"]
  environment_protected = true
[[roles]]
name = "users-on-protected"
arn = "arn:aws:iam::111122223333:role/users-on-protected"
  [roles.allow]
  user_logins = ["alice"]
  protected = true
`,
  );
  const r = await runDoctor({ config: s.config }, s.deps);
  const warned = r.lines.filter((l) => /whoever writes \.gitlab-ci\.yml/.test(l));
  assert.equal(warned.length, 1, r.lines.join('\n'));
  assert.match(
    warned[0] ?? '',
    /^WARN .*\[\[roles\]\] "deploy-env" grants on allow\.environments, allow\.pipeline_sources, .*add protected = true or environment_protected = true/,
  );
});

test('an endpoint firewall rule whose job has no state left is a warning naming the job and the fix', async (t) => {
  const s = await setup(t);
  const chains = { nftables: [{ chain: { family: 'inet', table: 'jobrole_doctor_test_ep', name: 'job_4100_aaaaaaaaaaaa', hook: 'output' } }] };
  const base = fakeRun(true);
  const run: CommandRunner = async (file, args, opts) =>
    file === 'nft' && args.join(' ') === '-j list table inet jobrole_doctor_test_ep'
      ? { exitCode: 0, stdout: JSON.stringify(chains), stderr: '' }
      : base(file, args, opts);
  const r = await runDoctor({ config: s.config }, { ...s.deps, run });
  assert.ok(
    find(r.lines, /^WARN endpoint firewall rules in jobrole_doctor_test_ep of jobs with no state left: 4100-aaaaaaaaaaaa; "jobrole gc" removes them/),
    r.lines.join('\n'),
  );
});

test('a job user whose primary group is shared is a FAIL per user, naming the group, who shares it and the fix', async (t) => {
  const s = await setup(t);
  const r = await runDoctor({ config: s.config }, { ...s.deps, run: fakeRun(true, 100) });
  for (const n of [1, 2]) {
    const other = n === 1 ? 'jobrole-job2' : 'jobrole-job1';
    assert.ok(
      find(
        r.lines,
        new RegExp(
          `^FAIL job user jobrole-job${n}'s primary group users \\(gid 100\\) is not its own \\(members alice and the primary group of ${other}\\): each job's credential and ID-token files are readable by that group.*run \`jobrole host init\` again`,
        ),
      ),
      r.lines.join('\n'),
    );
  }
  assert.ok(!find(r.lines, /primary groups are their own/), r.lines.join('\n'));
  assert.equal(r.ok, false);
});

test('a slot quarantined because the job locked its keyring says a reboot is needed; any other quarantine says fix and gc', async (t) => {
  const s = await setup(t);
  const layout = stateLayout(s.config.driver.state_dir);
  await mkdir(layout.slots, { recursive: true });
  await quarantineSlot(
    layout,
    1,
    '4100-aaaaaaaaaaaa',
    "clear the keyrings of jobrole-job1: the job locked its keyring: jobrole-job1's keyring refuses `keyctl clear`",
  );
  await quarantineSlot(layout, 2, '4101-bbbbbbbbbbbb', 'reset the home of jobrole-job2: EBUSY');
  const r = await runDoctor({ config: s.config }, { ...s.deps, run: fakeRun(true) });
  assert.ok(
    find(
      r.lines,
      /^FAIL slot 1 is quarantined since .* \(job 4100\): clear the keyrings of jobrole-job1: the job locked its keyring: .*: only a reboot clears a keyring the job locked: reboot the host, then run `jobrole gc`; until then every gc retries it in vain$/,
    ),
    r.lines.join('\n'),
  );
  assert.ok(
    find(r.lines, /^FAIL slot 2 is quarantined since .* \(job 4101\): reset the home of jobrole-job2: EBUSY: fix the cause, then run `jobrole gc`$/),
    r.lines.join('\n'),
  );
  assert.ok(!find(r.lines, /^FAIL slot 2 .*reboot/), r.lines.join('\n'));
});
