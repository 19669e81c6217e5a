// Server side, set-up: `lsm fleet init DIR` makes a bare repository ready to serve over HTTP with
// git's own http-backend: append-only by git's settings (denyNonFastForwards, denyDeletes) and by
// lsm's hooks (the guard before, the index and central alerts after), and prints the web server's
// configuration (lighttpd: the one the integration test runs as printed).
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT, LsmError } from '../errors.js';

export interface InitOptions {
  config?: string; // the central lsm config the hooks use (spool, mail)
  listen: string; // address the web server binds
  port: number;
  htpasswd: string;
  user?: string; // the user the web server runs as (owns DIR)
}

const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const HOOK = fileURLToPath(new URL('../cli/fleet-hook.js', import.meta.url)); // the hooks' own entry: no command-line parser

function guardHook(config?: string): string {
  return `#!/bin/sh\n# installed by lsm fleet init: refuses what would rewrite, delete or forge a host's history\n` +
    `${config ? `LSM_CONFIG=${sh(resolve(config))} ` : ''}exec ${sh(process.execPath)} ${sh(HOOK)} guard\n`;
}

/**
 * post-receive keeps what arrived in lsm/queue (on disk before the host hears 'ok') and leaves the
 * rest (record, index, central alerts) to a process of its own: no node start in the push's time.
 * `lsm fleet check` (cron) drains the queue too, should that process die.
 */
function receiveHook(dir: string, config?: string): string {
  const q = sh(join(dir, 'lsm', 'queue'));
  return `#!/bin/sh\n# installed by lsm fleet init: queues what arrived; lsm records it, indexes it and spools a central alert per change apart from the push\n` +
    `mkdir -p ${q} && f=${q}/$(date +%s%3N)-$$ && { printf '%s' "$REMOTE_USER" | tr '\\n\\r' '  '; echo; cat; } > "$f.tmp" && mv "$f.tmp" "$f" || exit 1\n` +
    `${config ? `LSM_CONFIG=${sh(resolve(config))} ` : ''}setsid ${sh(process.execPath)} ${sh(HOOK)} drain ${sh(dir)} </dev/null >/dev/null 2>&1 &\n`;
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
    set('http.receivepack', 'true');
    set('core.logAllRefUpdates', 'true');
    for (const [name, text] of [['pre-receive', guardHook(o.config)], ['post-receive', receiveHook(dir, o.config)]]) {
      writeFileSync(join(dir, 'hooks', name), text);
      chmodSync(join(dir, 'hooks', name), 0o755);
    }
    mkdirSync(join(dir, 'lsm', 'empty'), { recursive: true });
    if (!existsSync(join(dir, 'lsm', 'users'))) writeFileSync(join(dir, 'lsm', 'users'), '# USER HOST... : who may push which hosts/<id> (a user not named here may push only the host of its own name; * = any host)\n');
  } catch (err) {
    if (err instanceof LsmError) throw err;
    throw new LsmError(`cannot set up ${dir}: ${(err as Error).message.split('\n')[0]}`);
  }
  return lighttpdConfig(dir, o);
}

export function lighttpdConfig(dir: string, o: InitOptions): string {
  return `# lighttpd configuration for the lsm fleet repository ${dir}
# (lsm fleet init printed this; run: lighttpd -D -f THIS_FILE, or include it in lighttpd.conf)
# Hosts push to: http://${o.listen === '0.0.0.0' ? 'THIS-SERVER' : o.listen}:${o.port}/git/${basename(dir)}
# Put TLS in front (or add mod_openssl): basic auth sends the password with every request.
server.modules += ( "mod_alias", "mod_auth", "mod_authn_file", "mod_cgi", "mod_setenv" )
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
`;
}
