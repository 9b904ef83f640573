#!/bin/sh
# Start, reload or check one Patroni node of the end-to-end suite (the topology's start, reload
# and status commands). Patroni runs as the postgres user with the passwords of the env file in
# its environment; its pid is kept in $WORK/pids/<node>.pid. When platform.env names a root
# (ROOTFS: the Debian 13 root of the Patroni 4 suite), Patroni runs inside it (in-root.sh); when
# it names the node's network namespace (NS_<node>, the fault suite's data centers), in that.
#   node-ctl.sh start|reload|status|stop|halt NODE      (WORK is this script's directory; stop
#   signals Patroni and returns, halt waits until it has exited)
#   node-ctl.sh pgbackrest-start|-reload|-status|-stop HOST   pgBackRest's TLS server of a node or
#   a repository host, with $WORK/pgbackrest/HOST.conf (Patroni gets that file as PGBACKREST_CONFIG)
set -eu
WORK=$(cd "$(dirname "$0")" && pwd)
action=$1
node=$2
pidfile="$WORK/pids/$node.pid"
ROOTFS=
[ -f "$WORK/platform.env" ] && . "$WORK/platform.env"

running() {
  [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

# pgBackRest's TLS server of a node or a repository host (the archive suite): its own pid file
pgbr_pidfile="$WORK/pids/$node.pgbackrest.pid"
pgbr_running() {
  [ -f "$pgbr_pidfile" ] && kill -0 "$(cat "$pgbr_pidfile")" 2>/dev/null
}

case "$action" in
  pgbackrest-status) pgbr_running ;;
  pgbackrest-restart | pgbackrest-start)
    if pgbr_running; then
      [ "$action" = pgbackrest-start ] && exit 0
      # the server reads its file only when it starts
      kill -TERM "$(cat "$pgbr_pidfile")"
      while pgbr_running; do sleep 0.1; done
    fi
    eval "ns=\${NS_$node:-}"
    in_ns=
    [ -n "$ns" ] && in_ns="ip netns exec $ns"
    # the root's pgBackRest next to the root's Patroni (one version everywhere)
    in_root=
    [ -n "$ROOTFS" ] && in_root="$WORK/in-root.sh $ROOTFS $WORK"
    # the lock path goes along in the environment (pgBackRest 2.60's remote commands lock in
    # /tmp/pgbackrest otherwise, which every host of this machine shares)
    # shellcheck disable=SC2086 # in_ns and in_root are empty or a few words
    setsid $in_ns $in_root setpriv --reuid=postgres --regid=postgres --init-groups \
      env -i HOME="$WORK" PATH=/usr/bin:/bin LANG=C.UTF-8 PGBACKREST_LOCK_PATH="$WORK/pgbackrest/$node/lock" \
      /usr/bin/pgbackrest --config="$WORK/pgbackrest/$node.conf" server \
      >>"$WORK/logs/$node.pgbackrest.log" 2>&1 </dev/null &
    echo $! >"$pgbr_pidfile"
    ;;
  pgbackrest-stop) if pgbr_running; then kill -TERM "$(cat "$pgbr_pidfile")"; fi ;;
  status) running ;;
  reload) running && kill -HUP "$(cat "$pidfile")" ;;
  stop) if running; then kill -TERM "$(cat "$pidfile")"; fi ;;
  halt)
    # the topology's stop command: stop, then wait until Patroni (which stops PostgreSQL first)
    # has exited, at most 60 s, as systemctl stop does
    if running; then kill -TERM "$(cat "$pidfile")"; fi
    n=0
    while running; do
      n=$((n + 1))
      if [ "$n" -gt 600 ]; then echo "$node: Patroni did not stop within 60 s" >&2; exit 1; fi
      sleep 0.1
    done
    ;;
  start)
    if running; then exit 0; fi
    # the fault suite's "host down": the member cannot be started until the mark goes
    if [ -e "$WORK/down/$node" ]; then echo "$node: host down" >&2; exit 1; fi
    install -d -o postgres -g postgres -m 700 "$WORK/sock/$node"
    # The node's env file holds the passwords (mode 600, root; written by the deploy from
    # ephemeral variables); Patroni gets them in its environment.
    set -a
    . "$WORK/secrets/$node.env"
    set +a
    cd "$WORK"
    in_root=
    [ -n "$ROOTFS" ] && in_root="$WORK/in-root.sh $ROOTFS $WORK"
    # the node's data center (a network namespace of the fault suite), if it has one
    eval "ns=\${NS_$node:-}"
    in_ns=
    [ -n "$ns" ] && in_ns="ip netns exec $ns"
    # the DCS's credentials go along when the env file has them (etcd's password with its protocol)
    # shellcheck disable=SC2086 # in_ns and in_root are empty or a few words
    setsid $in_ns $in_root setpriv --reuid=postgres --regid=postgres --init-groups \
      env -i HOME="$WORK" PATH=/usr/bin:/bin LANG=C.UTF-8 LC_ALL=C.UTF-8 \
      PATRONI_SUPERUSER_PASSWORD="$PATRONI_SUPERUSER_PASSWORD" \
      PATRONI_REPLICATION_PASSWORD="$PATRONI_REPLICATION_PASSWORD" \
      PATRONI_REWIND_PASSWORD="$PATRONI_REWIND_PASSWORD" \
      PATRONI_RESTAPI_PASSWORD="$PATRONI_RESTAPI_PASSWORD" \
      ${PATRONI_ETCD3_PROTOCOL:+PATRONI_ETCD3_PROTOCOL="$PATRONI_ETCD3_PROTOCOL"} \
      ${PATRONI_ETCD3_PASSWORD:+PATRONI_ETCD3_PASSWORD="$PATRONI_ETCD3_PASSWORD"} \
      PGBACKREST_CONFIG="$WORK/pgbackrest/$node.conf" PGBACKREST_LOCK_PATH="$WORK/pgbackrest/$node/lock" \
      /usr/bin/patroni "$WORK/cfg/$node.yml" >>"$WORK/logs/$node.log" 2>&1 </dev/null &
    echo $! >"$pidfile"
    ;;
  *) echo "usage: $0 start|reload|status|stop|halt|pgbackrest-start|pgbackrest-restart|pgbackrest-status|pgbackrest-stop NODE" >&2; exit 2 ;;
esac
