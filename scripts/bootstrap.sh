#!/usr/bin/env bash
# Sets up everything the dispatch system needs on this machine, idempotently:
#   the Python virtual environment, PostgreSQL with PostGIS, the database, Redis,
#   and (with --browser) Debian's Chromium for the browser tests.
# Re-runs are fast: every step first checks whether its work is already done.
# Where it cannot do a step (not root, not Debian, a remote server), it stops and
# says exactly what to install.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
WANT_BROWSER=0
for arg in "$@"; do
  case "$arg" in
    --browser) WANT_BROWSER=1 ;;
    *) echo "bootstrap: unknown argument '$arg' (known: --browser)" >&2; exit 2 ;;
  esac
done

DATABASE_URL=${DISPATCH_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/dispatch}
REDIS_URL=${DISPATCH_REDIS_URL:-redis://127.0.0.1:6379/0}
PYTHON=${PYTHON:-python3}
LOG=${TMPDIR:-/tmp}/dispatch-bootstrap.$$.log
trap 'rm -f "$LOG"' EXIT

say()  { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }
fail() { printf '\033[1;31m[setup] %s\033[0m\n' "$*" >&2; exit 1; }

APT_UPDATED=0
apt_install() {
  # Installs Debian packages as root; anywhere else, says what to install and stops.
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    fail "cannot install '$*' here (needs root on Debian). Install it yourself, then run this again: $*"
  fi
  if [ "$APT_UPDATED" = 0 ]; then
    say "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$LOG" 2>&1 || { cat "$LOG" >&2; fail "apt-get update failed"; }
    APT_UPDATED=1
  fi
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >"$LOG" 2>&1 \
    || { cat "$LOG" >&2; fail "apt-get install $* failed"; }
}

# Split a URL into shell variables with the standard library, so the script needs nothing installed.
eval "$("$PYTHON" - "$DATABASE_URL" "$REDIS_URL" <<'PY'
import shlex, sys
from urllib.parse import urlsplit
db, rd = urlsplit(sys.argv[1]), urlsplit(sys.argv[2])
if not db.scheme.startswith("postgresql"):
    sys.exit("DISPATCH_DATABASE_URL must start with postgresql://")
if rd.scheme not in ("redis", "rediss"):
    sys.exit("DISPATCH_REDIS_URL must start with redis://")
values = {
    "PGHOST_": db.hostname or "127.0.0.1", "PGPORT_": db.port or 5432,
    "PGUSER_": db.username or "postgres", "PGPASS_": db.password or "",
    "PGDB_": (db.path or "/dispatch").lstrip("/") or "dispatch",
    "RHOST_": rd.hostname or "127.0.0.1", "RPORT_": rd.port or 6379,
}
for k, v in values.items():
    print(f"{k}={shlex.quote(str(v))}")
PY
)"
is_local() { case "$1" in 127.0.0.1|localhost|::1) return 0 ;; *) return 1 ;; esac; }

# --- 1. Python virtual environment ----------------------------------------------------------
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  "$PYTHON" -m venv .venv || fail "python3 -m venv failed: install python3-venv (Debian: apt-get install python3-venv)"
fi
# Both files say what is installed (setup.py: packages and data; pyproject.toml: dependencies, commands).
STAMP=".venv/.installed-$(cat pyproject.toml setup.py | sha256sum | cut -c1-16)"
if [ ! -f "$STAMP" ]; then
  say "pip install -e '.[dev]' (first run: a minute or two)"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  # This machine's pip configuration names local package folders that may be absent: hide those warnings.
  if ! .venv/bin/python -m pip install -q -e '.[dev]' >"$LOG" 2>&1; then
    grep -v "is ignored: it is neither" "$LOG" >&2
    fail "pip install -e '.[dev]' failed (output above, also in $LOG)"
  fi
  rm -f .venv/.installed-*
  touch "$STAMP"
fi

