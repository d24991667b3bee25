// The body the runner generates for each stage: export the job variables, cd into the project dir, do the stage.
import { join } from 'node:path';
import { shellEscape } from './shell-escape.js';
import { effectiveVariables } from './job-variables.js';
import type { JobSteps, JobVariable } from './types.js';

export interface BodyContext {
  variables: JobVariable[];
  projectDir: string;
  hostname: string | undefined;
  steps: JobSteps;
  sha: string;
  ref: string;
}

const GREEN = '\x1b[32;1m';
const RESET = '\x1b[0;m';

const notice = (text: string): string => `echo ${shellEscape(GREEN + text + RESET)}`;
const goQuote = (s: string): string => JSON.stringify(s);

/** `export KEY=$'...'` per variable; a file-type variable is written to <project dir>.tmp/KEY and its path exported. */
function exportLines(ctx: BodyContext): string[] {
  const tmpDir = `${ctx.projectDir}.tmp`;
  return effectiveVariables(ctx.variables).flatMap((v) => {
    if (!v.file) return [`export ${shellEscape(v.key)}=${shellEscape(v.value)}`];
    const path = join(tmpDir, v.key);
    return [`mkdir -p ${goQuote(tmpDir)}`, `printf '%s' ${shellEscape(v.value)} > ${goQuote(path)}`, `export ${shellEscape(v.key)}=${goQuote(path)}`];
  });
}

const cdProject = (ctx: BodyContext): string => `cd ${shellEscape(ctx.projectDir)}`;

function userLines(lines: string[]): string[] {
  return lines.flatMap((line) => [notice(`$ ${line}`), line]);
}

function getSources(ctx: BodyContext): string[] {
  const strategy = effectiveVariables(ctx.variables).find((v) => v.key === 'GIT_STRATEGY')?.value;
  const dir = shellEscape(ctx.projectDir);
  if (strategy === 'none') return [notice('Skipping Git repository setup'), `mkdir -p ${dir}`];
  return [
    notice('Fetching changes...'),
    `mkdir -p ${dir}`,
    `cd ${dir}`,
    // A local repository with one commit stands in for the clone (no GitLab server here).
    'if command -v git >/dev/null 2>&1 && [ ! -d .git ]; then',
    '  git -c init.defaultBranch=main init -q .',
    "  git -c user.name=gitlab-runner -c user.email=runner@localhost commit -q --allow-empty -m 'stand-in for a clone'",
    'fi',
    notice(`Checking out ${ctx.sha.slice(0, 8)} as detached HEAD (ref is ${ctx.ref})...`),
  ];
}

function bodyLines(stage: string, ctx: BodyContext): string[] {
  switch (stage) {
    case 'prepare_script':
      return [`echo ${goQuote(ctx.hostname ? `Running on $(hostname) via ${ctx.hostname}...` : 'Running on $(hostname)...')}`];
    case 'get_sources':
      return [...exportLines(ctx), ...getSources(ctx)];
    case 'clear_worktree':
      return [...exportLines(ctx), `if [ -d ${shellEscape(ctx.projectDir)}/.git ]; then git -C ${shellEscape(ctx.projectDir)} clean -ffdx -q; fi`];
    case 'restore_cache':
      return [...exportLines(ctx), cdProject(ctx), notice('Restoring cache'), 'echo "Checking cache for default-protected..."'];
    case 'download_artifacts':
      return [...exportLines(ctx), cdProject(ctx), notice('Downloading artifacts')];
    case 'after_script':
      return [...exportLines(ctx), cdProject(ctx), ...userLines(ctx.steps.afterScript ?? [])];
    case 'archive_cache':
      return [...exportLines(ctx), cdProject(ctx), notice('Saving cache for successful job')];
    case 'archive_cache_on_failure':
      return [...exportLines(ctx), cdProject(ctx), notice('Saving cache for failed job')];
    case 'upload_artifacts_on_success':
      return [...exportLines(ctx), cdProject(ctx), notice('Uploading artifacts for successful job')];
    case 'upload_artifacts_on_failure':
      return [...exportLines(ctx), cdProject(ctx), notice('Uploading artifacts for failed job')];
    case 'cleanup_file_variables':
      return [`rm -r -f ${shellEscape(`${ctx.projectDir}.tmp`)}`];
    default:
      // build_script and any step_<name>
      return [...exportLines(ctx), cdProject(ctx), ...userLines(ctx.steps.script)];
  }
}

export function stageBody(stage: string, ctx: BodyContext): string {
  return `${bodyLines(stage, ctx).join('\n')}\n`;
}
