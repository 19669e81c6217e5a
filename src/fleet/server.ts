// Server side, set-up: `lsm fleet init DIR` makes a bare repository ready to serve over HTTP with
// git's own http-backend: append-only by git's settings (denyNonFastForwards, denyDeletes) and by
// lsm's hooks (the guard before, the index and central alerts after), and prints the web server's
// configuration (lighttpd: the one the integration test runs as printed).
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT, LsmError } from '../errors.js';
import { DEFAULT_LIMITS } from './limits.js';
import { ensureIndexKey } from './index-key.js';
import { createExclusive } from '../safe-path.js';

export interface InitOptions {
  config?: string; // the central lsm config the hooks use (spool, mail)
  listen: string; // address the web server binds
  port: number;
  htpasswd: string;
  user?: string; // the user the web server runs as (owns DIR)
  /** what the hooks write outside DIR (the central alerts' spool, the event log): the web server's user must be able to */
  writes?: { path: string; what: string }[];
  /** FLEET_MAX_PUSH_BYTES: git itself refuses a pack a little bigger (receive.maxInputSize), should the guard be bypassed */
  maxPushBytes?: number;
}

/** receive.maxInputSize for a push limit: a sixteenth above it (at least 1 MiB), so only the guard's clear refusal is ever met first. */
export const maxInputSize = (pushBytes: number): number => pushBytes + Math.max(1 << 20, Math.ceil(pushBytes / 16));

const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const HOOK = fileURLToPath(new URL('../cli/fleet-hook.js', import.meta.url)); // the hooks' own entry: no command-line parser

/**
 * pre-receive: a heartbeat (every update a no-op on the pushing user's own hosts/ or baselines/
 * branch, by a user lsm/users does not name: the default mapping, user = host id) is accepted by
 * the shell alone; anything else goes whole to lsm's guard (one node start). The shell only ever
 * accepts that one narrow case; when unsure it asks the guard, which decides as before.
 */
function guardHook(config?: string): string {
  return `#!/bin/sh
# installed by lsm fleet init: refuses what would rewrite, delete or forge a host's history
u=$REMOTE_USER all= fast=1
case $u in ''|[!A-Za-z0-9_]*|*[!A-Za-z0-9._-]*|*..*|*.|*.lock) fast= ;; esac
[ \${#u} -le 63 ] || fast=
# lsm/users read only as a regular file (a FIFO would hang every push, a link be followed): else the guard says it
if [ -n "$fast" ] && { [ -L lsm ] || [ -e lsm/users ] || [ -L lsm/users ]; }; then
  if [ ! -L lsm ] && [ -f lsm/users ] && [ ! -L lsm/users ]; then
    while IFS= read -r l || [ -n "$l" ]; do case $l in *"$u"*) fast= ;; esac; done < lsm/users || fast=
  else fast=
  fi
fi
while IFS= read -r l || [ -n "$l" ]; do
  all="$all$l
"
  old=\${l%% *} rest=\${l#* }; new=\${rest%% *} ref=\${rest#* }
  [ "$old" = "$new" ] && [ "$old" != ${'0'.repeat(40)} ] || fast=
  case $ref in "refs/heads/hosts/$u"|"refs/heads/baselines/$u") ;; *) fast= ;; esac
done
[ -n "$fast" ] && exit 0
printf '%s' "$all" | ${config ? `LSM_CONFIG=${sh(resolve(config))} ` : ''}exec ${sh(process.execPath)} ${sh(HOOK)} guard
`;
}

/**
 * post-receive: a heartbeat (every update a no-op on a host branch) only writes lsm/seen/<host>.
 * Anything else it keeps in lsm/queue (on disk before the host hears 'ok') and leaves the
 * rest (record, index, central alerts) to a process of its own, niced, and only one at a time: it
 * runs under `flock -n lsm/drain.lock`, so while one works the other hooks only queue, and a burst
 * of pushes starts one node, not one each (the kernel drops the lock with the process; the lock's
 * fd is not passed on to node, nor to what it starts). When it ends, the lock goes first, then the
 * queue is looked at once more: a hook that found the lock taken had queued before it tried, so
 * nothing waits for the next push. `lsm fleet check` (cron) drains the queue too, should all die.
 */
