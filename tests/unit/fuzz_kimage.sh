#!/bin/bash
# Build and run the libFuzzer harness of the decompressors (attack2 review).
# usage: bash tests/unit/fuzz_kimage.sh OUTDIR [seconds]
set -e
out=${1:-/tmp/fz}; secs=${2:-300}
mkdir -p "$out/corpus"
clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -Ibuild/include -Ihv/shared/include -Ihv/include -D__XEN_INTERFACE_VERSION__=0x00040e00 -DXL_HOST_TEST \
  tests/unit/fuzz_kimage.c hv/shared/kimage.c hv/shared/decompress/*.c -o "$out/fuzz_kimage"
# seeds: one tiny stream of each format, with the selector and length prefix
s=$(mktemp -d)
head -c 3000 /dev/urandom | base64 > $s/x
for c in "0 gzip -9n" "1 xz -9 --check=crc64" "1 xz -0 --check=crc32" "2 lz4 -l -9" "3 zstd -19" "3 zstd -1 --no-check"; do
  set -- $c; sel=$1; shift
  "$@" -c < $s/x > $s/z 2>/dev/null || continue
  len=$(stat -c %s $s/x)
  printf "\\x$(printf %02x $sel)\\x$(printf %02x $((len & 255)))\\x$(printf %02x $((len >> 8 & 255)))\\x00" > "$out/corpus/seed_$sel_$1$2"
  cat $s/z >> "$out/corpus/seed_$sel_$1$2"
done
cd "$out" && ./fuzz_kimage -max_total_time=$secs -timeout=10 -rss_limit_mb=1024 -max_len=65536 corpus
