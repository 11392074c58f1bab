/*
 * svc.h - dom0's service mode (cmdline "services=1" or "xl"): the
 * interfaces between its files. services.c runs the event loop and the
 * COM2 control line; consback.c is the PV console back end (both in
 * toolstack/dom0svc/); xsd.c (toolstack/xenstored/) embeds xenstored;
 * xlops.c (toolstack/xl/) implements struct xlcmd_ops; ctl.c is xl's
 * small domctl/sysctl adapter. Must never: be used by the default
 * (scenario) dom0 paths.
 */
#ifndef DOM0_SVC_H
#define DOM0_SVC_H

#include <stddef.h>
#include <stdint.h>
#include <xen/xen.h>
#include <xlguest/services.h>

#define SVC_MAX_DOMS 64

/* services.c: services_main() (xlguest/services.h), and */
/* One pass of the loop: events, xenstore, consoles, the control line
 * (unless with_ctl is 0), then block until an event or the timer. */
void svc_step(int with_ctl);
/* Bind an interdomain channel to (domid, remote_port); the local port or
 * a negative Xen errno. svc_port_pending consumes the port's flag. */
long svc_bind_interdomain(uint16_t domid, uint32_t remote_port);
void svc_close_port(uint32_t port);
void svc_send(uint32_t port);
int svc_port_pending(uint32_t port);
/* Everything dom0 keeps for a domain that no longer runs (console back
 * end, xenstore connection and tree): called on every death, before dom0
 * goes back to its loop, so before xl create can be given the id again. */
void svc_domain_cleanup(uint16_t domid);
/* Map (domid, mfn) at a free slot of dom0's address space; NULL if the
 * hypervisor refuses or no slot is free. svc_unmap puts dom0's own frame
 * back. */
void *svc_map_foreign(uint16_t domid, uint64_t mfn);
void svc_unmap(void *va);
/* A dom0 command's answer: on the control line and in dom0's log
 * ("dom0: ..."), at most 199 bytes. */
void svc_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Splits line in place at blanks into at most max words; how many. */
unsigned int svc_split_args(char *line, char **arg, unsigned int max);
/* COM2 (the host control line). */
int ctl_getc(void);                     /* -1 if nothing waiting */
void ctl_write(const char *s, size_t n);
/* The ramdisk module (cpio newc), or NULL/0. */
const void *svc_ramdisk(size_t *len);

/* vdisk.c: the control line's `vdisk list|fill|check|flush` (a test of
 * the block devices); returns the exit status. */
int vdisk_run_line(char *line);
/* vnet.c: `vnet list|arp` (a test of the network devices). */
int vnet_run_line(char *line);
/* uplink.c: dom0's NICs as bridge ports. `bridge addif BR DEV
 * [trunk=V,...]` / `bridge delif BR DEV` (returns the exit status); the
 * cmdline default bridge=BR:DEV; uplink_add/del return 0 or -XEN_ENODEV
 * (no such NIC), -XEN_EBUSY (NIC in use), -XEN_EINVAL, -XEN_ENOSPC,
 * -XEN_ENOMEM, -XEN_EEXIST / -XEN_ENOENT (port there / not there). */
int uplink_run_line(char *line);
int uplink_add(const char *bridge, const char *dev, const char *mode);
int uplink_del(const char *bridge, const char *dev);
void uplink_boot(const start_info_t *si);

/* xsd.c */
int xsd_init(void);
/* Every connection in turn, every queue; 1 if requests may be left. */
int xsd_process(void);
/* dom0's own client over its local ring: 0 or a negative Xen errno. */
int xsd_write(const char *path, const char *val);
int xsd_read(const char *path, char *buf, size_t len);
int xsd_rm(const char *path);
int xsd_mkdir(const char *path);
int xsd_set_perms(const char *path, const char *perms, uint32_t perms_len);
int xsd_introduce(uint16_t domid, uint64_t mfn, uint32_t port);
/* A domain is gone: its connection, watches, transactions, the nodes it
 * owns and its permissions elsewhere go (fires @releaseDomain), then
 * /local/domain/N, as libxl removes it. */
void xsd_domain_gone(uint16_t domid);
/* Domains with a store connection, for the VIRQ_DOM_EXC sweep. */
int xsd_has_conn(uint16_t domid);

/* dm.c: the device model of an HVM domain (a 16550A at 0x3f8, IRQ 4). */
int dm_attach(uint16_t domid, unsigned int nvcpus);
/* An xl disk of an HVM domain with vdev=hda: the device model's IDE disk
 * (after dm_attach). 0 or -errno (said in the log). */
