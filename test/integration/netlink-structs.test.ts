// The named struct table the netlink parser reads by (src/collect/netlink/structs.ts) is the
// kernel's own: a C program made from the table, compiled against this system's kernel headers,
// prints every field's offsetof() and every struct's sizeof().
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STRUCTS } from '../../src/collect/netlink/structs.js';

describe('the netlink struct table', () => {
  it('matches offsetof() and sizeof() of the kernel headers, field by field', () => {
    const lines: string[] = [];
    for (const [struct, fields] of Object.entries(STRUCTS)) {
      for (const field of Object.keys(fields)) {
        const value = field === 'size' ? `sizeof(struct ${struct})` : `offsetof(struct ${struct}, ${field})`;
        lines.push(`  printf("%s.%s %zu\\n", "${struct}", "${field}", (size_t)${value});`);
      }
    }
    const dir = mkdtempSync(join(tmpdir(), 'lsm-structs-'));
    writeFileSync(join(dir, 'structs.c'), [
      '#include <stddef.h>', '#include <stdio.h>', '#include <sys/socket.h>', '#include <linux/netlink.h>',
      '#include <linux/rtnetlink.h>', '#include <linux/inet_diag.h>', '#include <linux/unix_diag.h>',
      '#include <linux/packet_diag.h>', 'int main(void) {', ...lines, '  return 0;', '}', ''].join('\n'));
    execFileSync('cc', ['-Wall', '-Werror', '-o', join(dir, 'structs'), join(dir, 'structs.c')]);
    const kernel = execFileSync(join(dir, 'structs'), { encoding: 'utf8' }).trim().split('\n');
    const table = Object.entries(STRUCTS).flatMap(([struct, fields]) => Object.entries(fields).map(([f, v]) => `${struct}.${f} ${v}`));
    expect(table).toEqual(kernel);
    expect(kernel.length).toBeGreaterThan(60);
  });
});
