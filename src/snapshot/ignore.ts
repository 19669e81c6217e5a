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
  where: RegExp;
  pattern: RegExp;
  source: string; // 'file:line' for messages
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '\\' && i + 1 < glob.length) re += glob[++i].replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    else if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

export function parseIgnoreRules(text: string, source = 'ignore rules'): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line === '') return;
    const m = /^(\S+)\s+(.+)$/.exec(line);
    if (!m) throw new LsmError(`${source}:${i + 1}: a rule needs WHERE and PATTERN, e.g. 'udp *:68'`, EXIT.USAGE);
    const [, where, pattern] = m;
    let whereRe: RegExp;
    if (where === '*') whereRe = /^.*$/s;
    else if (!where.includes('/')) {
      if (!(KINDS as readonly string[]).includes(where)) {
        throw new LsmError(`${source}:${i + 1}: unknown kind '${where}' (expected ${KINDS.join(', ')}, * or a path like host/udp)`, EXIT.USAGE);
      }
      whereRe = new RegExp(`(^|/)${where}$`);
    } else whereRe = globToRegExp(where);
    rules.push({ where: whereRe, pattern: globToRegExp(pattern), source: `${source}:${i + 1}` });
  });
  return rules;
}

export function isIgnored(rules: IgnoreRule[], path: string, line: string): boolean {
  if (rules.length === 0) return false;
  const first = line.split('  ', 1)[0];
  for (const r of rules) {
    if (r.where.test(path) && (r.pattern.test(line) || r.pattern.test(first))) return true;
  }
  return false;
}
