// A path of .git that is not what lsm made (a symlink planted for refs/heads, to a directory
// elsewhere, to nowhere or to a file; a file where the directory was; an alternates file; a
// directory for .git/config), and a .git/config real git reads that lsm once reset (a continued
// value, a CRLF key-only line). Real repositories, real git, real sockets in the test's world, the
// alert read back from the event log. Damage: lsm verify names the path (65), the next lsm -c says
// it in one line (65), moves it aside without following it, alerts the listener that appeared
// meanwhile, and git fsck and git log -p work after; the run after is healthy. Not damage: exit 0,
// nothing said, nothing reset.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { World } from '../helpers/world.js';
import { fakeSendmail, testConfig } from '../helpers/config.js';

const git = (repo: string, ...args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' });

/** refs/heads swapped for a link to a copy elsewhere: the copy must never be written through the link. */
function headsLinkedTo(repo: string, elsewhere: string): void {
  const heads = join(repo, '.git', 'refs', 'heads');
  cpSync(heads, elsewhere, { recursive: true });
  rmSync(heads, { recursive: true });
  symlinkSync(elsewhere, heads);
}

const damages: { name: string; damage: (repo: string, dir: string) => void; says: RegExp; after?: (repo: string, dir: string, before: string) => void }[] = [
  {
    name: 'refs/heads a symlink to a directory elsewhere',
    damage: (repo, dir) => headsLinkedTo(repo, join(dir, 'elsewhere')),
    says: /\.git\/refs\/heads was a symbolic link to "[^"]*elsewhere", not a directory \(moved to \S+; made again\)/,
    after: (repo, dir, before) => expect(readFileSync(join(dir, 'elsewhere', 'main'), 'utf8').trim()).toBe(before), // never written through
  },
  { name: 'refs/heads a symlink to nowhere', damage: (repo) => { rmSync(join(repo, '.git', 'refs', 'heads'), { recursive: true }); symlinkSync('/nonexistent-lsm', join(repo, '.git', 'refs', 'heads')); }, says: /\.git\/refs\/heads was a symbolic link to "\/nonexistent-lsm", not a directory/ },
  {
    name: 'refs/heads a symlink to a file',
    damage: (repo, dir) => { writeFileSync(join(dir, 'afile'), 'x\n'); rmSync(join(repo, '.git', 'refs', 'heads'), { recursive: true }); symlinkSync(join(dir, 'afile'), join(repo, '.git', 'refs', 'heads')); },
    says: /\.git\/refs\/heads was a symbolic link to "[^"]*afile", not a directory/,
    after: (repo, dir) => expect(readFileSync(join(dir, 'afile'), 'utf8')).toBe('x\n'),
  },
  { name: 'refs/heads a file', damage: (repo) => { rmSync(join(repo, '.git', 'refs', 'heads'), { recursive: true }); writeFileSync(join(repo, '.git', 'refs', 'heads'), 'x\n'); }, says: /\.git\/refs\/heads was a file, not a directory/ },
  { name: 'refs/heads/main a symlink', damage: (repo, dir) => { renameSync(join(repo, '.git', 'refs', 'heads', 'main'), join(dir, 'main')); symlinkSync(join(dir, 'main'), join(repo, '.git', 'refs', 'heads', 'main')); }, says: /\.git\/refs\/heads\/main was a symbolic link to "[^"]*main", not a regular file/ },
  // lsm's own state beside the journal: a FIFO there hung every run and lsm status (an open that waited for a writer)
  { name: 'lsm/problems.json a FIFO', damage: (repo) => execFileSync('mkfifo', [join(repo, '.git', 'lsm', 'problems.json')]), says: /\.git\/lsm\/problems\.json was a FIFO, not a regular file \(moved to \S+\)/ },
  { name: '.git/config a directory', damage: (repo) => { rmSync(join(repo, '.git', 'config')); mkdirSync(join(repo, '.git', 'config')); }, says: /\.git\/config was a directory, not a regular file \(moved to \S+\)/ },
  { name: 'objects/info/alternates pointing nowhere', damage: (repo) => writeFileSync(join(repo, '.git', 'objects', 'info', 'alternates'), '/nonexistent-lsm/objects\n'), says: /\.git\/objects\/info\/alternates was a file lsm never makes/ },
  {
    // a way to inject objects: git would take any object it lacks from there
    name: 'objects/info/alternates naming a planted object store',
    damage: (repo, dir) => {
      const planted = join(dir, 'planted');
      execFileSync('git', ['init', '-q', planted]);
      execFileSync('git', ['-C', planted, '-c', 'user.name=x', '-c', 'user.email=x@x', 'commit', '-q', '--allow-empty', '-m', 'planted']);
      writeFileSync(join(repo, '.git', 'objects', 'info', 'alternates'), `${join(planted, '.git', 'objects')}\n`);
    },
    says: /\.git\/objects\/info\/alternates was a file lsm never makes/,
  },
  {
    // derived data: made again from its pack, the history goes on (it started a new history, 'HEAD did not read', naming no file)
    name: 'a pack index truncated (after git gc)',
    damage: (repo) => {
      git(repo, 'gc', '-q');
      const idx = join(repo, '.git', 'objects', 'pack', readdirSync(join(repo, '.git', 'objects', 'pack')).find((n) => n.endsWith('.idx'))!);
      chmodSync(idx, 0o644);
      truncateSync(idx, 100);
    },
    says: /the pack index \S+\.idx was corrupt \(moved to \S+; made again from its pack\); HEAD [0-9a-f]{10} reads whole again/,
  },
];

