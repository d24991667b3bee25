// A static JWKS file for air-gapped hosts: keys from disk, never a network call.

import { readFile } from 'node:fs/promises';
import { SystemFailure } from '../core/exit-codes.js';
import { parseJwks, type JwksSource, type JSONWebKeySet, type RefreshResult } from './jwks-source.js';

/** Keys from [gitlab].jwks_file. Read once per source; a missing or broken file is a host fault. */
export function jwksFromFile(path: string): JwksSource {
  let loaded: Promise<JSONWebKeySet> | undefined;
  const load = async (): Promise<JSONWebKeySet> => {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new SystemFailure(
        `Cannot read the JWKS file ${path} ([gitlab].jwks_file): ${code}. ` + 'Copy the keys from <gitlab>/oauth/discovery/keys to that path.',
        { cause: err },
      );
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new SystemFailure(`The JWKS file ${path} ([gitlab].jwks_file) is not valid JSON.`, { cause: err });
    }
    const parsed = parseJwks(doc);
    if ('error' in parsed) throw new SystemFailure(`The JWKS file ${path} ([gitlab].jwks_file) is unusable: ${parsed.error}.`);
    return parsed.jwks;
  };
  return {
    description: `the JWKS file ${path}`,
    keys() {
      loaded ??= load();
      return loaded;
    },
    async refresh(): Promise<RefreshResult> {
      return {
        why: `keys come from the static file ${path} ([gitlab].jwks_file), which is never refetched; ` + 'update it after GitLab rotates its signing key',
      };
    },
  };
}