# --- 1b. The console's front-end packages (npm registry, pinned by console/package-lock.json) --------
command -v npm >/dev/null || apt_install nodejs npm
NPM_STAMP="console/node_modules/.installed-$(sha256sum console/package-lock.json | cut -c1-16)"
if [ ! -f "$NPM_STAMP" ]; then
  say "npm ci (the console's map library, Swagger UI for /docs)"
  # No install scripts: swagger-ui-dist pulls in an analytics package whose script would report the install.
  if ! (cd console && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) >"$LOG" 2>&1; then
    cat "$LOG" >&2
    fail "npm ci in console/ failed (output above, also in $LOG)"
  fi
  touch "$NPM_STAMP"
fi

# --- 2. PostgreSQL ----------------------------------------------------------------------------
command -v psql >/dev/null || apt_install postgresql-client
export PGPASSWORD="$PGPASS_" PGCONNECT_TIMEOUT=3 PGOPTIONS='--client-min-messages=warning'
psql_() { psql -h "$PGHOST_" -p "$PGPORT_" -U "$PGUSER_" -v ON_ERROR_STOP=1 -qtAX "$@"; }
if ! pg_isready -q -h "$PGHOST_" -p "$PGPORT_"; then
  is_local "$PGHOST_" || fail "PostgreSQL at $PGHOST_:$PGPORT_ does not answer; start it or set DISPATCH_DATABASE_URL"
  if ! command -v pg_lsclusters >/dev/null; then
    apt_install postgresql
  fi
  for cluster in $(pg_lsclusters -h | awk '{print $1"/"$2}'); do
    say "starting PostgreSQL cluster $cluster"
    pg_ctlcluster --skip-systemctl-redirect "${cluster%/*}" "${cluster#*/}" start || true
  done
  for _ in $(seq 1 30); do pg_isready -q -h "$PGHOST_" -p "$PGPORT_" && break; sleep 0.5; done
  pg_isready -q -h "$PGHOST_" -p "$PGPORT_" || fail "PostgreSQL did not start at $PGHOST_:$PGPORT_; see /var/log/postgresql/"
fi
psql_ -d postgres -c 'select 1' >/dev/null || fail "cannot log in to PostgreSQL as '$PGUSER_' at $PGHOST_:$PGPORT_"

# --- 3. PostGIS -------------------------------------------------------------------------------
if [ "$(psql_ -d postgres -c "select count(*) from pg_available_extensions where name = 'postgis'")" = 0 ]; then
  major=$(psql_ -d postgres -c "select current_setting('server_version_num')::int / 10000")
  is_local "$PGHOST_" || fail "PostGIS is missing on $PGHOST_; install postgresql-$major-postgis-3 on that server"
  apt_install "postgresql-$major-postgis-3"
fi

# --- 4. The database and its extension ----------------------------------------------------------
if [ "$(psql_ -d postgres -c "select count(*) from pg_database where datname = '$PGDB_'")" = 0 ]; then
  say "creating database $PGDB_"
  psql_ -d postgres -c "create database \"$PGDB_\""
fi
psql_ -d "$PGDB_" -c 'create extension if not exists postgis' >/dev/null

# --- 5. Redis ---------------------------------------------------------------------------------
redis_up() { .venv/bin/python -c "import redis,sys; redis.Redis.from_url(sys.argv[1], socket_timeout=2).ping()" "$REDIS_URL" 2>/dev/null; }
if ! redis_up; then
  is_local "$RHOST_" || fail "Redis at $RHOST_:$RPORT_ does not answer; start it or set DISPATCH_REDIS_URL"
  command -v redis-server >/dev/null || apt_install redis-server
  say "starting redis-server on port $RPORT_"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$RPORT_" --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/dispatch.log
  for _ in $(seq 1 20); do redis_up && break; sleep 0.25; done
  redis_up || fail "Redis did not start at $RHOST_:$RPORT_; see /var/log/redis/dispatch.log"
fi

# --- 6. Chromium for the browser tests ------------------------------------------------------------
if [ "$WANT_BROWSER" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  apt_install chromium
fi

say "ready: PostgreSQL $PGHOST_:$PGPORT_/$PGDB_ with PostGIS, Redis $RHOST_:$RPORT_"
