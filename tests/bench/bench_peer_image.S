/*
 * bench_peer_image.S - bench_peer.elf (BENCH_PEER_PATH, set by bench.mk)
 * as read-only bytes inside bench.elf, for bench_dom.c's builder
 * (8-byte aligned: the builder reads the ELF headers in place).
 */
    .section .rodata.bench_peer_image, "a"
    .balign 4096
    .globl bench_peer_image, bench_peer_image_end
bench_peer_image:
    .incbin BENCH_PEER_PATH
bench_peer_image_end:
    .section .note.GNU-stack, "", @progbits