function receiveHook(dir: string, config?: string): string {
  const q = sh(join(dir, 'lsm', 'queue'));
  // $1 queue, $2 lock, then the drain's command; 99: the lock is taken; at most 100 rounds
  const loop = 'q=$1 l=$2; shift 2; n=0; while [ $n -lt 100 ]; do n=$((n + 1)); flock -n -E 99 -o "$l" "$@" || exit 0; ' +
    'for f in "$q"/*; do case ${f##*/} in *[!0-9-]*|*-*-*|-*|*-) ;; *-*) continue 2 ;; esac; done; exit 0; done';
  const seen = sh(join(dir, 'lsm', 'seen'));
  return `#!/bin/sh
# installed by lsm fleet init: queues what arrived; lsm records it, indexes it and spools a central alert per change apart from the push
t=$(date +%s%3N) || exit 1
all= beat=1 hosts=
while IFS= read -r l || [ -n "$l" ]; do
  all="$all$l
"
  old=\${l%% *} rest=\${l#* }; new=\${rest%% *} ref=\${rest#* }; h=\${ref#refs/heads/hosts/}
  [ "$old" = "$new" ] && [ "$h" != "$ref" ] && [ \${#h} -le 63 ] || beat=
  case $h in ''|[!A-Za-z0-9_]*|*[!A-Za-z0-9._-]*|*..*|*.|*.lock) beat= ;; esac
  hosts="$hosts $h"
done
# a link planted for lsm/ or either directory in it is never written through (central-layout.ts says it to fleet status and check)
for d in ${sh(join(dir, 'lsm'))} ${seen} ${q}; do [ ! -L "$d" ] || { echo "lsm fleet: $d is a symbolic link: damage, nothing written through it; move it aside (lsm fleet status says it)" >&2; exit 1; }; done
damaged=
if [ -n "$beat" ]; then
  # a heartbeat (nothing new): lsm/seen/<host> says the host lives; no lsm started for it
  [ -d ${seen} ] || mkdir -p ${seen} || exit 1
  # mv would drop it into a directory there (or one a link points to): queued instead, kept until that is moved aside
  for h in $hosts; do [ ! -d ${seen}/"$h" ] || { echo "lsm fleet: "${seen}"/$h is a directory, not a regular file: damage, the heartbeat is kept in lsm/queue until it is moved aside (lsm fleet status says it)" >&2; beat= damaged=1; }; done
fi
if [ -n "$beat" ]; then
  for h in $hosts; do printf '%s' "$t" > ${seen}/"$h.$$.tmp" && mv ${seen}/"$h.$$.tmp" ${seen}/"$h" || exit 1; done
  exit 0
fi
[ -d ${q} ] || mkdir -p ${q} || exit 1
u=$REMOTE_USER
case $u in *[![:print:]]*) u=$(printf '%s' "$u" | tr '\\n\\r' '  ') ;; esac
f=${q}/$t-$$ && printf '%s\\n%s' "$u" "$all" > "$f.tmp" && mv "$f.tmp" "$f" || exit 1
${config ? `LSM_CONFIG=${sh(resolve(config))} ` : ''}setsid nice -n 10 sh -c ${sh(loop)} sh ${q} ${sh(join(dir, 'lsm', 'drain.lock'))} ${sh(process.execPath)} ${sh(HOOK)} drain ${sh(dir)} </dev/null >/dev/null 2>&1 &
[ -z "$damaged" ] || exit 1
`;
}

