#!/usr/bin/env bash
# kimage_samples.sh DIR - sample data for test_kimage, compressed with
# Debian's own tools (gzip, xz, lz4, zstd) at test time into DIR (under
# build/; never committed). DIR/manifest lists the sample names; each
# NAME.raw has NAME.gz, NAME.xz (BCJ x86 + LZMA2, CRC32: Linux's choice),
# NAME.crc64.xz (plain xz), NAME.none.xz (no check), NAME.mb.xz (several
# blocks), NAME.lz4 (legacy, as Linux uses) and NAME*.zst beside it.
set -euo pipefail
dir=$1
rm -rf "$dir" && mkdir -p "$dir"
cd "$dir"

python3 - <<'PY'
import random
r = random.Random(1234)
open("random.raw", "wb").write(bytes(r.getrandbits(8) for _ in range(300000)))
open("zeros.raw", "wb").write(bytes(1 << 20))
open("bigzeros.raw", "wb").write(bytes(20 << 20))  # several lz4 legacy blocks
open("one.raw", "wb").write(b"x")
open("small.raw", "wb").write(b"hello, hello, hello kernel\n")
# text with long-range repeats and short runs
words = [b"domain", b"vcpu", b"grant", b"event", b"channel", b"page", b"frame", b"xen", b"\n"]
open("text.raw", "wb").write(b" ".join(r.choice(words) for _ in range(200000)))
# incompressible and compressible data interleaved (stored blocks, raw LZMA2 chunks)
mix = bytearray()
for i in range(40):
    mix += bytes(r.getrandbits(8) for _ in range(20000)) if i % 2 else b"abc" * 9000
open("mixed.raw", "wb").write(bytes(mix))
PY

# x86 ELFs: the built hypervisor and dom0 when present, and a host binary.
for f in ../../hv/xenolith.elf ../../guests/dom0.elf; do
    [ -f "$f" ] && cp "$f" "elf-$(basename "$f" .elf).raw"
done
cp "$(command -v bash)" elf-bash.raw
# small cuts of the larger ones, for the (slow, many-run) corruption tests
head -c 65536 text.raw >text64k.raw
head -c 131072 elf-bash.raw >elf128k.raw
head -c 100000 mixed.raw >mixed100k.raw

have_zstd=0
command -v zstd >/dev/null && have_zstd=1
for raw in *.raw; do
    n=${raw%.raw}
    echo "$n" >>manifest
    gzip -9 -n -c "$raw" >"$n.gz"
    xz --format=xz --check=crc32 --x86 --lzma2=preset=9 -c "$raw" >"$n.xz"
    xz --format=xz -c "$raw" >"$n.crc64.xz"
    xz --format=xz --check=none -c "$raw" >"$n.none.xz"
    xz --format=xz --block-size=65536 -c "$raw" >"$n.mb.xz"
    lz4 -q -l -9 -c "$raw" >"$n.lz4"
    if [ $have_zstd = 1 ]; then
        zstd -q -19 -c "$raw" >"$n.zst"                      # with size and checksum
        zstd -q -19 --no-check -c "$raw" >"$n.nock.zst"      # no checksum
        cat "$raw" | zstd -q -19 -c >"$n.pipe.zst"           # no size (as Linux's)
        zstd -q -1 -c "$raw" >"$n.fast.zst"
    fi
done
touch .stamp
