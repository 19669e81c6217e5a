// The grammar of git's config file, as git's own parser (config.c, git_parse_source) reads it:
// what it refuses makes every git command fail fatally ("bad config line"). Character by character
// as git goes: CRLF is LF, a backslash before a newline continues a value, a section header may be
// followed by a key on the same line, a byte-order mark may open the file. Checked against real
// git by test/unit/git-config.test.ts.

const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r'; // git's sane ctype
const isAlpha = (c: string) => /^[A-Za-z]$/.test(c);
const isKeyChar = (c: string) => /^[A-Za-z0-9-]$/.test(c);

/** The 0-based line of the first thing git refuses in a config text, or -1 when git reads it all. */
export function configBadLine(input: string): number {
  const text = input.replace(/^\uFEFF/, '').replace(/\r\n/g, '\n');
  let i = 0;
  let line = 0;
  const EOF = '';
  // like git's get_next_char: the end of the text reads as a newline, once more as EOF
  const next = (): string => {
    if (i >= text.length) { i++; return i === text.length + 1 ? '\n' : EOF; }
    const c = text[i++];
    if (c === '\n') line++;
    return c;
  };
  const eof = () => i > text.length;

  const baseVar = (): boolean => {
    let name = 0;
    for (;;) {
      const c = next();
      if (eof() || c === '\n' || c === EOF) return false;
      if (c === ']') return name > 0;
      if (isSpace(c)) return extendedVar(c); // '[ "sub"]' too: the name is then '.sub'
      if (!isKeyChar(c) && c !== '.') return false;
      name++;
    }
  };
  const extendedVar = (c: string): boolean => {
    do { if (c === '\n') return false; c = next(); } while (isSpace(c));
    if (c !== '"') return false;
    for (;;) {
      c = next();
      if (c === '\n' || c === EOF) return false;
      if (c === '"') break;
      if (c === '\\') { c = next(); if (c === '\n' || c === EOF) return false; }
    }
    return next() === ']';
  };
  const value = (): boolean => {
    let quote = false;
    let comment = false;
    for (;;) {
      let c = next();
      if (c === '\n' || c === EOF) return !quote;
      if (comment) continue;
      if (isSpace(c) && !quote) continue;
      if (!quote && (c === ';' || c === '#')) { comment = true; continue; }
      if (c === '\\') {
        c = next();
        if (c === '\n') continue;
        if (!'tbn\\"'.includes(c) || c === EOF) return false;
        continue;
      }
      if (c === '"') quote = !quote;
    }
  };
  const keyValue = (): boolean => {
    let c: string;
    do c = next(); while (!eof() && c !== EOF && isKeyChar(c));
    while (c === ' ' || c === '\t') c = next();
    if (c === '\n' || c === EOF) return true;
    return c === '=' && value();
  };

  let comment = false;
  for (;;) {
    const c = next();
    if (c === EOF) return -1;
    if (c === '\n') { comment = false; continue; }
    if (comment || isSpace(c)) continue;
    if (c === '#' || c === ';') { comment = true; continue; }
    const start = line; // the line the refused statement starts on
    if (c === '[') { if (!baseVar()) return start; continue; }
    if (!isAlpha(c) || !keyValue()) return start;
  }
}
