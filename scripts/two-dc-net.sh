#!/usr/bin/env bash
# Two data centers on one machine, for the fault suite: a network namespace per data center
# (NAME-dc1, NAME-dc2) joined through a router namespace (NAME-rt), and this machine's own
# namespace as the pipeline, which reaches both through the router. Every member has its own
# address, so pg_hba's per-member lines are what admits it. Traffic between the data centers is
# delayed by DELAY_MS each way (20 by default): the router hands it to scripts/wan-delay.py
# through a TUN device (this machine's kernel has no netem qdisc). Needs root, iproute2 and
# python3 (Debian packages); only what it made is touched: its namespaces, the pipeline's veth,
# the delay program (by its pid, kept in /run/two-dc-net/NAME/).
#
#   two-dc-net.sh up NAME [DELAY_MS]    make it (addresses below)
#   two-dc-net.sh down NAME             remove every namespace and interface it made
#   two-dc-net.sh cut NAME | heal NAME  partition between the data centers (the pipeline still
#                                       reaches both) / end it; packets are dropped, not refused
#   two-dc-net.sh isolate NAME DC | restore NAME DC
#                                       a data center unreachable from everywhere / back
#   two-dc-net.sh delay NAME DELAY_MS   the delay between the data centers, each way
#
# Addresses: pipeline 10.231.0.1 (router 10.231.0.254); dcN members 10.231.N.1-9, etcd
# 10.231.N.10 (router 10.231.N.254, a host of neither data center).
set -euo pipefail
cmd=${1:?usage: two-dc-net.sh up|down|cut|heal|isolate|restore|delay NAME ...}
name=${2:?NAME}
rt="$name-rt"
pipe="${name}p"  # the pipeline's interface in this namespace (15 characters at most)
state="/run/two-dc-net/$name"
here=$(cd "$(dirname "$0")" && pwd)
nsx() { ip netns exec "$1" "${@:2}"; }

case "$cmd" in
  up)
    delay=${3:-20}
    [ ${#pipe} -le 15 ] || { echo "NAME too long for an interface name: $name" >&2; exit 2; }
    mkdir -p "$state"
    ip netns add "$rt"
    nsx "$rt" ip link set lo up
    nsx "$rt" sysctl -qw net.ipv4.ip_forward=1
    nsx "$rt" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
    for n in 1 2; do
      dc="$name-dc$n"
      ip netns add "$dc"
      nsx "$dc" ip link set lo up
      ip -n "$rt" link add "to-dc$n" type veth peer name uplink netns "$dc"
      nsx "$rt" ip addr add "10.231.$n.254/24" dev "to-dc$n"
      nsx "$rt" ip link set "to-dc$n" up
      for host in 1 2 3 4 5 6 7 8 9 10; do nsx "$dc" ip addr add "10.231.$n.$host/24" dev uplink; done
      nsx "$dc" ip link set uplink up
      nsx "$dc" ip route add default via "10.231.$n.254"
    done
    ip link add "$pipe" type veth peer name to-pipe netns "$rt"
    ip addr add 10.231.0.1/24 dev "$pipe"
    ip link set "$pipe" up
    nsx "$rt" ip addr add 10.231.0.254/24 dev to-pipe
    nsx "$rt" ip link set to-pipe up
    ip route add 10.231.1.0/24 via 10.231.0.254 dev "$pipe"
    ip route add 10.231.2.0/24 via 10.231.0.254 dev "$pipe"
    # the delay: packets from one data center to the other go through the TUN device "wan" (table
    # 100); what the delay program writes back comes in on "wan" and is routed on by the main table
    echo "$delay" >"$state/delay"
    setsid ip netns exec "$rt" "$here/wan-delay.py" wan "$state/delay" </dev/null >"$state/wan-delay.log" 2>&1 &
    echo $! >"$state/wan-delay.pid"
    for _ in $(seq 50); do nsx "$rt" ip link show wan >/dev/null 2>&1 && break; sleep 0.1; done
    nsx "$rt" ip link set wan up
    nsx "$rt" sysctl -qw net.ipv4.conf.wan.rp_filter=0
    nsx "$rt" ip route add default dev wan table 100
    nsx "$rt" ip rule add iif to-dc1 to 10.231.2.0/24 lookup 100 pref 200
    nsx "$rt" ip rule add iif to-dc2 to 10.231.1.0/24 lookup 100 pref 201
    ;;
  down)
    if [ -f "$state/wan-delay.pid" ]; then
      pid=$(cat "$state/wan-delay.pid")
      if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "wan-delay.py wan $state/delay"; then kill "$pid"; fi
    fi
    rm -rf "$state"
    # the pipeline's interface and its routes go with the router's namespace (its veth peer)
    for ns in "$name-dc1" "$name-dc2" "$rt"; do
      if ip netns list | grep -qx "$ns\( .*\)\?"; then ip netns del "$ns"; fi
    done
    # (the router's namespace takes it away asynchronously: gone between the look and the delete is fine)
    if ip link show "$pipe" >/dev/null 2>&1; then ip link del "$pipe" 2>/dev/null || ! ip link show "$pipe" >/dev/null 2>&1; fi
    ;;
  cut)
    nsx "$rt" ip rule add iif to-dc1 to 10.231.2.0/24 blackhole pref 100
    nsx "$rt" ip rule add iif to-dc2 to 10.231.1.0/24 blackhole pref 101
    ;;
  heal)
    nsx "$rt" ip rule del pref 100 2>/dev/null || true
    nsx "$rt" ip rule del pref 101 2>/dev/null || true
    ;;
  isolate) nsx "$rt" ip link set "to-${3:?DC}" down ;;
  restore)
    nsx "$rt" ip link set "to-${3:?DC}" up
    nsx "$rt" ip addr replace "10.231.${3#dc}.254/24" dev "to-$3"
    ;;
  delay)
    echo "${3:?DELAY_MS}" >"$state/delay"
    kill -HUP "$(cat "$state/wan-delay.pid")"
    ;;
  *) echo "unknown command: $cmd" >&2; exit 2 ;;
esac
