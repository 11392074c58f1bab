/*
 * xlnet.h - xl's network devices in dom0 (toolstack/xl/xlnet.c): vifs at
 * create and the network-list/-attach/-detach commands. Owns the vif
 * nodes xl writes; must never reach into netback's state (it probes and
 * detaches through netback.h only).
 */
#ifndef XENOLITH_TOOLSTACK_XLNET_H
#define XENOLITH_TOOLSTACK_XLNET_H

#include <stdint.h>
#include "xlcfg.h"

/* The vif's frontend and backend directories, then netback's probe.
 * 0 or a negative Xen errno (nothing of it is left then). */
int xlnet_add_vif(uint16_t domid, unsigned int devid, const struct xlvif *vif);
/* Every vif of cfg, devid 0, 1, ... */
int xlnet_create_vifs(uint16_t domid, const struct xlcfg *cfg);
/* A network-* command line ("xl " optional): 1 with xl's exit status in
 * *status if it was one, else 0 (the line is left alone). */
int xlnet_run_line(const char *line, int *status);

#endif
