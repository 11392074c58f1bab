#!/usr/bin/env python3
"""console-drive.py - drive a program's console like expect(1).

    console-drive.py [--timeout S] [--log FILE] STEPS -- COMMAND...

Runs COMMAND with its stdin and stdout (stderr joined) on pipes, copies
everything it prints to --log (and to stdout unless --quiet), and performs
STEPS in order; each step is one argument:
  expect:REGEX      wait until the output since the previous match matches
                    the Python regex REGEX; prints "drive: +T.Ts matched
                    REGEX" (T from the start of COMMAND) on stderr
  send:TEXT         write TEXT and a newline to COMMAND's stdin
  eof               wait for COMMAND to exit
The whole run is bounded by --timeout (default 120 s). Exit status: 0 every
step done (COMMAND is then killed unless the last step was eof), 124 a step
not done in time (says which), 1 COMMAND ended before a step was done.
Used to check the Linux fixtures in plain QEMU (make linux-qemu).
"""
import argparse
import os
import re
import select
import signal
import subprocess
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--log")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("steps", nargs="*")
    argv = sys.argv[1:]
    if "--" not in argv:
        sys.exit("console-drive.py: missing -- COMMAND")
    i = argv.index("--")
    a = ap.parse_args(argv[:i])
    cmd = argv[i + 1:]
    log = open(a.log, "wb") if a.log else None
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, start_new_session=True)
    buf = b""       # output not yet consumed by an expect
    done_eof = False

    def note(msg):
        print("drive: +%.1fs %s" % (time.monotonic() - t0, msg), file=sys.stderr, flush=True)

    def read_some(deadline):
        """Read what is there (waiting until deadline); False at EOF."""
        nonlocal buf
        left = deadline - time.monotonic()
        if left <= 0:
            return True
        r, _, _ = select.select([p.stdout], [], [], min(left, 0.5))
        if not r:
            return True
        data = os.read(p.stdout.fileno(), 65536)
        if not data:
            return False
        buf += data
        if log:
            log.write(data)
            log.flush()
        if not a.quiet:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        return True

    deadline = t0 + a.timeout
    status = 0
    try:
        for step in a.steps:
            kind, _, arg = step.partition(":")
            if kind == "expect":
                rx = re.compile(arg.encode())
                while True:
                    m = rx.search(buf)
                    if m:
                        buf = buf[m.end():]
                        note("matched %s" % arg)
                        break
                    if time.monotonic() >= deadline:
                        note("TIMEOUT waiting for %s" % arg)
                        status = 124
                        break
                    if not read_some(deadline):
                        note("command ended while waiting for %s" % arg)
                        status = 1
                        break
            elif kind == "send":
                p.stdin.write(arg.encode() + b"\n")
                p.stdin.flush()
                note("sent %s" % arg)
            elif kind == "eof":
                while read_some(deadline):
                    if time.monotonic() >= deadline:
                        note("TIMEOUT waiting for the command to end")
                        status = 124
                        break
                else:
                    p.wait()
                    done_eof = True
                    note("command ended, status %d" % p.returncode)
            else:
                sys.exit("console-drive.py: bad step %r" % step)
            if status:
                break
    finally:
        if not done_eof and p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    sys.exit(status)


if __name__ == "__main__":
    main()
