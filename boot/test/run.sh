#!/usr/bin/env bash
# run.sh - boot BOOTX64.EFI under QEMU/OVMF against several ESP layouts and
# check the serial log: a good config must reach the stub hypervisor and
# pass its bootinfo checks; broken ones must print one error line.
# Usage: boot/test/run.sh BUILD_BOOT_DIR   (needs BOOTX64.EFI, stub-hv.elf)
# Must never: touch anything outside its own temp directory.
set -u
B=${1:?usage: run.sh build/boot}
T=$(mktemp -d /tmp/xl-boot-test.XXXXXX)
OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
CFGP='\EFI\xenolith\xenolith.cfg'
fails=0

# make_esp NAME: fresh ESP with the loader, stub hv and sample modules.
make_esp() {
    local d=$T/$1/esp
    mkdir -p "$d/EFI/BOOT" "$d/EFI/xenolith"
    cp "$B/BOOTX64.EFI" "$d/EFI/BOOT/BOOTX64.EFI"
    cp "$B/stub-hv.elf" "$d/EFI/xenolith/hv.elf"
    printf 'DOM0-IMAGE-DATA' > "$d/EFI/xenolith/dom0.bin"
    head -c 300000 /dev/zero | sed 's/^/RAMDISK/' > "$d/EFI/xenolith/initrd.img"
    printf 'RAMDISK-IMAGE' | dd of="$d/EFI/xenolith/initrd.img" conv=notrunc status=none
    printf 'DOMU-ONE' > "$d/EFI/xenolith/u1.bin"
    printf 'DOMU-TWO' > "$d/EFI/xenolith/u2.bin"
    echo "$d"
}

# boot NAME: run QEMU until it exits or the loader reports an error;
# sets RC (QEMU exit status, or "killed") and leaves $T/NAME/serial.log.
boot() {
    local dir=$T/$1 log=$T/$1/serial.log pid i
    cp "$OVMF_VARS" "$dir/vars.fd"
    : > "$log"
    qemu-system-x86_64 -machine q35 -m 512M -cpu qemu64 \
        -drive if=pflash,format=raw,readonly=on,file=$OVMF_CODE \
        -drive if=pflash,format=raw,file="$dir/vars.fd" \
        -drive format=raw,file=fat:rw:"$dir/esp" -net none \
        -serial file:"$log" -display none -no-reboot \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 &
    pid=$!
    RC=killed
    for ((i = 0; i < 120; i++)); do
        if ! kill -0 $pid 2>/dev/null; then wait $pid; RC=$?; return; fi
        if grep -aq 'xenolith-loader: error:' "$log"; then sleep 2; break; fi
        sleep 0.5
    done
    kill $pid 2>/dev/null; wait $pid 2>/dev/null
}

# expect NAME PATTERN: the log must contain the fixed string PATTERN.
expect() {
    if grep -aqF -- "$2" "$T/$1/serial.log"; then
        echo "  ok   $1: $2"
    else
        echo "  FAIL $1: missing: $2"; fails=$((fails + 1))
    fi
}

show() { grep -a -e 'xenolith-loader' -e 'stub-hv' "$T/$1/serial.log" | tr -d '\r' | sed 's/\x1b\[[0-9;]*[a-zA-Z]//g; s/^/    | /'; }

echo "boot-test: good config"
esp=$(make_esp good)
cat > "$esp/EFI/xenolith/xenolith.cfg" <<'CFG'
# sample
hypervisor = \EFI\xenolith\hv.elf
hypervisor_cmdline = loglvl=all com1=115200
dom0 = /EFI/xenolith/dom0.bin
dom0_cmdline = console=hvc0 root=/dev/xvda1
ramdisk = initrd.img
domu = \EFI\xenolith\u1.bin console=hvc0 name=one
domu = \EFI\xenolith\u2.bin
CFG
boot good; show good
[ "$RC" = 33 ] && echo "  ok   good: QEMU exit 33 (stub pass)" || { echo "  FAIL good: QEMU rc $RC"; fails=$((fails + 1)); }
expect good 'stub-hv: RESULT PASS'
expect good 'xenolith-loader: hypervisor \EFI\xenolith\hv.elf'
expect good "stub-hv: module 1 kind 2 initrd.img len 300007 data 'RAMDISK-IMAGE'"

echo "boot-test: bad config line"
esp=$(make_esp badline)
printf 'hypervisor = hv.elf\r\ndom0 = dom0.bin\r\nbogus = 1\r\n' > "$esp/EFI/xenolith/xenolith.cfg"
boot badline; show badline
expect badline "xenolith-loader: error: $CFGP:3: unknown key 'bogus'"

echo "boot-test: missing dom0 file"
esp=$(make_esp nodom0)
printf 'hypervisor = hv.elf\ndom0 = \\EFI\\xenolith\\missing.bin\n' > "$esp/EFI/xenolith/xenolith.cfg"
boot nodom0; show nodom0
expect nodom0 'xenolith-loader: error: cannot open \EFI\xenolith\missing.bin: Not Found'

echo "boot-test: corrupt hypervisor"
esp=$(make_esp badelf)
head -c 8192 /dev/urandom | base64 > "$esp/EFI/xenolith/junk.elf"
printf 'hypervisor = junk.elf\ndom0 = dom0.bin\n' > "$esp/EFI/xenolith/xenolith.cfg"
boot badelf; show badelf
expect badelf 'xenolith-loader: error: hypervisor junk.elf: not an ELF file (bad magic)'

echo "boot-test: missing required key"
esp=$(make_esp nokey)
printf 'hypervisor = hv.elf\n' > "$esp/EFI/xenolith/xenolith.cfg"
boot nokey; show nokey
expect nokey "xenolith-loader: error: $CFGP: missing required key 'dom0'"

rm -rf "$T"
[ $fails -eq 0 ] && echo "boot-test: all passed" || echo "boot-test: $fails failure(s)"
exit $((fails != 0))
