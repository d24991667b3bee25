// Reads query-protocol parameters: form bodies, numbered member lists (Tags.member.1.Key, Filter.1.Value.1).

export type Params = Record<string, string>;

export function parseForm(text: string): Params {
  const out: Params = {};
  for (const [k, v] of new URLSearchParams(text)) out[k] = v;
  return out;
}

/** Values of `${prefix}.1`, `${prefix}.2`, … until the first gap. */
export function memberList(params: Params, prefix: string): string[] {
  const out: string[] = [];
  for (let i = 1; params[`${prefix}.${i}`] !== undefined; i++) out.push(params[`${prefix}.${i}`] as string);
  return out;
}

/** Structures `${prefix}.N.${field}` for N = 1… until no field of N is present. */
export function memberStructs(params: Params, prefix: string): Array<Record<string, string | undefined>> {
  const out: Array<Record<string, string | undefined>> = [];
  for (let i = 1; ; i++) {
    const head = `${prefix}.${i}.`;
    const keys = Object.keys(params).filter((k) => k.startsWith(head));
    if (keys.length === 0) return out;
    const item: Record<string, string | undefined> = {};
    for (const k of keys) item[k.slice(head.length)] = params[k];
    out.push(item);
  }
}
