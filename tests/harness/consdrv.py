#!/usr/bin/env python3
"""consdrv.py - drive a serial console (a QEMU chardev on a unix socket)
from a script, for scenarios that talk to a shell on the machine's COM1
(a Linux dom0 on hvc0 reads and writes it through the hypervisor).

Script lines (one verb each; blank lines and '#' comments ignored):
  expect SECONDS REGEX   wait until REGEX matches output that came after the
                         previous match (bounded: a miss prints
                         "consdrv: expect: timeout ..." and exits 1)
  send TEXT              type TEXT and a newline (characters paced, as a
                         person types, so no receive FIFO overflows)
  sendraw TEXT           the same without the newline

Everything the console prints is copied to stdout. Exit status 0 when the
script ran to its end; 1 on a timeout, 2 when the socket closed first.
Must never: wait without a bound.
"""
import re
import socket
import sys
import time


def main():
    sock_path, script = sys.argv[1], sys.argv[2]
    t0 = time.time()  # about when QEMU started (run-qemu.sh starts both)
    deadline = time.time() + 30
    s = None
    while time.time() < deadline:
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(sock_path)
            break
        except OSError:
            s = None
            time.sleep(0.1)
    if s is None:
        print("consdrv: cannot connect to %s" % sock_path)
        return 2
    s.settimeout(0.2)
    buf = ""   # output not yet consumed by an expect
    closed = False

    def pump():
        nonlocal buf, closed
        try:
            data = s.recv(4096)
        except socket.timeout:
            return
        if not data:
            closed = True
            return
        text = data.decode("utf-8", "replace")
        sys.stdout.write(text)
        sys.stdout.flush()
        buf += text

    for lineno, line in enumerate(open(script), 1):
        line = line.rstrip("\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        verb, _, rest = line.partition(" ")
        if verb == "expect":
            secs, _, pattern = rest.partition(" ")
            rx = re.compile(pattern)
            end = time.time() + float(secs)
            while True:
                m = rx.search(buf)
                if m:
                    buf = buf[m.end():]
                    print("\nconsdrv: matched /%s/ %.1f s after start" % (pattern, time.time() - t0))
                    break
                if closed:
                    print("\nconsdrv: expect: console closed before /%s/ (line %d)"
                          % (pattern, lineno))
                    return 2
                if time.time() > end:
                    print("\nconsdrv: expect: timeout after %ss waiting for /%s/ (line %d)"
                          % (secs, pattern, lineno))
                    return 1
                pump()
        elif verb in ("send", "sendraw"):
            text = rest + ("\n" if verb == "send" else "")
            for ch in text:
                s.sendall(ch.encode())
                time.sleep(0.01)
                pump()
        else:
            print("consdrv: %s:%d: unknown verb %r" % (script, lineno, verb))
            return 1
    # Keep copying until the machine closes the socket (it ends), bounded.
    end = time.time() + 60
    while not closed and time.time() < end:
        pump()
    return 0


if __name__ == "__main__":
    sys.exit(main())
