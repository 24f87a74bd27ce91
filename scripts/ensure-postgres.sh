#!/usr/bin/env bash
# Make sure a PostgreSQL answers at DATABASE_URL and the database exists; start a project-local
# server (Debian's postgresql binaries, initdb into .tmp/) when none answers.
set -euo pipefail
cd "$(dirname "$0")/.."
DATABASE_URL="${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/revbridge}"
rest="${DATABASE_URL#*://}"; userinfo=""; [[ "$rest" == *@* ]] && { userinfo="${rest%%@*}"; rest="${rest#*@}"; }
hostport="${rest%%/*}"; dbname="${rest#*/}"; dbname="${dbname%%\?*}"; [ "$dbname" = "$rest" ] && dbname=revbridge
host="${hostport%%:*}"; port="${hostport##*:}"; [ "$port" = "$hostport" ] && port=5432
user="${userinfo%%:*}"; user="${user:-postgres}"

bindir=""
for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r) "$(pg_config --bindir 2>/dev/null || true)"; do
  [ -x "$d/initdb" ] && { bindir="$d"; break; }
done
ready() {
  if [ -n "$bindir" ]; then "$bindir/pg_isready" -q -h "$host" -p "$port" -t 1; return; fi
  python3 -c "import socket,sys; socket.create_connection(('$host',$port),1)" 2>/dev/null
}
create_db() {  # the database itself, when the server has none of that name
  [ -n "$bindir" ] || return 0
  if ! "$bindir/psql" -h "$host" -p "$port" -U "$user" -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = '$dbname'" 2>/dev/null | grep -q 1; then
    "$bindir/createdb" -h "$host" -p "$port" -U "$user" "$dbname" && echo "postgres: created database $dbname"
  fi
}

if ready; then create_db; echo "postgres: answering at $host:$port (database $dbname)"; exit 0; fi
if [ -z "$bindir" ]; then
  cat >&2 <<MSG
postgres: nothing answers at $host:$port and no PostgreSQL server binaries are installed.
Install them and re-run:  sudo apt-get install -y postgresql      (Debian/Ubuntu)
                     or:  brew install postgresql@16               (macOS)
or set DATABASE_URL to a PostgreSQL you already run (postgresql://user@host:port/database).
MSG
  exit 1
fi
dir="$PWD/.tmp/postgres-$port"; data="$dir/data"; mkdir -p "$dir"
as=()  # initdb and postgres refuse to run as root: run them as the postgres (or nobody) user
if [ "$(id -u)" = 0 ]; then
  owner=$(id -u postgres >/dev/null 2>&1 && echo postgres || echo nobody)
  chown "$owner" "$dir"; as=(runuser -u "$owner" --)
fi
if [ ! -s "$data/PG_VERSION" ]; then
  "${as[@]}" "$bindir/initdb" -D "$data" -U "$user" --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
fi
"${as[@]}" "$bindir/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 30 \
  -o "-p $port -h $host -k $dir -c fsync=on -c max_connections=200" start >/dev/null \
  || { tail -20 "$dir/postgres.log" >&2; exit 1; }
for _ in $(seq 1 100); do ready && break; sleep 0.1; done
ready || { echo "postgres: started but not answering at $host:$port; see $dir/postgres.log" >&2; exit 1; }
create_db
echo "postgres: started at $host:$port (data in $data, database $dbname)"
