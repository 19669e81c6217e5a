// Ignore rules drop snapshot lines before they are written, so ignored noise never enters history.
//
// One rule a line, '#' starts a comment:
//     WHERE  PATTERN
// WHERE is a kind (tcp, udp, raw, packet, unix, or * for all) in any namespace, or a glob over the
// file path ('host/udp', 'netns/*/unix'). PATTERN is a glob ('*' any text, '?' one character,
// '\' quotes the next) over the line as the snapshot writes it (escaped): it matches when it matches
// the whole line or just its first field, the endpoint. Examples:
//     udp    *:68                          DHCP client, any address
//     udp    [fe80::*]:546                 DHCPv6 client
//     unix   @/tmp/dbus-*                  D-Bus session buses with random names
//     unix   /run/user/*                   per-user desktop sockets
//     host/tcp  127.0.0.1:*  *  postgres  *  postgres on loopback, any port
import { LsmError, EXIT } from '../errors.js';
import { KINDS } from '../types.js';

export interface IgnoreRule {
  where: (path: string) => boolean;
  pattern: (text: string) => boolean;
  source: string; // 'file:line' for messages
}

// A glob is matched by two pointers, going back only to the last '*' seen: O(text x pattern) at
// worst, never exponential. A regular expression of several '.*' backtracked: one rule with four
// '*' took 21 s against a 909-character line.
const STAR = 0;
const ANY = 1;
type Token = typeof STAR | typeof ANY | string;

function compileGlob(glob: string): Token[] {
  const tokens: Token[] = [];
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '\\' && i + 1 < glob.length) tokens.push(glob[++i]);
    else if (c === '*') { if (tokens[tokens.length - 1] !== STAR) tokens.push(STAR); } // '**' is '*'
    else if (c === '?') tokens.push(ANY);
    else tokens.push(c);
  }
  return tokens;
}

export function globMatch(p: Token[], s: string): boolean {
  let i = 0, j = 0, star = -1, resume = 0;
  while (j < s.length) {
    const t = p[i];
    if (i < p.length && t !== STAR && (t === ANY || t === s[j])) { i++; j++; }
    else if (t === STAR) { star = i++; resume = j; }
    else if (star >= 0) { i = star + 1; j = ++resume; } // let the last '*' take one more character
    else return false;
  }
  while (p[i] === STAR) i++;
  return i === p.length;
}

const glob = (text: string) => { const tokens = compileGlob(text); return (s: string) => globMatch(tokens, s); };

export function parseIgnoreRules(text: string, source = 'ignore rules'): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line === '') return;
    const m = /^(\S+)\s+(.+)$/.exec(line);
    if (!m) throw new LsmError(`${source}:${i + 1}: a rule needs WHERE and PATTERN, e.g. 'udp *:68'`, EXIT.USAGE);
    const [, where, pattern] = m;
    let whereFn: (path: string) => boolean;
    if (where === '*') whereFn = () => true;
    else if (!where.includes('/')) {
      if (!(KINDS as readonly string[]).includes(where)) {
        throw new LsmError(`${source}:${i + 1}: unknown kind '${where}' (expected ${KINDS.join(', ')}, * or a path like host/udp)`, EXIT.USAGE);
      }
      whereFn = (path) => path === where || path.endsWith(`/${where}`);
    } else whereFn = glob(where);
    rules.push({ where: whereFn, pattern: glob(pattern), source: `${source}:${i + 1}` });
  });
  return rules;
}

export function isIgnored(rules: IgnoreRule[], path: string, line: string): boolean {
  if (rules.length === 0) return false;
  const first = line.split('  ', 1)[0];
  for (const r of rules) {
    if (r.where(path) && (r.pattern(line) || r.pattern(first))) return true;
  }
  return false;
}
