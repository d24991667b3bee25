// Tiny XML writer for the query-protocol answers of STS and EC2.

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** An element around already-serialized inner XML. */
export function tag(name: string, inner: string): string {
  return `<${name}>${inner}</${name}>`;
}

/** A text element; omitted entirely when the value is undefined. */
export function leaf(name: string, value: string | number | boolean | undefined): string {
  return value === undefined ? '' : tag(name, esc(String(value)));
}

export function document(root: string, xmlns: string, inner: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${xmlns}">${inner}</${root}>`;
}

/** AWS timestamps without milliseconds: 2024-01-02T03:04:05Z. */
export function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
