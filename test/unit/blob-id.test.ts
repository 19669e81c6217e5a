// A scan compares each snapshot file with HEAD by its blob id, hashed from the lines without
// joining them into the file's text: the id must be git's own for that text.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { fileText } from '../../src/snapshot/index.js';
import { blobId, linesBlobId } from '../../src/store/repo.js';

describe('linesBlobId', () => {
  const cases: string[][] = [
    [], [''], ['0.0.0.0:22  sshd  root  /usr/sbin/sshd'],
    ['/tmp/ü.sock  stream  app  root  /usr/bin/app', '@\\x00name  dgram  x  root  /x', '日本  😀  \\xff'],
    Array.from({ length: 2500 }, (_, i) => `0.0.0.0:${i}  nc${'é'.repeat(i % 7)}  root  /usr/bin/nc`), // past a batch of 1000
  ];
  it("is git's id of the file's text, for any lines", () => {
    for (const lines of cases) {
      const text = fileText(lines);
      expect(linesBlobId(lines)).toBe(blobId(text));
      expect(linesBlobId(lines)).toBe(execFileSync('git', ['hash-object', '--stdin'], { input: text, encoding: 'utf8' }).trim());
    }
  });
});
