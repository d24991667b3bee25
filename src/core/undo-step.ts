// One named step of undoing a job (stop its endpoint, restore a profile, remove its files): cleanup runs them all.

export interface UndoStep {
  /** What the operator reads in the cleanup line and in a failure ("restore the instance profile of i-…"). */
  name: string;
  run: () => Promise<void>;
}