/** Make DIR a bare repository ready to serve; returns the lighttpd configuration to serve it. */
export function initServer(dirArg: string, o: InitOptions): string {
  const dir = resolve(dirArg);
  if (existsSync(dir) && readdirSync(dir).length && !existsSync(join(dir, 'HEAD'))) throw new LsmError(`${dir} exists and is not a bare repository`, EXIT.USAGE);
  try {
    if (!existsSync(join(dir, 'HEAD'))) execFileSync('git', ['init', '--quiet', '--bare', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    const set = (k: string, v: string) => execFileSync('git', ['--git-dir', dir, 'config', k, v]);
    set('receive.denyNonFastForwards', 'true');
    set('receive.denyDeletes', 'true');
    set('receive.fsckObjects', 'true');
    // a backstop under the guard's FLEET_MAX_PUSH_BYTES: git stops reading a pack past this size
    set('receive.maxInputSize', String(maxInputSize(o.maxPushBytes ?? DEFAULT_LIMITS.pushBytes)));
    // receive-pack's `gc --auto` runs inside the push (the host waits for it); the drain runs it after
    set('receive.autogc', 'false');
    // receive-pack's connectivity check lists the refs twice: as --all, and as the refs of the quarantine's
    // one alternate, which is this same repository (a for-each-ref over every host's refs inside each
    // push). --all is enough: the alternate's list is made empty
    set('core.alternateRefsCommand', 'true');
    set('http.receivepack', 'true');
    set('core.logAllRefUpdates', 'true');
    for (const [name, text] of [['pre-receive', guardHook(o.config)], ['post-receive', receiveHook(dir, o.config)]]) {
      writeFileSync(join(dir, 'hooks', name), text);
      chmodSync(join(dir, 'hooks', name), 0o755);
    }
    mkdirSync(join(dir, 'lsm', 'empty'), { recursive: true });
    ensureIndexKey(dir); // the fleet index's proofs' key (given to the web server's user below, with DIR)
    // O_EXCL: anything there is kept, a link planted there (even one to nowhere) never written through (lsm fleet status names it)
    try { createExclusive(join(dir, 'lsm', 'users'), '# USER HOST... : who may push which hosts/<id> (a user not named here may push only the host of its own name; * = any host)\n'); } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  } catch (err) {
    if (err instanceof LsmError) throw err;
    throw new LsmError(`cannot set up ${dir}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (o.user) webUserCanWrite(dir, o.user, o.writes ?? []);
  return lighttpdConfig(dir, o);
}

/**
 * The hooks run as the web server's user and write the repository (objects, refs, lsm/: queue,
 * index, push record, markers), the central spool and the event log: a hook that cannot fails
 * every central alert. As root, DIR is given to that user; then each of these is tried as that
 * user (what does not exist yet: its nearest existing parent, where it would be made).
 */
function webUserCanWrite(dir: string, user: string, writes: { path: string; what: string }[]): void {
  if (process.getuid?.() !== 0) return; // only root can act as another user (and hand it DIR)
  const id = spawnSync('id', ['-u', user], { encoding: 'utf8' });
  if (id.status !== 0) throw new LsmError(`--web-user ${user}: no such user`, EXIT.USAGE);
  execFileSync('chown', ['-R', `${user}:`, dir]);
  const targets = [{ path: dir, what: 'the fleet repository' }, ...writes.filter((w) => w.path !== '')].map((w) => {
    let p = resolve(w.path);
    while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
    return { ...w, probe: p };
  });
  // one process as that user: in a directory, every directory under it (where files are made and replaced)
  const script = 'for p; do if [ -d "$p" ]; then find "$p" -type d ! -writable -print 2>/dev/null | head -n 1; [ -w "$p" ] || echo "$p"; else [ -w "$p" ] || echo "$p"; fi; echo -; done';
  const r = spawnSync('runuser', ['-u', user, '--', 'sh', '-c', script, 'sh', ...targets.map((t) => t.probe)], { encoding: 'utf8' });
  if (r.status !== 0) throw new LsmError(`cannot check what ${user} may write: ${(r.stderr || `runuser exit ${r.status}`).trim().split('\n')[0]}`);
  // '-' ends each answer (every path it names is absolute): its first line is the first it cannot write
  const answers: string[][] = [[]];
  for (const l of r.stdout.split('\n')) if (l === '-') answers.push([]); else if (l) answers[answers.length - 1].push(l);
  const problems = targets.flatMap((t, i) => {
    const bad = answers[i]?.[0];
    return bad ? [`${t.what} ${t.path}${bad !== t.path ? ` (${bad})` : ''}`] : [];
  });
  if (problems.length) {
    throw new LsmError(`the web server's user ${user} cannot write ${problems.join('; ')}: the hooks run as ${user} and would lose central alerts; make these ${user}'s (chown ${user}: PATH) or name others in the config, then run lsm fleet init again`, EXIT.USAGE);
  }
}

export function lighttpdConfig(dir: string, o: InitOptions): string {
  return `# lighttpd configuration for the lsm fleet repository ${dir}
# (lsm fleet init printed this; run: lighttpd -D -f THIS_FILE, or include it in lighttpd.conf)
# Hosts push to: http://${o.listen === '0.0.0.0' ? 'THIS-SERVER' : o.listen}:${o.port}/git/${basename(dir)}
# Put TLS in front (or add mod_openssl): basic auth sends the password with every request.
server.modules += ( "mod_alias", "mod_auth", "mod_authn_file", "mod_cgi", "mod_setenv", "mod_redirect" )
server.bind = "${o.listen}"
server.port = ${o.port}
${o.user ? `server.username = "${o.user}"\nserver.groupname = "${o.user}"\n` : ''}server.document-root = "${join(dir, 'lsm', 'empty')}"
alias.url += ( "/git/" => "/usr/lib/git-core/git-http-backend/" )
$HTTP["url"] =~ "^/git/" {
  cgi.assign = ( "" => "" )
  setenv.set-environment = ( "GIT_PROJECT_ROOT" => "${dirname(dir)}", "GIT_HTTP_EXPORT_ALL" => "" )
  auth.backend = "htpasswd"
  auth.backend.htpasswd.userfile = "${resolve(o.htpasswd)}"
  auth.require = ( "" => ( "method" => "basic", "realm" => "lsm fleet", "require" => "valid-user" ) )
}
# The fleet's web view (read-only static files the drain writes): http://.../fleet/
# (/fleet without its slash is sent there: the page's files are relative to the directory)
url.redirect += ( "^/fleet(\\?.*)?$" => "/fleet/$1" )
alias.url += ( "/fleet/" => "${join(dir, 'lsm', 'web')}/" )
$HTTP["url"] =~ "^/fleet/" {
  index-file.names = ( "index.html" )
  dir-listing.activate = "disable"
  mimetype.assign = ( ".html" => "text/html; charset=utf-8", ".js" => "text/javascript; charset=utf-8", ".css" => "text/css; charset=utf-8", ".json" => "application/json", ".txt" => "text/plain; charset=utf-8", ".svg" => "image/svg+xml" )
  setenv.add-response-header = ( "Content-Security-Policy" => "${WEB_CSP}", "X-Content-Type-Options" => "nosniff", "Referrer-Policy" => "no-referrer", "Cache-Control" => "no-cache" )
  auth.backend = "htpasswd"
  auth.backend.htpasswd.userfile = "${resolve(o.htpasswd)}"
  auth.require = ( "" => ( "method" => "basic", "realm" => "lsm fleet", "require" => "valid-user" ) )
}
`;
}

/** The web view's Content-Security-Policy: its own script, style and data only; no inline code, nothing from elsewhere, no framing. */
export const WEB_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
