// `jobrole explain`: why a job would (or would not) get a role, from the same code prepare decides with.

import type { JobroleConfig } from '../config/types.js';
import type { VerifiedIdToken } from '../identity/claims.js';
import { denialMessage, evaluatePolicy, judgedOf, judgeFacts, tokenMismatches, type Decision } from '../policy/evaluate.js';
import { factsFromJob } from '../policy/job-facts.js';
import { roleVerdictLines } from '../policy/verdict-lines.js';
import { readRoleRequest } from '../policy/role-request.js';
import { BuildFailure } from '../core/exit-codes.js';
import { readJobContext } from '../runner/job-context.js';
import type { JobLog } from '../core/job-log.js';
import { verifyJobIdToken } from '../identity/job-id-token.js';
import { ignoredVariableLines, pipelineLines, trustedFactLines } from './explain-facts.js';

export type IdTokenVerifier = (config: JobroleConfig, env: NodeJS.ProcessEnv, log: JobLog) => Promise<VerifiedIdToken | undefined>;

export interface ExplainOptions {
  config: JobroleConfig;
  /** A job response file (JOB_RESPONSE_FILE) as gitlab-runner writes it. */
  responseFile: string;
  /** The job's ID token; else variables[<[job].id_token_variable>]. */
  idToken?: string;
  /** The job's variables, as the job would set them (e.g. JOBROLE_ROLE, CI_PROJECT_PATH); unprefixed. */
  variables?: Record<string, string>;
  /** Default: prepare's own ID-token step. */
  verify?: IdTokenVerifier;
}

/** A JobLog that collects warnings (explain prints them in its own text). */
function collectingLog(warnings: string[]): JobLog {
  return {
    line: () => undefined,
    ok: () => undefined,
    warn: (t) => void warnings.push(t),
    error: (t) => void warnings.push(t),
    section: (_n, _h, body) => body(),
  };
}

export async function explain(opts: ExplainOptions): Promise<{ text: string; decision: Decision }> {
  const { config } = opts;
  const variables = { ...(opts.variables ?? {}) };
  if (opts.idToken !== undefined) variables[config.job.id_token_variable] = opts.idToken;
  const env: NodeJS.ProcessEnv = { JOB_RESPONSE_FILE: opts.responseFile };
  for (const [k, v] of Object.entries(variables)) env[`CUSTOM_ENV_${k}`] = v;
  const out: string[] = [];

  const ctx = await readJobContext(env, { gitlabUrl: config.gitlab.url });

  // The role request first: prepare rejects a malformed one before anything else.
  let requested: string | undefined;
  let malformed: string | undefined;
  try {
    requested = readRoleRequest(env, config.job.role_variable);
  } catch (err) {
    if (!(err instanceof BuildFailure)) throw err;
    malformed = err.message;
  }
  const wantsRole = malformed === undefined && (requested !== undefined || config.job.default_role !== '');

  // ID token: verified exactly as prepare does.
  const tokenName = config.job.id_token_variable;
  const warnings: string[] = [];
  const tokenLines: string[] = [];
  let tokenProblem: string | undefined;
  if ((variables[tokenName] ?? '').trim() === '') {
    tokenLines.push(
      '  none supplied: conditions that need one (environments, pipeline_sources, ...; protected unless the runner sends git_info.protected) cannot hold',
    );
  } else {
    try {
      ctx.idToken = await (opts.verify ?? verifyJobIdToken)(config, env, collectingLog(warnings));
      if (ctx.idToken === undefined) tokenLines.push('  not verified (ignored)');
      else {
        const c = ctx.idToken.claims;
        tokenLines.push(`  verified: issuer ${c.iss}, expires ${new Date(c.exp * 1000).toISOString()}; its claims are listed above as [id-token]`);
      }
    } catch (err) {
      tokenProblem = (err as Error).message;
      const kind = err instanceof BuildFailure ? 'REJECTED (prepare fails the job)' : 'CANNOT BE VERIFIED (prepare fails with a system failure, retried)';
      tokenLines.push(`  ${kind}: ${tokenProblem}`);
    }
  }
  const tokenMismatch = tokenMismatches(ctx);
  const facts = factsFromJob(ctx);
  for (const m of tokenMismatch) tokenLines.push(`  DOES NOT MATCH the response file: ${m}`);
  if (tokenMismatch.length > 0) tokenLines.push('  (every role is refused while token and job disagree)');
  for (const w of warnings) tokenLines.push(`  warning: ${w}`);

  out.push(`Job ${ctx.jobId.value} (${opts.responseFile}), config ${config.source}`, '', 'Trusted facts [source field]:', ...trustedFactLines(ctx));
  out.push('', 'Pipeline:', ...pipelineLines(ctx, facts));
  out.push('', `ID token (${tokenName}):`, ...tokenLines);

  const ignored = ignoredVariableLines(ctx, variables);
  if (ignored.length > 0) out.push('', 'Job variables ignored for authorization (job-controlled):', ...ignored);

  out.push('');
  if (malformed !== undefined) out.push(`Requested role: malformed ${config.job.role_variable}: ${malformed}`);
  else if (requested !== undefined) out.push(`Requested role: "${requested}" (from ${config.job.role_variable})`);
  else if (config.job.default_role !== '')
    out.push(`Requested role: "${config.job.default_role}" ([job].default_role; the job set no ${config.job.role_variable})`);
  else out.push(`Requested role: none (no ${config.job.role_variable} and no [job].default_role)`);

  const asked = requested ?? (config.job.default_role !== '' ? config.job.default_role : undefined);
  out.push('', `Roles on this runner (${config.roles.length}):`);
  for (const role of config.roles) {
    const verdicts = judgeFacts(role, facts);
    const allows = tokenMismatch.length === 0 && verdicts.every((v) => v.ok);
    out.push(...roleVerdictLines(role, verdicts, { allows, requested: role.name === asked, unconditional: 'any job on this runner may have it' }));
  }

  let decision: Decision;
  if (malformed !== undefined) {
    decision = {
      kind: 'deny',
      requested: variables[config.job.role_variable] ?? '',
      viaDefault: false,
      verdicts: [{ condition: 'role', ok: false, detail: malformed }],
      judged: judged(ctx),
    };
  } else if (wantsRole && tokenProblem !== undefined) {
    decision = {
      kind: 'deny',
      requested: asked ?? '',
      viaDefault: requested === undefined,
      verdicts: [{ condition: 'id-token', ok: false, detail: tokenProblem }],
      judged: judged(ctx),
    };
  } else {
    decision = evaluatePolicy(ctx, requested, config);
  }
  out.push('', `Decision: ${decisionText(decision, config)}`);
  return { text: `${out.join('\n')}\n`, decision };
}

function judged(ctx: Awaited<ReturnType<typeof readJobContext>>) {
  return judgedOf(factsFromJob(ctx));
}

function decisionText(d: Decision, config: JobroleConfig): string {
  if (d.kind === 'none') return `NONE: the job asks for no role; it runs without AWS credentials`;
  if (d.kind === 'allow') {
    const delivery = d.role.delivery ?? config.job.delivery;
    return `ALLOW: "${d.role.name}" (${d.role.arn}) via ${d.role.strategy}, delivered by ${delivery}${d.viaDefault ? ' (default role)' : ''}`;
  }
  return `DENY: ${denialMessage(d, config.job.role_variable)}`;
}
