// What a user's words match: blame/log's port, address and path forms, and ignore rules' globs.
import { describe, expect, it } from 'vitest';
import { lineMatcher } from '../../src/store/blame.js';
import { isIgnored, parseIgnoreRules } from '../../src/snapshot/ignore.js';

const line = (endpoint: string) => `${endpoint}  svc  root  /usr/sbin/svc`;

describe('blame and log --grep: what a port or an address matches', () => {
  it('a bare port matches that port exactly, in tcp and udp, never a longer port that contains it', () => {
    const m = lineMatcher('22');
    expect(m('host/tcp', line('0.0.0.0:22'))).toBe(true);
    expect(m('netns/web/tcp', line('[::]:22'))).toBe(true);
    expect(m('host/udp', line('0.0.0.0:22'))).toBe(true); // a bare port means UDP too
    expect(m('host/tcp', line('0.0.0.0:2222'))).toBe(false);
    expect(m('host/tcp', line('0.0.0.0:122'))).toBe(false);
    expect(m('host/tcp', line('10.0.0.22:80'))).toBe(false);
    expect(m('host/raw', line('0.0.0.0:22'))).toBe(false);
    expect(m('host/unix', '/run/x:22  stream  svc  root  /svc')).toBe(false);
    expect(m('host/tcp', '0.0.0.0:80  svc:22  root  /svc')).toBe(false); // the port is the endpoint's, not any text's
  });

  it('a port with a kind matches only that kind', () => {
    expect(lineMatcher('53/udp')('host/udp', line('0.0.0.0:53'))).toBe(true);
    expect(lineMatcher('53/udp')('host/tcp', line('0.0.0.0:53'))).toBe(false);
    expect(lineMatcher('22/tcp')('host/udp', line('0.0.0.0:22'))).toBe(false);
    expect(lineMatcher('22/tcp')('host/tcp', line('0.0.0.0:2222'))).toBe(false);
  });

  it('an address and port matches that endpoint exactly', () => {
    const m = lineMatcher('127.0.0.1:631');
    expect(m('host/tcp', line('127.0.0.1:631'))).toBe(true);
    expect(m('host/tcp', line('127.0.0.1:6310'))).toBe(false);
    expect(m('host/tcp', line('127.0.0.11:631'))).toBe(false);
    expect(lineMatcher('[::1]:631')('host/tcp', line('[::1]:631'))).toBe(true);
  });

  it('a unix path matches that socket in unix files only, escaped as the snapshot writes it', () => {
    expect(lineMatcher('/run/a b')('host/unix', '/run/a\\x20b  stream  svc  root  /svc')).toBe(true);
    expect(lineMatcher('/run/a')('host/unix', '/run/ab  stream  svc  root  /svc')).toBe(false);
    expect(lineMatcher('/run/a')('host/tcp', '/run/a  stream  svc  root  /svc')).toBe(false);
  });
});

describe('ignore rules: WHERE globs over the file, PATTERN globs over the line', () => {
  it('netns/*/unix matches the unix file of every other namespace, not the host', () => {
    const rules = parseIgnoreRules('netns/*/unix  /run/app/*\n', 'ignore');
    expect(isIgnored(rules, 'netns/web/unix', '/run/app/s1  stream  app  root  /app')).toBe(true);
    expect(isIgnored(rules, 'netns/db/unix', '/run/app/s2  stream  app  root  /app')).toBe(true);
    expect(isIgnored(rules, 'host/unix', '/run/app/s1  stream  app  root  /app')).toBe(false);
    expect(isIgnored(rules, 'netns/web/tcp', '/run/app/s1  stream  app  root  /app')).toBe(false);
  });

  it('\\ quotes a glob character, so a literal * or ? matches only itself', () => {
    const rules = parseIgnoreRules('unix  /run/a\\*b\nunix  /run/q\\?\n', 'ignore');
    expect(isIgnored(rules, 'host/unix', '/run/a*b  stream  s  root  /s')).toBe(true);
    expect(isIgnored(rules, 'host/unix', '/run/aXb  stream  s  root  /s')).toBe(false);
    expect(isIgnored(rules, 'host/unix', '/run/q?  stream  s  root  /s')).toBe(true);
    expect(isIgnored(rules, 'host/unix', '/run/qq  stream  s  root  /s')).toBe(false);
  });

  it('? is one character, * any text; other characters are literal (a . is not any character)', () => {
    const rules = parseIgnoreRules('tcp  127.0.0.1:80?\n', 'ignore');
    expect(isIgnored(rules, 'host/tcp', line('127.0.0.1:800'))).toBe(true);
    expect(isIgnored(rules, 'host/tcp', line('127.0.0.1:80'))).toBe(false);
    expect(isIgnored(rules, 'host/tcp', line('127.0.0.1:8000'))).toBe(false);
    expect(isIgnored(rules, 'host/tcp', line('127x0.0.1:800'))).toBe(false);
  });
});
