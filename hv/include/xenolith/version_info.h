/*
 * version_info.h - Xenolith's own version and the Xen ABI version it
 * speaks. XL_CHANGESET, XL_BUILD_DATE and XL_COMPILER are passed by the
 * build (hv/hv.mk) from git, so a rebuild of one commit reports the same.
 */
#ifndef XENOLITH_VERSION_INFO_H
#define XENOLITH_VERSION_INFO_H

#define XL_VERSION      "0.1"
#define XL_XEN_MAJOR    4
#define XL_XEN_MINOR    17
#define XL_EXTRAVERSION ".0-xenolith"

#ifndef XL_CHANGESET
#define XL_CHANGESET "unknown"
#endif
#ifndef XL_BUILD_DATE
#define XL_BUILD_DATE "unknown"
#endif
#ifndef XL_COMPILER
#define XL_COMPILER "gcc"
#endif

#endif
