#!/usr/bin/env bash
# Make sure a Redis answers at REDIS_URL; start a project-local one (with AOF) when none does.
set -euo pipefail
cd "$(dirname "$0")/.."
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
hostport="${REDIS_URL#redis://}"; hostport="${hostport##*@}"; hostport="${hostport%%/*}"
host="${hostport%%:*}"; port="${hostport##*:}"; [ "$port" = "$hostport" ] && port=6379

ping() { python3 - "$host" "$port" <<'PY'
import socket, sys
try:
    with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1) as s:
        s.sendall(b"PING\r\n"); sys.exit(0 if s.recv(64).startswith(b"+PONG") else 1)
except OSError:
    sys.exit(1)
PY
}

if ping; then echo "redis: answering at $host:$port"; exit 0; fi
if ! command -v redis-server >/dev/null 2>&1; then
  cat >&2 <<MSG
redis: nothing answers at $REDIS_URL and no redis-server binary is installed.
Install one and re-run:  sudo apt-get install -y redis-server   (Debian/Ubuntu)
                     or: brew install redis                      (macOS)
or set REDIS_URL to a Redis you already run.
MSG
  exit 1
fi
dir="$PWD/.tmp/redis-$port"; mkdir -p "$dir"
redis-server --daemonize yes --bind "$host" --port "$port" --dir "$dir" --appendonly yes \
  --appendfsync everysec --save "" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
for _ in $(seq 1 100); do ping && { echo "redis: started at $host:$port (AOF in $dir)"; exit 0; }; sleep 0.1; done
echo "redis: started but not answering at $host:$port; see $dir/redis.log" >&2; exit 1
