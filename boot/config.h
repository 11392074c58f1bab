/*
 * config.h - the UEFI loader's configuration (\EFI\xenolith\xenolith.cfg)
 * as parsed by boot/config.c.
 * Owns: struct xl_boot_config and the parser's contract.
 * Must never: depend on UEFI or libc types; the parser is shared with host
 * unit tests.
 *
 * File format: one `key = value` per line; blank lines and lines whose
 * first non-blank character is '#' are ignored; CRLF and a UTF-8 BOM are
 * accepted; whitespace around keys and values is trimmed. Keys:
 *   hypervisor         = PATH           (required)
 *   hypervisor_cmdline = TEXT
 *   dom0               = PATH           (required)
 *   dom0_cmdline       = TEXT
 *   ramdisk            = PATH           (at most one)
 *   domu               = PATH [TEXT]    (repeatable; TEXT = its cmdline)
 * Every key but domu may appear once. Values may not be empty. '/' in
 * paths becomes '\'; the loader resolves paths not starting with '\'
 * against \EFI\xenolith\. Paths must be ASCII, shorter than XL_NAME_MAX;
 * command lines shorter than XL_CMDLINE_MAX. dom0 + ramdisk + domus
 * together are at most XL_MAX_MODULES.
 */
#ifndef XENOLITH_BOOT_CONFIG_H
#define XENOLITH_BOOT_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <xenolith/bootinfo.h>

struct xl_cfg_module {
    uint32_t kind;                 /* XL_MOD_* */
    char path[XL_NAME_MAX];        /* backslash-separated, as on the ESP */
    char cmdline[XL_CMDLINE_MAX];
};

struct xl_boot_config {
    char hypervisor[XL_NAME_MAX];
    char hv_cmdline[XL_CMDLINE_MAX];
    /* Modules in hand-over order: dom0 first, then the ramdisk (if any),
     * then domUs in file order. */
    unsigned int nr_modules;
    struct xl_cfg_module modules[XL_MAX_MODULES];
};

/* Parse len bytes of config text. Returns 0 and fills *cfg, or -XL_EINVAL
 * and writes "<filename>:<line>: <what>" (or "<filename>: missing required
 * key '<key>'") into err[errlen] (always NUL-terminated if errlen > 0). */
int xl_config_parse(const char *text, size_t len, const char *filename,
                    struct xl_boot_config *cfg, char *err, size_t errlen);

#endif
