#!/bin/sh
# install.sh: for LSM users who expect one. Builds lsm if needed, then runs `lsm install` with the
# arguments given (e.g. --schedule cron, --root DIR), which copies the program to /usr/local/lib/lsm:
# the checkout may be moved or deleted afterwards. Run as root from a checkout of lsm.
set -eu
cd "$(dirname "$0")"
command -v node >/dev/null 2>&1 || { echo "install.sh: Node.js 20 or newer is needed (apt-get install nodejs)" >&2; exit 1; }
if [ ! -f dist/cli/main.js ] || [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund >/dev/null # prepare builds dist/
fi
exec node dist/cli/main.js install "$@"