describe('a path of .git that is not what lsm made', { timeout: 120_000 }, () => {
  let world: World;
  let tmp: string;
  const held: number[] = [];
  const prepHeld: number[] = [];
  let port = 6100;
  const hold = async (comm: string, into = held) => {
    const p = ++port;
    into.push((await world.hold([{ kind: 'tcp4', addr: '127.0.0.1', port: p }], comm)).pid);
    return `127.0.0.1:${p}  ${comm}`;
  };
  const setup = (name: string) => {
    const dir = join(tmp, name);
    const repo = join(dir, 'repo');
    const etc = join(dir, 'etc');
    mkdirSync(etc, { recursive: true });
    const env = { LSM_CONFIG: testConfig(etc, { SENDMAIL: fakeSendmail(etc).path, USER: 'root@example.org' }) };
    const lsm = (...args: string[]) => world.lsm([...args, '--repo', repo], env);
    const events = () => existsSync(join(etc, 'events.jsonl')) ? readFileSync(join(etc, 'events.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
    return { dir, repo, etc, lsm, events };
  };
  let prep: { repo: string; events: string };
  /** a case's own place, starting from a copy of the prepared repository and event log */
  const fromPrep = (name: string) => {
    const place = setup(name);
    execFileSync('cp', ['-a', prep.repo, place.repo]);
    execFileSync('cp', ['-a', prep.events, join(place.etc, 'events.jsonl')]);
    return place;
  };

  beforeAll(async () => {
    world = await World.start();
    tmp = mkdtempSync(join(tmpdir(), 'lsm-damaged-paths-'));
    chmodSync(tmp, 0o755);
    // the state every case starts from, made once: a baseline and an alerted listener (a), up for
    // the whole file; each case copies it (cp -a) instead of running lsm -g and -c again
    const { repo, etc, lsm, events } = setup('prep');
    expect((await lsm('-g')).code).toBe(0);
    const a = await hold('a', prepHeld);
    expect(await lsm('-c')).toMatchObject({ code: 0, stderr: '' });
    expect(events().map((e) => e.added.map((l: { line: string }) => l.line))).toEqual([[expect.stringContaining(a)]]);
    prep = { repo, events: join(etc, 'events.jsonl') };
  });
  afterAll(async () => {
    for (const pid of [...held, ...prepHeld]) await world.kill(pid);
    await world?.stop();
  });

  for (const [i, d] of damages.entries()) {
    it(`${d.name}: verify names it; lsm -c says it (exit 65, one line), moves it aside unfollowed, alerts; git works after`, async () => {
      const { dir, repo, lsm, events } = fromPrep(`case${i}`);
      const before = git(repo, 'rev-parse', 'HEAD').trim();
      d.damage(repo, dir);
      const v = await lsm('verify');
      expect([v.code, v.stderr]).toEqual([65, expect.stringMatching(/lsm: repository .* is damaged: /)]);
      const c = await hold(`c${i}`);
      const r = await lsm('-c');
      expect(r.stderr).toMatch(new RegExp(`^lsm: repository ${repo} is damaged: [^\\n]*${d.says.source}[^\\n]*\\n$`));
      expect(r.code).toBe(65);
      const alert = events().at(-1);
      expect(alert.summary).toMatch(/^repository damaged: /);
      expect(alert.added.map((l: { line: string }) => l.line)).toContainEqual(expect.stringContaining(c));
      expect(lstatSync(join(repo, '.git', 'refs', 'heads')).isDirectory()).toBe(true);
      expect(git(repo, 'rev-list', '--first-parent', 'HEAD')).toContain(before); // never a fresh start
      d.after?.(repo, dir, before);
      execFileSync('git', ['-C', repo, 'fsck', '--strict', '--no-dangling']); // throws on any error
      expect(git(repo, 'log', '-p', '-1')).toContain(c);
      expect(await lsm('verify')).toMatchObject({ code: 0, stderr: '' });
      const count = events().length;
      const e = await hold(`e${i}`);
      expect(await lsm('-c')).toMatchObject({ code: 0, stderr: '' });
      expect(events()).toHaveLength(count + 1);
      expect(events().at(-1).added).toEqual([expect.objectContaining({ line: expect.stringContaining(e) })]);
      for (const pid of held.splice(0)) await world.kill(pid);
    });
  }

  it('a .git/config real git reads (set by git config, a continued value, a CRLF key-only line, a key after its section header) is not damage: exit 0, nothing reset', async () => {
    const { repo, lsm } = fromPrep('config-ok');
    git(repo, 'config', 'lsm.packEvery', '7');
    git(repo, 'config', 'lsm.note', 'a "quoted" \\ value # with ; comment characters\nand a newline');
    writeFileSync(join(repo, '.git', 'config'), '[lsm]\r\n\tflag\r\n\tcontinued = one \\\n two\n[extra] key = value\n', { flag: 'a' });
    expect(git(repo, 'config', 'lsm.continued')).toBe('one  two\n'); // git reads all of it
    expect(await lsm('verify')).toMatchObject({ code: 0, stderr: '' });
    await hold('cfg');
    expect(await lsm('-c')).toMatchObject({ code: 0, stderr: '' });
    expect(git(repo, 'config', 'lsm.packEvery')).toBe('7\n');
    for (const pid of held.splice(0)) await world.kill(pid);
  });

  it('a packed-refs line git refuses is damage even where lsm reads the branch from packed-refs alone: verify and lsm log say so', async () => {
    const { repo, lsm } = fromPrep('packed');
    git(repo, 'pack-refs', '--all'); // the branch now only in packed-refs
    writeFileSync(join(repo, '.git', 'packed-refs'), 'garbage\n', { flag: 'a' });
    const v = await lsm('verify');
    expect([v.code, v.stderr]).toEqual([65, expect.stringMatching(/packed-refs.*"garbage"/)]);
    const l = await lsm('log');
    expect([l.code, l.stderr]).toEqual([65, expect.stringMatching(/^lsm: .*packed-refs is damaged \(line \d+ is not one git reads "garbage"\)[^\n]*\n$/)]);
  });
});
