#!/usr/bin/python3
"""The delay between the two data centers of the fault suite (scripts/two-dc-net.sh).

Opens the TUN device NAME in the router's namespace; the router sends every packet that goes
from one data center to the other into it, and this program writes each one back after DELAY_MS
(read from DELAY_FILE again on SIGHUP), in arrival order; the kernel then routes it on. Userspace,
because this machine's kernel has no netem qdisc. Python's standard library only.

    wan-delay.py NAME DELAY_FILE
"""
import fcntl
import heapq
import os
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000

name, delay_file = sys.argv[1], sys.argv[2]


def read_delay():
    with open(delay_file) as f:
        return float(f.read().strip()) / 1000.0


delay = read_delay()


def on_hup(_signum, _frame):
    global delay
    delay = read_delay()


signal.signal(signal.SIGHUP, on_hup)
fd = os.open('/dev/net/tun', os.O_RDWR)
fcntl.ioctl(fd, TUNSETIFF, struct.pack('16sH', name.encode(), IFF_TUN | IFF_NO_PI))
os.set_blocking(fd, False)
queue = []
seq = 0
while True:
    timeout = max(0.0, queue[0][0] - time.monotonic()) if queue else None
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
    except InterruptedError:
        continue
    if ready:
        while True:
            try:
                packet = os.read(fd, 65535)
            except BlockingIOError:
                break
            heapq.heappush(queue, (time.monotonic() + delay, seq, packet))
            seq += 1
    now = time.monotonic()
    while queue and queue[0][0] <= now:
        try:
            os.write(fd, heapq.heappop(queue)[2])
        except OSError:
            pass  # a packet the kernel will not take back: lost, as on a real link
