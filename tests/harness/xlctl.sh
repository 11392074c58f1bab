#!/usr/bin/env bash
# xlctl.sh - the host side of dom0's control line (COM2 of the QEMU
# machine, a unix socket made by run-qemu.sh --ctl PATH). Sends xl command
# lines, prints dom0's answers; each answer ends with "xl-exit: N", which
# is not printed. Exit status: the last command's N (or 124 if dom0 did
# not answer in time, 64 for bad usage).
#   xlctl.sh --sock PATH 'xl list'          one command
#   xlctl.sh --sock PATH --script FILE      one command per line ('#' comments);
#                                           each is echoed as "xl> LINE" first
#                                           and followed by "[exit N]"
#   --wait S   how long to wait for each answer (default 30; dom0 may still
#              be booting when the first command goes out)
# A line "halt" (or "halt reboot") asks dom0 to end the machine; a line
# "sleep S" waits S seconds on the host (scripts that let guests run).
# After "xl console D" it waits --console-secs (default 2) and detaches
# with Ctrl-], showing what the domain printed meanwhile.
# A line "type D TEXT" attaches to D's console, types TEXT and Enter, and
# detaches (a shell command for a Linux domU); "wait S REGEX type D TEXT"
# types it and stays attached until output after it matches REGEX.
# "console-opts OPTS" gives later "type" lines' xl console those options
# (e.g. "-t pv" for an HVM domain's PV console; nothing: back to none).
# A line "wait S REGEX COMMAND..." waits for a state instead of a time:
# it runs COMMAND again (every 0.2 s) until its output matches REGEX (a
# Python regex, multiline, no spaces: write \s), or with "!REGEX" until
# it no longer matches; for "xl console D" it stays attached until the
# domain's output matches. It prints the last output and "[exit 0]", or
# after S seconds "xlctl.sh: wait: /REGEX/ not seen in S s" and
# "[exit 1]" (and the script's status is 1).
set -u
sock="" script="" wait=30 console_secs=2 cmds=()
while [ $# -gt 0 ]; do
    case "$1" in
    --sock) sock=$2; shift ;;
    --script) script=$2; shift ;;
    --wait) wait=$2; shift ;;
    --console-secs) console_secs=$2; shift ;;
    -*) echo "xlctl.sh: unknown option $1" >&2; exit 64 ;;
    *) cmds+=("$1") ;;
    esac
    shift
done
[ -n "$sock" ] || { echo "xlctl.sh: --sock PATH is required" >&2; exit 64; }
if [ -n "$script" ]; then
    [ -f "$script" ] || { echo "xlctl.sh: no such script: $script" >&2; exit 64; }
    while IFS= read -r l; do
        case "$l" in ''|'#'*) continue ;; esac
        cmds+=("$l")
    done <"$script"
