/*
 * errno.h - Xen errno values under their short names, for code that runs
 * in the hypervisor, the loader, guests and host tests alike.
 * Owns: nothing but names. Values come from Xen's public xen/errno.h.
 */
#ifndef XENOLITH_ERRNO_H
#define XENOLITH_ERRNO_H

#include <xen/errno.h>

#define XL_EPERM   XEN_EPERM
#define XL_ENOENT  XEN_ENOENT
#define XL_ESRCH   XEN_ESRCH
#define XL_EIO     XEN_EIO
#define XL_E2BIG   XEN_E2BIG
#define XL_ENOEXEC XEN_ENOEXEC
#define XL_ENOMEM  XEN_ENOMEM
#define XL_EACCES  XEN_EACCES
#define XL_EFAULT  XEN_EFAULT
#define XL_EBUSY   XEN_EBUSY
#define XL_EEXIST  XEN_EEXIST
#define XL_EINVAL  XEN_EINVAL
#define XL_ENOSPC  XEN_ENOSPC
#define XL_ERANGE  XEN_ERANGE
#define XL_ENOSYS  XEN_ENOSYS
#define XL_EOVERFLOW XEN_EOVERFLOW
#define XL_ENODATA XEN_ENODATA
#define XL_ENOBUFS XEN_ENOBUFS
#define XL_EOPNOTSUPP XEN_EOPNOTSUPP

#endif
