/*
 * netdev.c - the registry of dom0's network devices (xlguest/netdev.h):
 * drivers register what they found at boot, users look them up, set the
 * receive callback, send through netdev_tx (which checks the frame
 * first), and netdev_poll reaps every device in turn.
 * Must never: touch a device itself (that is the driver's, through its ops).
 */
#include <xenolith/lib.h>
#include <xen/errno.h>
#include <xlguest/netdev.h>

#define NETDEV_MAX 8

static struct netdev *devs[NETDEV_MAX];
static unsigned int nr_devs;

int netdev_register(struct netdev *d)
{
    if (nr_devs == NETDEV_MAX || !d || !d->ops || !d->ops->tx || !d->ops->poll)
        return -XEN_ENOSPC;
    devs[nr_devs++] = d;
    return 0;
}

struct netdev *netdev_get(unsigned int index)
{
    return index < nr_devs ? devs[index] : NULL;
}

struct netdev *netdev_find(const char *name)
{
    size_t n = strlen(name);    /* memcmp, not strcmp: the pure files' lib */
    for (unsigned int i = 0; i < nr_devs; i++)
        if (n < sizeof(devs[i]->info.name) && !memcmp(devs[i]->info.name, name, n + 1))
            return devs[i];
    return NULL;
}

void netdev_set_rx(struct netdev *d, netdev_rx_fn fn, void *opaque)
{
    d->rx = fn;
    d->rx_opaque = opaque;
}

int netdev_tx(struct netdev *d, struct netdev_tx *t)
{
    uint32_t total = 0;
    if (!d || !t || !t->done || !t->nr_segs || t->nr_segs > NETDEV_MAX_SEGS)
        return -XEN_EINVAL;
    for (uint32_t i = 0; i < t->nr_segs; i++) {
        const struct netdev_seg *s = &t->seg[i];
        if (!s->len || (s->maddr & 4095) + s->len > 4096)
            return -XEN_EINVAL;
        total += s->len;
    }
    if (total < NETDEV_MIN_FRAME || total > NETDEV_MAX_FRAME)
        return -XEN_EINVAL;
    return d->ops->tx(d, t);
}

int netdev_poll(void)
{
    int n = 0;
    for (unsigned int i = 0; i < nr_devs; i++)
        n += devs[i]->ops->poll(devs[i]);
    return n;
}
