// Doctor: what the job sandbox needs (util-linux, keyutils, namespaces, cgroup v2) and slots in quarantine.

import { release } from 'node:os';
import type { JobroleConfig } from '../../config/types.js';
import { runCommand, type CommandRunner } from '../../isolation/command.js';
import { detectCgroup2, missingControllers } from '../../isolation/cgroup.js';
import { UNSHARE_ARGS } from '../../isolation/sandbox.js';
import { isKeyringLocked } from '../../isolation/keyring.js';
import { stateLayout } from '../../state/job-store.js';
import { describeQuarantine, quarantinedSlots } from '../../state/quarantine.js';
import { fail, pass, warn, type CheckResult } from './result.js';

/** cgroup.kill arrived in Linux 5.14. */
function kernelHasCgroupKill(rel = release()): boolean {
  const [maj = 0, min = 0] = rel.split(/[.-]/).map(Number);
  return maj > 5 || (maj === 5 && min >= 14);
}

export async function checkSandbox(config: JobroleConfig, run: CommandRunner = runCommand): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const missing: string[] = [];
  for (const tool of ['unshare', 'nsenter', 'setsid', 'setpriv', 'mount']) {
    if ((await run(tool, ['--version'])).exitCode !== 0) missing.push(tool);
  }
  if (missing.length > 0) out.push(fail(`sandbox tools missing: ${missing.join(', ')}: install util-linux (and mount) 2.36 or later`));
  else out.push(pass(`sandbox tools: ${(await run('unshare', ['--version'])).stdout.trim()}`));
  if ((await run('keyctl', ['--version'])).exitCode !== 0)
    out.push(fail("keyctl missing: install keyutils, or cleanup cannot clear job users' keyrings (their slots get quarantined)"));
  else out.push(pass("keyctl present (job users' keyrings are cleared at cleanup)"));
  if (missing.length === 0) {
    const r = await run('unshare', [...UNSHARE_ARGS, '--', 'true']);
    out.push(
      r.exitCode === 0
        ? pass('PID, mount, IPC and UTS namespaces can be created')
        : fail(
            `cannot create the job sandbox's namespaces (${r.stderr.trim() || `exit ${r.exitCode}`}): the kernel must allow them to root (user.max_*_namespaces, a container without CAP_SYS_ADMIN?)`,
          ),
    );
  }
  const cg = await detectCgroup2();
  const limits = { pidsMax: config.driver.job_pids_max, memoryMax: config.driver.job_memory_max };
  const lacking = missingControllers(cg, limits);
  if (cg === undefined) {
    out.push(
      lacking.length > 0
        ? fail('no cgroup v2 on this host, but [driver].job_pids_max / job_memory_max are set: unset them or boot with cgroup v2')
        : warn('no cgroup v2 on this host: jobs run without a cgroup (the PID namespace still ends every process at cleanup)'),
    );
  } else {
    const kill = kernelHasCgroupKill() ? 'cgroup.kill available' : 'no cgroup.kill (kernel before 5.14): members are killed one by one';
    const ctl = `controllers: ${cg.controllers.join(' ') || 'none'}`;
    out.push(
      lacking.length > 0
        ? fail(`cgroup v2 at ${cg.mount} lacks ${lacking.join(', ')} for [driver].job_pids_max / job_memory_max (${ctl})`)
        : pass(`cgroup v2 at ${cg.mount}: a cgroup per job, ${kill}; ${ctl}${limits.pidsMax > 0 || limits.memoryMax !== '' ? '' : ' (no limits configured)'}`),
    );
  }
  const quarantined = await quarantinedSlots(stateLayout(config.driver.state_dir));
  for (const q of quarantined) {
    const advice = isKeyringLocked(q.reason)
      ? 'only a reboot clears a keyring the job locked: reboot the host, then run `jobrole gc`; until then every gc retries it in vain'
      : 'fix the cause, then run `jobrole gc`';
    out.push(fail(`${describeQuarantine(q)}: ${advice}`));
  }
  if (quarantined.length === 0) out.push(pass('no slot is quarantined'));
  return out;
}
