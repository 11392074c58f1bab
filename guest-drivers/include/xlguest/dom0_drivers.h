/*
 * dom0_drivers.h - dom0's device drivers as the service loop sees them
 * (guest-drivers/dom0/drivers.c): found once at start, polled every pass.
 */
#ifndef XLGUEST_DOM0_DRIVERS_H
#define XLGUEST_DOM0_DRIVERS_H

/* Scans PCI and probes every device a driver knows (virtio-blk: vda,
 * vdb, ... in PCI order), one boot-log line each. Call once, before the
 * service loop. */
void dom0_drivers_init(void);
/* Reaps completions and received frames (blkdev_poll, netdev_poll).
 * Returns non-zero while a device without interrupts has requests in
 * flight: the caller must come back soon (services.c: a 100 us timer)
 * instead of sleeping a whole timer period. */
int dom0_drivers_poll(void);
/* With event upcalls masked, just before the loop blocks: non-zero when
 * a device has returned something not reaped yet. Its interrupt may have
 * come after dom0_drivers_poll and been taken by the upcall already, so
 * the block would wait for a timer: the loop takes another pass instead. */
int dom0_drivers_pending(void);

#endif
