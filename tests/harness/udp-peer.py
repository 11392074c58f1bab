#!/usr/bin/env python3
"""udp-peer.py - a host outside the machine under test, on the wire of
one of its NICs (net_uplink.scn). QEMU's "-netdev dgram" back end carries
each Ethernet frame of that NIC as one UDP datagram between two loopback
ports, so this program is the other end of the cable: a tiny IPv4 host
(10.0.2.2, MAC 52:54:00:99:00:02) that answers ARP for itself.

    udp-peer.py MY_PORT QEMU_PORT COUNT [--wait S] [--hostile]

Asks "who-has 10.0.2.15" every 0.5 s until the guest answers (--wait S
at most); with --hostile it then throws junk at the wire (runts, broken
and unknown 802.1Q tags, VLAN 4095, a bogus ARP, a datagram with a bad
UDP checksum, a storm of 3000 broadcasts): the machine must stay up and
keep forwarding. Then it sends COUNT numbered UDP datagrams to 10.0.2.15:7777, one
at a time, each waited for 2 s (one resend), and compares every echo
with what was sent; finally sends "quit". Prints one line per phase and
"udp-peer: R of COUNT answered"; exits 0 only if all came back intact.
Received frames are parsed with bounds (a short or foreign frame is
ignored). Owns: its own socket. Must never: bind anything but the
loopback address, or wait without a bound.
"""
import socket
import struct
import sys
import time

MY_MAC = bytes.fromhex("525400990002")
MY_IP = bytes([10, 0, 2, 2])
GUEST_IP = bytes([10, 0, 2, 15])
BCAST = b"\xff" * 6
SPORT, DPORT = 40000, 7777


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def arp(op, dst_mac, tha, tpa):
    body = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, MY_MAC, MY_IP, tha, tpa)
    return (dst_mac + MY_MAC + b"\x08\x06" + body).ljust(60, b"\0")


def udp(dst_mac, payload):
    u = struct.pack("!HHHH", SPORT, DPORT, 8 + len(payload), 0) + payload
    pseudo = MY_IP + GUEST_IP + struct.pack("!BBH", 0, 17, len(u))
    c = csum(pseudo + u) or 0xFFFF
    u = u[:6] + struct.pack("!H", c) + u[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(u), 1, 0, 64, 17, 0, MY_IP, GUEST_IP)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return (dst_mac + MY_MAC + b"\x08\x00" + ip + u).ljust(60, b"\0")