fi
[ ${#cmds[@]} -gt 0 ] || { echo "xlctl.sh: no command" >&2; exit 64; }
echo_cmds=0
[ -n "$script" ] && echo_cmds=1
exec python3 - "$sock" "$wait" "$echo_cmds" "$console_secs" "${cmds[@]}" <<'PY'
import re, socket, sys, time
path, wait, echo = sys.argv[1], float(sys.argv[2]), sys.argv[3] == "1"
console_secs, cmds = float(sys.argv[4]), sys.argv[5:]
deadline = time.time() + wait * 4
while True:
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        break
    except OSError:
        if time.time() > deadline:
            print("xlctl.sh: cannot connect to %s" % path, file=sys.stderr)
            sys.exit(124)
        time.sleep(0.2)
buf = b""
status = 0
# Sync: the firmware also prints on COM2 and dom0 resets the UART when it
# starts, so ping until dom0 answers the latest ping; drop all before it.
k = 0
while True:
    k += 1
    s.sendall(b"ping %d\n" % k)
    s.settimeout(1.0)
    t_end = time.time() + 1.0
    m = None
    while time.time() < t_end:
        m = re.search(rb"pong %d\nxl-exit: 0\n" % k, buf)
        if m:
            break
        try:
            d = s.recv(4096)
        except socket.timeout:
            d = b""
        except OSError:
            d = b""
        buf += d
    if m:
        buf = buf[m.end():]
        break
    if time.time() > deadline:
        print("xlctl.sh: dom0 does not answer on %s" % path, file=sys.stderr)
        sys.exit(124)
def answer(cmd):
    """Read dom0's answer to cmd (up to "xl-exit: N"): (text, N)."""
    global buf
    s.settimeout(wait)
    while True:
        m = re.search(rb"(?:^|\n)xl-exit: (-?\d+)\n", buf)
        if m:
            out = buf[:m.start() + (1 if buf[m.start():m.start() + 1] == b"\n" else 0)]
            buf = buf[m.end():]
            return out.decode(errors="replace").replace("\r", ""), int(m.group(1))
        try:
            d = s.recv(4096)
        except socket.timeout:
            d = None
        if not d:
            sys.stdout.write(buf.decode(errors="replace"))
            print("xlctl.sh: no answer to '%s'" % cmd, file=sys.stderr)
            sys.exit(124)
        buf += d

def console(cmd, until=None, secs=console_secs, typed=None):
    """Attached to a domain's console: show what it prints for secs, or
    until its output matches the regex until; then detach with Ctrl-]
    as a user would. With typed, that text and Enter are typed first (as
    a person types), and only output after it counts. Returns (text, N,
    matched)."""
    global buf
    s.sendall(cmd.encode() + b"\n")
    if typed is not None:
        time.sleep(0.5)
        for ch in typed + "\n":
            s.sendall(ch.encode())
            time.sleep(0.01)
        s.settimeout(0.3)
        try:
            buf += s.recv(65536)
        except socket.timeout:
            pass
    start = len(buf)
    t_end = time.time() + secs
    matched = until is None
    while until is not None and time.time() < t_end:
        if until.search(buf[start:].decode(errors="replace").replace("\r", "")):
            matched = True
            break
        s.settimeout(0.2)
        try:
            d = s.recv(4096)
        except socket.timeout:
            d = b""
        buf += d
    if until is None:
        time.sleep(secs)
    s.sendall(b"\x1d")
    out, n = answer(cmd)
    return out, n, matched or until.search(out) is not None

def run(cmd):
    if cmd.split()[:2] == ["xl", "console"]:
        out, n, _ = console(cmd)
        return out, n
    s.sendall(cmd.encode() + b"\n")
    return answer(cmd)

console_opts = ""

def wait_for(secs, pattern, cmd):
    """The "wait S REGEX COMMAND" line: (last output, status)."""
    negate = pattern.startswith("!")
    rx = re.compile(pattern[1:] if negate else pattern, re.M)
    t_end = time.time() + secs
    if cmd.split()[:2] == ["xl", "console"]:
        out, n, ok = console(cmd, until=rx, secs=secs)
    elif cmd.split()[:1] == ["type"] and len(cmd.split()) >= 2:
        words = cmd.split(None, 2)
        out, n, ok = console("xl console " + console_opts + words[1], until=rx, secs=secs,
                             typed=words[2] if len(words) > 2 else "")
    else:
        while True:
            out, n = run(cmd)
            ok = (rx.search(out) is None) == negate
            if ok or time.time() > t_end:
                break
            time.sleep(0.2)
    if not ok:
        out += "xlctl.sh: wait: /%s/ not seen in %g s\n" % (pattern, secs)
        n = n or 1
    return out, n

for cmd in cmds:
    if echo:
        print("xl> " + cmd, flush=True)
    words = cmd.split()
    if words[:1] == ["console-opts"]:
        # host side only: options for the "xl console" of later "type"
        # lines (e.g. "console-opts -t pv": an HVM domain's PV console)
        console_opts = " ".join(words[1:]) + (" " if len(words) > 1 else "")
        continue
    if words[:1] == ["sleep"]:
        # host side only: give the guests time (a script line "sleep S")
        time.sleep(float(words[1]) if len(words) > 1 else 1.0)
        continue
    if cmd.strip().startswith("halt"):
        # dom0 answers, then ends the machine; the socket may close first.
        s.sendall(cmd.encode() + b"\n")
        s.settimeout(wait)
        try:
            while b"xl-exit:" not in buf:
                d = s.recv(4096)
                if not d:
                    break
                buf += d
        except OSError:
            pass
        break
    if words[:1] == ["type"]:
        # "type D TEXT": attach to D's console, type TEXT and Enter as a
        # person would, detach; what it printed meanwhile is shown.
        if len(words) < 2:
            print("xlctl.sh: usage: type DOMAIN TEXT...", file=sys.stderr)
            sys.exit(64)
        text = cmd.split(None, 2)[2] if len(words) > 2 else ""
        s.sendall(("xl console %s%s\n" % (console_opts, words[1])).encode())
        time.sleep(0.5)
        for ch in text + "\n":
            s.sendall(ch.encode())
            time.sleep(0.01)
        time.sleep(0.5)
        s.sendall(b"\x1d")
        out, status = answer(cmd)
    elif words[:1] == ["wait"]:
        if len(words) < 4:
            print("xlctl.sh: usage: wait SECONDS REGEX COMMAND...", file=sys.stderr)
            sys.exit(64)
        out, status = wait_for(float(words[1]), words[2], " ".join(words[3:]))
    else:
        out, status = run(cmd)
    sys.stdout.write(out)
    sys.stdout.flush()
    if echo:
        print("[exit %d]" % status, flush=True)
sys.exit(status)
PY
