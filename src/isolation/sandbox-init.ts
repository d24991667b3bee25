// Whether a recorded sandbox init is still that process: the one strict check of the run stage and of stopSandbox.

import type { ProcStat } from '../core/process-identity.js';

/**
 * The process at the recorded pid (its /proc stat, undefined if gone) is the sandbox's init: live (not a
 * zombie) with the recorded start time. A record without a start time is never taken for it, so a recycled
 * pid is never signalled nor joined.
 */
export function isRecordedInit(record: { startTime: string | undefined }, stat: ProcStat | undefined): boolean {
  if (stat === undefined || stat.state === 'Z' || stat.state === 'X') return false;
  return record.startTime !== undefined && stat.startTime === record.startTime;
}
