/*
 * xen.h - the one place the hypervisor pulls in Xen's public ABI headers
 * (Debian libxen-dev, via the private $(BUILD)/include/xen link).
 */
#ifndef XENOLITH_XEN_H
#define XENOLITH_XEN_H

#include <stdint.h>
#include <xen/xen.h>
#include <xen/version.h>
#include <xen/sched.h>
#include <xen/vcpu.h>
#include <xen/elfnote.h>
#include <xen/errno.h>

#endif
