/*
 * blkdev.c - the registry of dom0's block devices (xlguest/blkdev.h):
 * drivers register what they found at boot, back ends look them up by
 * index or name, and blkdev_poll reaps every device in turn.
 * Must never: touch a device itself (that is the driver's, through its ops).
 */
#include <xenolith/lib.h>
#include <xen/errno.h>
#include <xlguest/blkdev.h>

#define BLKDEV_MAX 8

static struct blkdev *devs[BLKDEV_MAX];
static unsigned int nr_devs;

int blkdev_register(struct blkdev *d)
{
    if (nr_devs == BLKDEV_MAX || !d || !d->ops || !d->ops->submit || !d->ops->poll)
        return -XEN_ENOSPC;
    devs[nr_devs++] = d;
    return 0;
}

struct blkdev *blkdev_get(unsigned int index)
{
    return index < nr_devs ? devs[index] : NULL;
}

struct blkdev *blkdev_find(const char *name)
{
    for (unsigned int i = 0; i < nr_devs; i++)
        if (!strcmp(devs[i]->info.name, name))
            return devs[i];
    return NULL;
}

const struct blkdev_info *blkdev_info(const struct blkdev *d)
{
    return &d->info;
}

int blkdev_submit(struct blkdev *d, struct blkdev_req *r)
{
    if (!d || !r || r->nr_segs > BLKDEV_MAX_SEGS)
        return -XEN_EINVAL;
    if (r->op == BLKDEV_FLUSH) {
        if (r->nr_segs)
            return -XEN_EINVAL;
        if (!d->info.has_flush)
            return -XEN_EOPNOTSUPP;
    } else if (r->op == BLKDEV_READ || r->op == BLKDEV_WRITE) {
        uint64_t bytes = 0;
        if (!r->nr_segs)
            return -XEN_EINVAL;
        for (uint32_t i = 0; i < r->nr_segs; i++) {
            const struct blkdev_seg *s = &r->seg[i];
            if (!s->len || s->len % BLKDEV_SECTOR || (s->maddr & 511) ||
                (s->maddr & 4095) + s->len > 4096)
                return -XEN_EINVAL;
            bytes += s->len;
        }
        uint64_t n = bytes / BLKDEV_SECTOR, lb = d->info.lblock_size / BLKDEV_SECTOR;
        if (n > d->info.nr_sectors || r->sector > d->info.nr_sectors - n)
            return -XEN_EINVAL;
        if (lb > 1 && (r->sector % lb || n % lb))
            return -XEN_EINVAL;
        if (r->op == BLKDEV_WRITE && d->info.read_only)
            return -XEN_EROFS;
    } else {
        return -XEN_EINVAL;
    }
    return d->ops->submit(d, r);
}

int blkdev_poll(void)
{
    int n = 0;
    for (unsigned int i = 0; i < nr_devs; i++)
        n += devs[i]->ops->poll(devs[i]);
    return n;
}