class Peer:
    def __init__(self, my_port, qemu_port):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", my_port))
        self.qemu = ("127.0.0.1", qemu_port)
        self.guest_mac = None
        self.arp_answered = 0

    def send(self, frame):
        self.s.sendto(frame, self.qemu)

    def handle(self, f):
        """One frame from the wire: ARP handled here; a UDP payload for
        our port is returned."""
        if len(f) < 14 or (f[0:6] != MY_MAC and f[0:6] != BCAST):
            return None
        etype = f[12:14]
        if etype == b"\x08\x06" and len(f) >= 42:
            op = struct.unpack("!H", f[20:22])[0]
            sha, spa, tpa = f[22:28], f[28:32], f[38:42]
            if op == 1 and tpa == MY_IP:
                self.send(arp(2, sha, sha, spa))
                self.arp_answered += 1
            elif op == 2 and spa == GUEST_IP:
                self.guest_mac = sha
            return None
        if etype != b"\x08\x00" or len(f) < 34 or f[14] >> 4 != 4:
            return None
        ihl = (f[14] & 15) * 4
        total = struct.unpack("!H", f[16:18])[0]
        if ihl < 20 or total < ihl + 8 or 14 + total > len(f) or f[23] != 17:
            return None
        if f[26:30] != GUEST_IP or f[30:34] != MY_IP:
            return None
        u = f[14 + ihl:14 + total]
        sport, dport, ulen = struct.unpack("!HHH", u[0:6])
        if sport != DPORT or dport != SPORT or ulen < 8 or ulen > len(u):
            return None
        return u[8:ulen]

    def wait_for(self, done, timeout):
        """Handles frames until done(payload) is true or timeout s pass."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return False
            self.s.settimeout(left)
            try:
                f, _ = self.s.recvfrom(4096)
            except socket.timeout:
                return False
            p = self.handle(f)
            if done(p):
                return True


def hostile(p):
    """Junk on the wire; how many frames were sent."""
    g, src = p.guest_mac, MY_MAC
    tag = lambda vid: b"\x81\x00" + struct.pack("!H", vid)
    good = udp(g, b"bad checksum")
    bad_csum = good[:40] + bytes([good[40] ^ 0xFF]) + good[41:]
    junk = [
        g + src,                                   # 12 bytes: no ethertype
        g + src + b"\x08\x00",                     # a bare header
        g + src + b"\x81\x00",                     # a tag cut short
        g + src + tag(30) + b"\x08\x00" + b"\0" * 40,   # VLAN 30: not on the trunk
        g + src + tag(4095) + b"\x08\x00" + b"\0" * 40, # reserved VID
        g + src + tag(10) + b"\x08\x00" + b"\0" * 40,   # VLAN 10: carried, nobody there
        g + src + tag(1) + b"\x08\x00" + b"\0" * 40,    # the native VLAN tagged
        g + src + tag(10) + tag(20) + b"\x08\x00" + b"\0" * 40,  # double tag
        BCAST + src + b"\x08\x06" + b"\xff" * 8,    # a truncated ARP
        BCAST + BCAST + b"\x08\x00" + b"\0" * 46,   # a broadcast source MAC
        bad_csum,
        g + src + b"\x08\x00" + b"\x45" + b"\xff" * 1499,  # 1514 bytes of garbage IPv4
    ]
    for f in junk:
        p.send(f)
    for i in range(3000):
        p.send(BCAST + src + b"\x88\xb5" + struct.pack("!I", i) + b"\0" * 42)
    return len(junk) + 3000


def main():
    my_port, qemu_port, count = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    wait = float(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[4] == "--wait" else 150.0
    with_junk = "--hostile" in sys.argv[4:]
    p = Peer(my_port, qemu_port)
    print(f"udp-peer: 10.0.2.2 on 127.0.0.1:{my_port}, the NIC's wire at 127.0.0.1:{qemu_port}",
          flush=True)
    t0 = time.monotonic()
    asked = 0
    while p.guest_mac is None and time.monotonic() - t0 < wait:
        p.send(arp(1, BCAST, b"\0" * 6, GUEST_IP))
        asked += 1
        p.wait_for(lambda _: p.guest_mac is not None, 0.5)
    if p.guest_mac is None:
        print(f"udp-peer: no ARP reply from 10.0.2.15 after {asked} requests", flush=True)
        return 1
    print("udp-peer: 10.0.2.15 is at %s (after %d requests, %.1f s)"
          % (p.guest_mac.hex(":"), asked, time.monotonic() - t0), flush=True)

    if with_junk:
        n = hostile(p)
        print(f"udp-peer: hostile: {n} junk frames sent", flush=True)

    def exchange(msg):
        for _ in range(2):
            p.send(udp(p.guest_mac, msg))
            if p.wait_for(lambda got: got == msg, 2.0):
                return True
        return False

    got = 0
    t1 = time.monotonic()
    for i in range(count):
        msg = b"uplink %d of %d " % (i, count) + bytes(range(65, 65 + i % 26)) * 8
        if exchange(msg):
            got += 1
        else:
            print(f"udp-peer: datagram {i} not answered", flush=True)
    ms = (time.monotonic() - t1) * 1000
    print(f"udp-peer: {got} of {count} answered ({ms:.0f} ms), "
          f"{p.arp_answered} ARP requests for 10.0.2.2 answered", flush=True)
    print(f"udp-peer: quit {'echoed' if exchange(b'quit') else 'not echoed'}", flush=True)
    return 0 if got == count else 1


if __name__ == "__main__":
    sys.exit(main())
