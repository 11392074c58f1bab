/*
 * domctl.h - the toolstack's hypercalls: XEN_DOMCTL_* (domctl.c) and
 * XEN_SYSCTL_* (sysctl.c), Xen 4.17's ABI (interface version 0x15).
 * Owns: the one place the hv includes Xen's tools-only headers. Must
 * never: be reachable by a domain that is not privileged (-EPERM, Xen's
 * XSM dummy policy).
 */
#ifndef XENOLITH_DOMCTL_H
#define XENOLITH_DOMCTL_H

/* The tools-only parts of xen/xen.h (64-bit guest handles, arch domain
 * config) need __XEN_TOOLS__ when it is first read: include this header
 * before any other. xen-compat.h then sets the interface version to the
 * latest, the value the build passes anyway. */
#if defined(__XEN_PUBLIC_XEN_H__) && !defined(__XEN_TOOLS__)
#error "include <xenolith/domctl.h> before any other header"
#endif
#ifndef __XEN_TOOLS__
#define __XEN_TOOLS__ 1
#undef __XEN_INTERFACE_VERSION__
#endif
#include <xenolith/hypercall.h>
#include <xen/domctl.h>
#include <xen/sysctl.h>

HYPERCALL_DECL(domctl);
HYPERCALL_DECL(sysctl);

/* Xen's getdomaininfo(): fill *info for d as seen now. */
void domctl_getdomaininfo(const struct domain *d, struct xen_domctl_getdomaininfo *info);

#endif
