#!/bin/sh
# What lsm's tests need besides node and node_modules, checked before `npm test` (its pretest):
# each missing tool is named, and installed with apt-get when this runs as root on Debian/Ubuntu.
# Nothing is started as a service. `npx vitest` skips this check (a developer's machine that has
# them already).
set -eu
cd "$(dirname "$0")/../.."
say() { printf 'test/setup/need.sh: %s\n' "$*" >&2; }
if [ "$(id -u)" != 0 ]; then
  say "the tests run as root (they make network namespaces, users' processes, tmpfs disks): run npm test as root"
  exit 1
fi

need=''  # Debian packages to install
why=''   # what for, one line each
want() { # COMMAND-OR-PATH PACKAGE WHY
  case $1 in
    /*) [ -e "$1" ] && return 0 ;;
    *) command -v "$1" >/dev/null 2>&1 && return 0 ;;
  esac
  case " $need " in *" $2 "*) ;; *) need="$need $2" ;; esac
  why="$why
  $2 ($1): $3"
}

# Debian packages the tests use as real parts:
#  msmtp-mta: the local-sendmail mail path through a real MTA (test/integration/mail.test.ts)
#  systemd, man-db: systemd-analyze security/verify/calendar on the units lsm install writes
#  (verify checks man:lsm(8)); nothing is started
#  g++, make, python3: node-gyp builds the netlink reader (src/collect/netlink/sockdiag.c, at npm ci);
#  python3 also runs the tests' socket holders and pseudo-terminals
#  lighttpd, apache2-utils: the fleet's real git server (lighttpd + git http-backend, htpasswd users;
#  test/integration/fleet.test.ts); never started as a service
#  git: every test checks lsm's repositories with the real git (fsck, log, blame)
#  iproute2, openssl: ip netns for the tests' namespaces; the SMTP test's certificates
#  chromium: the fleet's web view in a real browser, driven by puppeteer-core (fleet-web.test.ts)
#  fish: the fish completion script, loaded by the real fish (bash's is checked by bash)
#  dpkg-dev, lintian: npm run deb (dpkg-shlibdeps) and its lint (test/integration/deb.test.ts)
if [ -e /usr/sbin/sendmail ] && [ ! -e /usr/bin/msmtp ]; then
  # another MTA (postfix, exim) owns /usr/sbin/sendmail: apt would remove it for msmtp-mta
  say "warning: /usr/sbin/sendmail is not msmtp's: test/integration/mail.test.ts's sendmail test will fail; not replacing this host's MTA"
else
  want /usr/sbin/sendmail msmtp-mta 'the local-sendmail mail path through a real MTA (mail.test.ts)'
fi
want systemd-analyze systemd 'systemd-analyze security/verify/calendar on the units lsm install writes (install.test.ts)'
want man man-db 'systemd-analyze verify checks man:lsm(8)'
want g++ g++ 'node-gyp builds the netlink reader (build/Release/sockdiag.node)'
want make make 'node-gyp builds the netlink reader'
want python3 python3 "node-gyp; the tests' socket holders and pseudo-terminals"
want lighttpd lighttpd "the fleet's real git server (fleet.test.ts), never started as a service"
want htpasswd apache2-utils "the fleet server's users (fleet.test.ts)"
want git git "the real git that checks lsm's repositories"
want ip iproute2 "the tests' network namespaces (ip netns)"
want openssl openssl "the SMTP test's certificates (mail.test.ts)"
want dpkg-shlibdeps dpkg-dev "npm run deb: the package's library dependencies (deb.test.ts)"
want lintian lintian "the package's lint (deb.test.ts)"
want chromium chromium "the fleet's web view in a real browser (fleet-web.test.ts)"
want fish fish "lsm completion fish, loaded by the real fish (completion.test.ts)"

if [ -n "$need" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing with apt-get:$need$why"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $need
  else
    say "missing:$need$why"
    say "no apt-get here: install them with this system's package manager, then run npm test again"
    exit 1
  fi
fi

# the netlink reader: npm ci builds it when g++ and make are there; built now if they came after
if [ ! -e build/Release/sockdiag.node ]; then
  say 'building the netlink reader (build/Release/sockdiag.node: node-gyp rebuild)'
  npm run --silent install
  [ -e build/Release/sockdiag.node ] || { say 'the netlink reader was not built: test/integration/netlink.test.ts will fail'; exit 1; }
fi
