// setTimeout for an absolute instant that may be days away (node clamps delays above 2^31-1 ms to 1 ms).

const MAX_DELAY = 2 ** 31 - 1;

export interface Later {
  cancel(): void;
}

/** Calls fn (never synchronously) once `now()` has reached `at`, re-arming in steps for far instants. */
export function runAt(at: number, now: () => number, fn: () => void, unref = false): Later {
  let timer: NodeJS.Timeout | undefined;
  const schedule = (): void => {
    timer = setTimeout(fire, Math.max(0, Math.min(at - now(), MAX_DELAY)));
    if (unref) timer.unref();
  };
  const fire = (): void => {
    if (at - now() > 0) return schedule();
    timer = undefined;
    fn();
  };
  schedule();
  return {
    cancel() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}
