// Job cancellation as the runner does it: mark the job canceled and signal the running stage's process group.
import type { ExecHandle } from './exec-stage.js';

export interface CancelController {
  readonly canceled: boolean;
  /** A cancellable executable started (config, prepare, run stages; never cleanup). */
  stageStarted(name: string, handle: ExecHandle | undefined): void;
  stageEnded(): void;
  cancel(): void;
  /** No more cancelling: the job has reached its final cleanup. */
  close(): void;
}

export function createCancelController(spec: number | { stage: string; afterMs: number } | undefined): CancelController {
  let canceled = false;
  let closed = false;
  let armed = false;
  let current: ExecHandle | undefined;
  const timers: NodeJS.Timeout[] = [];
  const controller: CancelController = {
    get canceled() {
      return canceled;
    },
    stageStarted(name, handle) {
      current = handle;
      if (typeof spec === 'object' && spec.stage === name && !armed) {
        armed = true;
        timers.push(setTimeout(() => controller.cancel(), spec.afterMs));
      }
    },
    stageEnded() {
      current = undefined;
    },
    cancel() {
      if (closed || canceled) return;
      canceled = true;
      current?.terminate('cancel');
    },
    close() {
      closed = true;
      for (const t of timers) clearTimeout(t);
    },
  };
  if (typeof spec === 'number') timers.push(setTimeout(() => controller.cancel(), spec));
  return controller;
}
