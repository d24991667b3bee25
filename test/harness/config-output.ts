// Parses and checks config_exec's stdout: exactly one JSON document with the fields' documented types.

export interface ConfigOutput {
  raw: Record<string, unknown>;
  buildsDir: string;
  cacheDir: string;
  buildsDirIsShared: boolean;
  hostname: string | undefined;
  driverName: string | undefined;
  driverVersion: string | undefined;
  jobEnv: Record<string, string>;
}

export type ConfigParse = { ok: true; config: ConfigOutput } | { ok: false; error: string; raw?: Record<string, unknown> };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function optString(o: Record<string, unknown>, key: string, errors: string[]): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') errors.push(`${key} must be a string, got ${JSON.stringify(v)}`);
  return typeof v === 'string' ? v : undefined;
}

/** Anything but one JSON object on stdout (a log line, two documents) fails the prepare attempt. */
export function parseConfigOutput(stdout: string): ConfigParse {
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch (err) {
    return { ok: false, error: `error while parsing JSON output: ${(err as Error).message}` };
  }
  if (!isObject(doc)) return { ok: false, error: `error while parsing JSON output: not an object: ${stdout.slice(0, 80)}` };
  const errors: string[] = [];
  const buildsDir = optString(doc, 'builds_dir', errors) ?? '';
  const cacheDir = optString(doc, 'cache_dir', errors) ?? '';
  const hostname = optString(doc, 'hostname', errors);
  optString(doc, 'shell', errors);
  const shared = doc['builds_dir_is_shared'];
  if (shared !== undefined && shared !== null && typeof shared !== 'boolean') errors.push('builds_dir_is_shared must be a boolean');
  let driverName: string | undefined;
  let driverVersion: string | undefined;
  const driver = doc['driver'];
  if (driver !== undefined && driver !== null) {
    if (!isObject(driver)) errors.push('driver must be an object');
    else {
      driverName = optString(driver, 'name', errors);
      driverVersion = optString(driver, 'version', errors);
    }
  }
  const jobEnv: Record<string, string> = {};
  const rawEnv = doc['job_env'];
  if (rawEnv !== undefined && rawEnv !== null) {
    if (!isObject(rawEnv)) errors.push('job_env must be an object of strings');
    else
      for (const [k, v] of Object.entries(rawEnv)) {
        if (typeof v === 'string') jobEnv[k] = v;
        else errors.push(`job_env.${k} must be a string`);
      }
  }
  if (errors.length) return { ok: false, error: `error while parsing JSON output: ${errors.join('; ')}`, raw: doc };
  if (!buildsDir) return { ok: false, error: 'the builds_dir is not configured', raw: doc };
  if (!cacheDir) return { ok: false, error: 'the cache_dir is not configured', raw: doc };
  return {
    ok: true,
    config: { raw: doc, buildsDir, cacheDir, buildsDirIsShared: shared === true, hostname, driverName, driverVersion, jobEnv },
  };
}
