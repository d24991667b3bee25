// Merges [start, end) ranges and cuts a buffer region into pieces with each merged range replaced by the mask.

/** Sorts and merges flat [s0, e0, s1, e1, ...] pairs; overlapping or touching ranges become one. */
export function mergeRanges(flat: number[]): number[] {
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) pairs.push([flat[i]!, flat[i + 1]!]);
  pairs.sort((x, y) => x[0] - y[0]);
  const merged: number[] = [];
  for (const [s, e] of pairs) {
    const n = merged.length;
    if (n > 0 && s <= merged[n - 1]!) merged[n - 1] = Math.max(merged[n - 1]!, e);
    else merged.push(s, e);
  }
  return merged;
}

/**
 * data[0, end) with every merged range replaced by `mask`, as pieces to write in order: views of data between the
 * masks (never a copy of the chunk), and [view of data] when there is nothing to mask.
 */
export function applyMasks(data: Buffer, end: number, merged: number[], mask: Buffer): Buffer[] {
  if (merged.length === 0) return end > 0 ? [data.subarray(0, end)] : [];
  const parts: Buffer[] = [];
  let at = 0;
  for (let i = 0; i + 1 < merged.length; i += 2) {
    const s = merged[i]!;
    const e = merged[i + 1]!;
    if (s > at) parts.push(data.subarray(at, s));
    parts.push(mask);
    at = e;
  }
  if (at < end) parts.push(data.subarray(at, end));
  return parts;
}
