// Bash quoting as gitlab-runner's script generator does it: ANSI-C `$'...'` for values, '...' for the eval body.

const LITERAL = /^[,\-./0-9@A-Z_a-z]$/;
const NEEDS_QUOTE = new Set(' !"#$%&()*+:;<=>?[]^`{|}~'.split(''));
const NAMED: Record<number, string> = {
  0x07: '\\a',
  0x08: '\\b',
  0x09: '\\t',
  0x0a: '\\n',
  0x0b: '\\v',
  0x0c: '\\f',
  0x0d: '\\r',
  0x27: "\\'",
  0x5c: '\\\\',
};

/**
 * The runner's ShellEscape: the input unchanged if it is made of safe characters only, otherwise
 * `$'...'` with control characters named, quote and backslash escaped, other bytes (incl. every
 * non-ASCII UTF-8 byte) as \xHH.
 */
export function shellEscape(input: string): string {
  if (input === '') return "''";
  let out = '';
  let quoted = false;
  for (const byte of Buffer.from(input, 'utf8')) {
    const ch = String.fromCharCode(byte);
    const named = NAMED[byte];
    if (byte < 0x80 && LITERAL.test(ch)) {
      out += ch;
    } else if (byte < 0x80 && NEEDS_QUOTE.has(ch)) {
      out += ch;
      quoted = true;
    } else if (named !== undefined) {
      out += named;
      quoted = true;
    } else {
      out += `\\x${byte.toString(16).padStart(2, '0')}`;
      quoted = true;
    }
  }
  return quoted ? `$'${out}'` : out;
}

/** POSIX single quoting: the text between '...' with every ' written as '\'' . */
export function singleQuote(input: string): string {
  return `'${input.replaceAll("'", "'\\''")}'`;
}
