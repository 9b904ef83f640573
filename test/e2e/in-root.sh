#!/bin/sh
# Runs a command inside a Debian root (scripts/debian-root.sh), in a mount namespace of its
# own: /proc, /dev and the suite's work directory are mounted into the root there only (Patroni
# needs /proc to see its postmaster), so nothing stays mounted once the command ends. The command
# keeps this process's pid (every step execs) and shares the machine's network.
#   in-root.sh ROOT WORK COMMAND [ARG...]
set -eu
root=$1
work=$2
shift 2
exec unshare --mount --propagation private sh -c '
  set -e
  r=$1 w=$2
  shift 2
  mount -t proc proc "$r/proc"
  mount --rbind /dev "$r/dev"
  mkdir -p "$r$w"
  mount --bind "$w" "$r$w"
  exec chroot "$r" "$@"' in-root "$root" "$work" "$@"
