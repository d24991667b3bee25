// Writing to the GitLab job log: collapsible sections, and notices that stand out.

const ESC = '\u001b';
const CLEAR = `${ESC}[0K`;
const RESET = `${ESC}[0m`;
const BOLD_RED = `${ESC}[31;1m`;
const BOLD_YELLOW = `${ESC}[33;1m`;
const BOLD_GREEN = `${ESC}[32;1m`;
const CYAN = `${ESC}[36;1m`;

export interface JobLog {
  line(text: string): void;
  ok(text: string): void;
  warn(text: string): void;
  error(text: string): void;
  section<T>(name: string, header: string, body: () => Promise<T>, opts?: { collapsed?: boolean }): Promise<T>;
}

const now = () => Math.floor(Date.now() / 1000);

/** A job log on the given stream (prepare/run: stdout and stderr both reach the job log). */
export function jobLog(out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): JobLog {
  const write = (s: NodeJS.WritableStream, text: string) => s.write(text.endsWith('\n') ? text : `${text}\n`);
  return {
    line: (text) => write(out, text),
    ok: (text) => write(out, `${BOLD_GREEN}${text}${RESET}`),
    // "WARNING:" first, like gitlab-runner's own warnings, so a search of the job log finds both.
    warn: (text) => write(err, `${BOLD_YELLOW}WARNING: jobrole: ${text.replace(/\n/g, `${RESET}\n${BOLD_YELLOW}`)}${RESET}`),
    error: (text) => write(err, `${BOLD_RED}jobrole: ${text.replace(/\n/g, `${RESET}\n${BOLD_RED}`)}${RESET}`),
    async section(name, header, body, opts = {}) {
      const id = `jobrole_${name}`.replace(/[^\w.-]/g, '_');
      out.write(`${CLEAR}section_start:${now()}:${id}${opts.collapsed === false ? '' : '[collapsed=true]'}\r${CLEAR}${CYAN}${header}${RESET}\n`);
      try {
        return await body();
      } finally {
        out.write(`${CLEAR}section_end:${now()}:${id}\r${CLEAR}`);
      }
    },
  };
}

/** A log that only writes to stderr (config stage: stdout is reserved for JSON; cleanup: runner log). */
export function stderrLog(): JobLog {
  return jobLog(process.stderr, process.stderr);
}
