// Every string that came from the system (comm, exe, paths, abstract names) is escaped before it
// enters a snapshot line, so no process or socket name can forge a line, a column or a terminal
// sequence: control bytes, space, backslash, invalid UTF-8 and the invisible or reordering Unicode
// characters (C1 controls, bidi overrides, zero-width, line separators) become \xHH or \u{H}.
// Input is a latin1 string (one char per byte), as the collector reads /proc.

function invisible(cp: number): boolean {
  return (cp >= 0x80 && cp <= 0x9f) || cp === 0xad || cp === 0x61c || (cp >= 0x200b && cp <= 0x200f) ||
    (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2069) || cp === 0xfeff ||
    (cp >= 0xfff9 && cp <= 0xfffb);
}

const hex2 = (b: number) => '\\x' + b.toString(16).padStart(2, '0');

// Printable ASCII but space and backslash: nearly every name and path, returned as it is (building
// the escaped copy char by char left a rope of garbage per string: 100k sockets, -20 MiB peak RSS).
const PLAIN = /^[\x21-\x5b\x5d-\x7e]+$/;

export function escapeField(raw: string): string {
  if (PLAIN.test(raw)) return raw;
  let out = '';
  const n = raw.length;
  for (let i = 0; i < n; ) {
    const b = raw.charCodeAt(i);
    if (b < 0x80) {
      if (b > 0x20 && b < 0x7f && b !== 0x5c) out += raw[i];
      else if (b === 0x5c) out += '\\\\';
      else out += hex2(b);
      i++;
      continue;
    }
    // one UTF-8 sequence, strictly validated (no overlongs, no surrogates, <= U+10FFFF)
    const len = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    let cp = len === 2 ? b & 0x1f : len === 3 ? b & 0x0f : b & 0x07;
    let ok = len > 0 && i + len <= n;
    for (let k = 1; ok && k < len; k++) {
      const c = raw.charCodeAt(i + k);
      if ((c & 0xc0) !== 0x80) ok = false;
      else cp = (cp << 6) | (c & 0x3f);
    }
    if (ok && ((len === 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (len === 4 && (cp < 0x10000 || cp > 0x10ffff)))) ok = false;
    if (!ok) { out += hex2(b); i++; continue; }
    out += invisible(cp) ? `\\u{${cp.toString(16)}}` : String.fromCodePoint(cp);
    i += len;
  }
  return out === '' ? '""' : out;
}

/** Decode a latin1 byte string as UTF-8 for display (invalid bytes become U+FFFD). */
const ASCII = /^[\x00-\x7f]*$/;

export function utf8(raw: string): string {
  return ASCII.test(raw) ? raw : Buffer.from(raw, 'latin1').toString('utf8'); // ASCII: the same text
}