struct xldisk;
int dm_disk_attach(uint16_t domid, const struct xldisk *disk);
void dm_detach(uint16_t domid);
int dm_attached(uint16_t domid);
void dm_poll(void);                     /* answer every waiting request */
/* `xl console` (type serial): output to COM2, COM2 input to the UART. */
int dm_interactive(uint16_t domid);

/* consback.c */
int consback_attach(uint16_t domid, uint64_t mfn, uint32_t remote_port);
void consback_detach(uint16_t domid);
int consback_attached(uint16_t domid);
void consback_poll(void);               /* drain every ring, print lines */
/* Interactive: forward the domain's output to COM2 and COM2 input to it
 * until Ctrl-] (0x1d) or the domain goes. */
int consback_interactive(uint16_t domid);

/* blkback.c: the blkif back end and the vbd nodes xl writes for it. */
struct xldisk;
struct blkback_info {
    uint32_t devid;
    uint16_t be_domid;
    uint32_t state;                     /* the back end's xenbus state */
    int fe_state;                       /* the front end's (-1: unreadable) */
    int evtchn, ring_ref;               /* the front end's nodes (-1: none) */
    char be_path[64];
};
/* ramblk=SIZE on dom0's command line: a RAM disk "ram0" to serve. */
void blkback_init(const start_info_t *si);
/* Serve every device once (state changes, requests, completions); 1 if
 * I/O is in flight (poll again soon). */
int blkback_poll(void);
/* The domain is gone: its devices stop and go once their I/O is done. */
void blkback_domain_gone(uint16_t domid);
/* xl: the backend and frontend nodes of a new vbd (libxl's layout). 0,
 * -EEXIST, -ENOSPC, or the store's error. */
int blkback_device_add(uint16_t domid, const struct xldisk *d);
/* xl block-detach: online = 0, the close handshake follows. */
int blkback_device_remove(uint16_t domid, uint32_t devid);
int blkback_list(uint16_t domid, struct blkback_info *out, unsigned int max);

/* ctl.c: domctl/sysctl (Xen 4.17 ABI) with dom0-side fallbacks. */
struct ctl_dominfo {
    uint16_t domid;
    uint64_t tot_pages, max_pages;
    uint32_t flags;                     /* XEN_DOMINF_* */
    uint64_t cpu_time;
    unsigned int nr_online_vcpus;
};
/* Domains from first upward, at most max: count or negative errno. When
 * the hypervisor has no sysctl getdomaininfolist, existence and pages
 * come from XENMEM_current_reservation and flags are 0 (unknown). */
int ctl_list(uint16_t first, struct ctl_dominfo *out, unsigned int max);
int ctl_exists(uint16_t domid);
int ctl_pause(uint16_t domid, int pause);
int ctl_destroy(uint16_t domid);
struct xlcmd_hostinfo;
int ctl_hostinfo(struct xlcmd_hostinfo *hi);
/* XEN_SYSCTL_readconsole from index *idx: bytes copied or errno. */
int ctl_readconsole(char *buf, uint32_t len, uint32_t *idx, int clear);
long ctl_evtchn_alloc_unbound(uint16_t dom, uint16_t remote);

/* xlops.c */
void xlops_init(void);
/* A domain xl created has shut down with reason: apply its on_* action. */
void xlops_domain_shutdown(uint16_t domid, unsigned int reason);
/* Domains xl created that were not cleaned up yet. */
int xlops_created(uint16_t domid);
/* A domain is gone: xl forgets it and removes what it wrote for it
 * outside its home (/vm/<uuid>, /libxl/N). */
void xlops_domain_gone(uint16_t domid);
/* Runs one control-line command; returns xl's exit status. */
int xlops_run_line(char *line);

/* The PV builder for `xl create` (xlops.c, on toolstack/libxc/build.c).
 * In: the new domain
 * (created, paused), its kernel (an ELF, 8-byte aligned), ramdisk and
 * command line, its memory in pages, its max_mem in KiB and its vcpus
 * (createdomain's max_vcpus). Out: the store and console frames
 * (pfn->mfn already resolved) and the event channels allocated for
 * them (remote side = dom0), as start_info has them. */
struct dom0_build_out {
    uint64_t store_mfn, console_mfn;
    uint32_t store_evtchn, console_evtchn;
};
int dom0_build_pv(uint16_t domid, const void *kernel, size_t kernel_len,
                  const void *ramdisk, size_t ramdisk_len, const char *cmdline,
                  uint64_t nr_pages, uint64_t max_memkb, unsigned int max_vcpus,
                  struct dom0_build_out *out);

#endif
