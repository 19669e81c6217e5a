// Every string that came from the system (comm, exe, cmdline, paths, abstract names, container
// names, namespace labels) is escaped by this one function before it is shown anywhere (snapshot
// files, mail, terminal, JSON), so no name can forge a line, a column, a terminal sequence or an
// invisible difference. By rule, not by list: a code point stays as it is only when it is a visible
// graphic character (or printable ASCII but space and backslash); everything else becomes \u{H},
// and every byte that is not part of valid UTF-8 becomes \xHH. ASCII controls, space and backslash
// are bytes: \xHH (\\ for the backslash).
// Input is a latin1 string (one char per byte), as the collector reads /proc.

const hex2 = (b: number) => '\\x' + b.toString(16).padStart(2, '0');

// Not visible graphic: controls, format (bidi, zero-width, U+180E, tags), private use, surrogates,
// unassigned and noncharacters (\p{C}); every separator, so NBSP, EN SPACE, U+2028/9 (\p{Z});
// everything Unicode says to render as nothing: U+034F, U+3164 and the other Hangul fillers,
// variation selectors, U+E0000.. (Default_Ignorable_Code_Point); U+2800 (braille blank, So) draws as a
// space in every font. The regex runs only on non-ASCII code points.
const HIDDEN = /^[\p{C}\p{Z}\p{Default_Ignorable_Code_Point}\u2800]$/u;

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
    // one UTF-8 sequence, strictly validated (no overlongs, no surrogates, <= U+10FFFF); a char above
    // 0xff is not a byte: the input was not latin1, escape it as a code point rather than guess
    const len = b > 0xff ? -1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (len < 0) { out += `\\u{${b.toString(16)}}`; i++; continue; }
    let cp = len === 2 ? b & 0x1f : len === 3 ? b & 0x0f : b & 0x07;
    let ok = len > 0 && i + len <= n;
    for (let k = 1; ok && k < len; k++) {
      const c = raw.charCodeAt(i + k);
      if ((c & 0xc0) !== 0x80 || c > 0xff) ok = false;
      else cp = (cp << 6) | (c & 0x3f);
    }
    if (ok && ((len === 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (len === 4 && (cp < 0x10000 || cp > 0x10ffff)))) ok = false;
    if (!ok) { out += hex2(b); i++; continue; }
    const ch = String.fromCodePoint(cp);
    out += HIDDEN.test(ch) ? `\\u{${cp.toString(16)}}` : ch;
    i += len;
  }
  return out === '' ? '""' : out;
}

/** escapeField of a string that is already text (a user's argument, a config value): its UTF-8 bytes. */
export function escapeText(text: string): string {
  return PLAIN.test(text) ? text : escapeField(Buffer.from(text, 'utf8').toString('latin1'));
}
