/*
 * services.h - the one entry of dom0's service mode (xenstored, the
 * console back end and xl on the control line). A dom0 image's entry
 * point calls it; the toolstack implements it (toolstack/dom0svc/
 * services.c), so the kit only names it and never reaches into the
 * toolstack. Must never: declare more than that entry.
 */
#ifndef XLGUEST_SERVICES_H
#define XLGUEST_SERVICES_H

#include <xen/xen.h>

/* Runs dom0's services until "halt" on the control line; returns the
 * shutdown reason dom0 should end with. */
int services_main(start_info_t *si);

#endif
