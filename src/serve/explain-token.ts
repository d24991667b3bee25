// `jobrole explain --id-token` for a broker config: why a token would get (or not get) each role, from the token alone.

import type { JobroleConfig } from '../config/types.js';
import { formatDuration } from '../config/duration.js';
import { sessionName } from '../credentials/session.js';
import type { Fact } from '../runner/job-context-types.js';
import type { Decision } from '../policy/evaluate.js';
import { roleVerdictLines } from '../policy/verdict-lines.js';
import type { VerifiedIdToken } from '../identity/claims.js';
import { sessionSpec } from '../credentials/session-spec.js';
import { sessionLifetime } from './issue.js';
import { serveSettings } from './serve-rules.js';
import { decideForToken, judgeAllRoles, jobFromToken, refusalMessage } from './token-job.js';
import { keySource } from '../identity/key-source.js';
import { brokerVerifier, TOKEN_VARIABLE } from './token-verifier.js';

export interface ExplainTokenOptions {
  config: JobroleConfig;
  /** The raw ID token. */
  idToken: string;
  /** The role in the broker URL (/v1/credentials/<role>); without it every role is judged and none decided. */
  role?: string;
  /** Default: the broker's own verifier. */
  verify?: (raw: string) => Promise<VerifiedIdToken>;
  now?: () => number;
  warn?: (message: string) => void;
}

const q = (v: unknown) => JSON.stringify(v);
const line = (name: string, f: Fact<unknown> | undefined) =>
  f === undefined ? undefined : `  ${name.padEnd(22)} ${q(f.value).padEnd(36)} [${f.source}${f.field !== undefined ? ` ${f.field}` : ''}]`;

export async function explainToken(opts: ExplainTokenOptions): Promise<{ text: string; decision: Decision | undefined; rejected: boolean }> {
  const { config } = opts;
  const now = opts.now ?? Date.now;
  const settings = serveSettings(config);
  const verify = opts.verify ?? brokerVerifier(config, settings, keySource(config, opts.warn ?? (() => undefined)));
  const out = [`jobrole serve, config ${config.source}: the ID token alone decides (audience ${q(settings.audience)}, issuer ${config.gitlab.url})`, ''];
  let token: VerifiedIdToken;
  try {
    token = await verify(opts.idToken);
  } catch (err) {
    out.push(`ID token: REJECTED (the broker answers 401): ${(err as Error).message}`);
    return { text: `${out.join('\n')}\n`, decision: undefined, rejected: true };
  }
  const job = jobFromToken(token);
  if ('problem' in job) {
    out.push(`ID token: REJECTED (the broker answers 401): ${job.problem}`);
    return { text: `${out.join('\n')}\n`, decision: undefined, rejected: true };
  }
  const c = token.claims;
  const left = c.exp - now() / 1000;
  out.push(
    `ID token: verified; expires ${new Date(c.exp * 1000).toISOString()}${left > 0 ? ` (in ${formatDuration(left)})` : ' (EXPIRED: the broker answers 401)'}`,
    '',
  );
  const f = job.facts;
  out.push(
    'Facts [source field]:',
    ...[
      line('job id', job.ctx.jobId),
      line('project id', job.ctx.projectId),
      line('project', f.project),
      line('ref', f.ref),
      line('ref type', f.refType),
      line('merge request', f.mergeRequest),
      line('source branch', f.sourceBranch),
      line('protected', f.protected),
      line('environment', f.environment),
      line('environment protected', f.environmentProtected),
      line('deployment tier', f.deploymentTier),
      line('pipeline source', f.pipelineSource),
      line('user login', f.userLogin),
    ].filter((l): l is string => l !== undefined),
  );
  if (f.tokenProjects?.jobProjectPath !== undefined && f.tokenProjects.jobProjectPath !== f.tokenProjects.projectPath) {
    out.push(
      `  (fork: project_path ${q(f.tokenProjects.projectPath)}, job_project_path ${q(f.tokenProjects.jobProjectPath)}; a projects rule must match both)`,
    );
  }
  out.push('', `Roles on this broker (${config.roles.length}):`);
  for (const { role, verdicts } of judgeAllRoles(job, config)) {
    out.push(
      ...roleVerdictLines(role, verdicts, {
        allows: verdicts.every((v) => v.ok),
        requested: role.name === opts.role,
        unconditional: 'any job with a valid token may have it',
      }),
    );
  }
  if (opts.role === undefined) {
    out.push('', `Decision: none asked (pass --role <name>, the role in ${TOKEN_VARIABLE}'s URL /v1/credentials/<name>)`);
    return { text: `${out.join('\n')}\n`, decision: undefined, rejected: left <= 0 };
  }
  const decision = decideForToken(job, opts.role, config);
  if (decision.kind === 'allow') {
    const spec = sessionSpec(config, decision.role, job.ctx);
    const life = sessionLifetime(spec.durationSeconds, c.exp, now());
    out.push(
      '',
      `Decision: ALLOW (200): "${decision.role.name}" (${decision.role.arn}) via ${decision.role.strategy}, session ${sessionName(job.ctx)}, ` +
        `${life.durationSeconds} s${life.denyAfter !== undefined ? `, denied by session policy after the token's exp ${life.denyAfter.toISOString()}` : ''}`,
    );
  } else if (decision.kind === 'deny') {
    out.push('', `Decision: DENY (403): ${refusalMessage(decision)}`);
  }
  return { text: `${out.join('\n')}\n`, decision, rejected: left <= 0 };
}
