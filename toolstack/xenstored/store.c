/*
 * store.c - the xenstore tree: nodes keyed by canonical path in a hash
 * table, Xen's path rules and permission model, per-domain node quotas,
 * and transactions (an overlay of touched nodes with the generation each
 * had; commit fails with EAGAIN if any of them changed meanwhile, as in
 * Xen's C xenstored); the per-domain limits (node count, node size,
 * memory) checked on each request and again at commit; the cleanup of
 * a domain that is gone.
 * Owns: every node and transaction in the arena, and what each domain is
 * charged for.
 * Must never: change a node in place, trust a length or string from a
 * request without bounds, or leave a parent's children list disagreeing
 * with the nodes that exist (an error part-way, e.g. ENOMEM while creating
 * ancestors, leaves only complete, linked nodes behind).
 */
#include "xs_internal.h"

/* ---- small string helpers (freestanding) ---- */

static size_t xs_strnlen(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

static int has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

static uint32_t hash_path(const char *p)
{
    uint32_t h = 2166136261u;
    while (*p)
        h = (h ^ (uint8_t)*p++) * 16777619u;
    return h;
}

int xs_reply_str(struct xs_store *s, const char *str)
{
    size_t n = strlen(str) + 1;
    if (s->rlen + n > XENSTORE_PAYLOAD_MAX)
        return -XL_E2BIG;
    memcpy(s->rbuf + s->rlen, str, n);
    s->rlen += (uint32_t)n;
    return 0;
}

static int reply_bytes(struct xs_store *s, const void *p, size_t n)
{
    if (s->rlen + n > XENSTORE_PAYLOAD_MAX)
        return -XL_E2BIG;
    memcpy(s->rbuf + s->rlen, p, n);
    s->rlen += (uint32_t)n;
    return 0;
}

/* ---- paths ---- */

static int valid_chars(const char *p)
{
    for (; *p; p++) {
        char ch = *p;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '-' || ch == '/' ||
              ch == '_' || ch == '@'))
            return 0;
    }
    return 1;
}

/* Length of a "/local/domain/N/" prefix of p, or 0. */
static size_t local_prefix_len(const char *p)
{
    size_t i = strlen(XS_LOCAL_PREFIX), digits = 0;
    if (!has_prefix(p, XS_LOCAL_PREFIX))
        return 0;
    while (p[i] >= '0' && p[i] <= '9' && digits < 5)
        i++, digits++;
    if (!digits || p[i] != '/')
        return 0;
    return i + 1;
}

/* Canonical form of a request's path: absolute paths as given, relative
 * ones under /local/domain/<caller>/, "@..." only if allow_special. The
 * rules are Xen's: '/'-rooted, no "//", no trailing '/' except "/",
 * characters [A-Za-z0-9-/_@], at most XENSTORE_ABS_PATH_MAX bytes and
 * XENSTORE_REL_PATH_MAX below a /local/domain/N/ prefix. */
int xs_canonical(const struct xs_conn *c, const char *in, char *out, int allow_special)
{
    size_t inlen = xs_strnlen(in, XS_PATH_BUF), n, len;

    if (inlen >= XS_PATH_BUF)
        return -XL_EINVAL;
    if (in[0] == '/' || (in[0] == '@' && allow_special)) {
        memcpy(out, in, inlen + 1);
    } else if (in[0] == '@') {
        return -XL_EINVAL;
    } else {
        n = (size_t)xl_snprintf(out, XS_PATH_BUF, XS_LOCAL_PREFIX "%u/", c->domid);
        if (n + inlen >= XS_PATH_BUF)
            return -XL_EINVAL;
        memcpy(out + n, in, inlen + 1);
    }
    len = strlen(out);
    if (out[0] == '@')
        return len > 1 && len <= XENSTORE_REL_PATH_MAX && valid_chars(out) ? 0 : -XL_EINVAL;
    if (len > XENSTORE_ABS_PATH_MAX)
        return -XL_EINVAL;
    if (len > 1 && out[len - 1] == '/')
        return -XL_EINVAL;
    for (size_t i = 0; i + 1 < len; i++)
        if (out[i] == '/' && out[i + 1] == '/')
            return -XL_EINVAL;
    /* the quota Xen applies to unprivileged domains only */
    if (!c->privileged && len - local_prefix_len(out) > XENSTORE_REL_PATH_MAX)
        return -XL_EINVAL;
    return valid_chars(out) ? 0 : -XL_EINVAL;
}

/* Parent of path into out ("/" for "/x"); returns the basename offset. */
static size_t parent_of(const char *path, char *out)
{
    size_t len = strlen(path), i = len;
    while (i > 0 && path[i - 1] != '/')
        i--;
    /* path[i-1] == '/' */
    if (i <= 1) {
        out[0] = '/', out[1] = 0;
    } else {
        memcpy(out, path, i - 1);
        out[i - 1] = 0;
    }
    return i;
}

/* ---- permissions ---- */

/* Xen's rule: dom0 and the owner (perms[0].id) may do everything; a domain
 * listed in perms[1..] gets its entry; everyone else gets perms[0].perm. */
unsigned int xs_perm_for(const struct xs_conn *c, const struct xs_perm *p, unsigned int n)
{
    if (c->privileged || p[0].id == c->domid)
        return XSL_PERM_BOTH;
    for (unsigned int i = 1; i < n; i++)
        if (p[i].id == c->domid)
            return p[i].perm;
    return p[0].perm;
}

static unsigned int node_perm(const struct xs_conn *c, const struct xs_node *n)
{
    return xs_perm_for(c, n->perms, n->nperms);
}

/* ---- accounting ---- */

static struct xs_acct *acct(struct xs_store *s, uint16_t domid, int create)
{
    struct xs_acct *a;
    for (a = s->accts; a; a = a->next)
        if (a->domid == domid)
            return a;
    if (!create || !(a = xs_alloc_tagged(&s->arena, sizeof(*a), XS_TAG_SYS)))
        return NULL;
    a->domid = domid;
    a->nodes = 0;
    a->mem = 0;
    a->next = s->accts;
    s->accts = a;
    return a;
}

void *xs_mem_alloc(struct xs_store *s, size_t n, uint32_t tag, int check)
{
    size_t cost = xs_alloc_cost(n);
    struct xs_acct *a = NULL;
    void *p;

    if (tag != XS_TAG_SYS && tag != 0) {
        if (!(a = acct(s, (uint16_t)tag, 1)))
            return NULL;
        if ((check == XS_CHECK_ALWAYS || (check == XS_CHECK && !s->exempt)) &&
            (a->mem + cost > s->q.memory || s->arena.used + cost + s->q.reserve > s->arena.size))
            return NULL;
    }
    if (!(p = xs_alloc_tagged(&s->arena, n, tag)))
        return NULL;
    if (a)
        a->mem += xs_block_size(&s->arena, p);
    return p;
}

static void mem_charge(struct xs_store *s, uint32_t tag, size_t size, int add)
{
    struct xs_acct *a;
    if (tag == XS_TAG_SYS || tag == 0 || !(a = acct(s, (uint16_t)tag, 0)))
        return;
    if (add)
        a->mem += size;
    else
        a->mem -= size <= a->mem ? size : a->mem;
}

void xs_mem_free(struct xs_store *s, void *p)
{
    size_t size = xs_block_size(&s->arena, p);
    if (!size)
        return;
    mem_charge(s, xs_block_tag(&s->arena, p), size, 0);
    xs_free(&s->arena, p);
}

void xs_mem_retag(struct xs_store *s, void *p, uint32_t tag)
{
    size_t size = xs_block_size(&s->arena, p);
    uint32_t old = xs_block_tag(&s->arena, p);
    if (!size || old == tag)
        return;
    mem_charge(s, old, size, 0);
    if (tag != XS_TAG_SYS && tag != 0)
        acct(s, (uint16_t)tag, 1);  /* a record to charge; none: uncounted */
    mem_charge(s, tag, size, 1);
    xs_block_set_tag(&s->arena, p, tag);
}

size_t xs_domain_memory(const struct xs_store *s, uint16_t domid)
{
    for (const struct xs_acct *a = s->accts; a; a = a->next)
        if (a->domid == domid)
            return a->mem;
    return 0;
}

unsigned int xs_owned_nodes(const struct xs_store *s, uint16_t domid)
{
    for (const struct xs_acct *a = s->accts; a; a = a->next)
        if (a->domid == domid)
            return a->nodes;
    return 0;
}

/* ---- nodes ---- */

/* A node for the committed tree is charged to its owner; one in a
 * transaction to the transaction's domain until it commits. */
static uint32_t node_tag(const struct xs_tx *tx, const struct xs_perm *perms)
{
    return tx ? tx->tag : perms[0].id;
}

static struct xs_node *node_new(struct xs_store *s, struct xs_tx *tx, const char *path,
                                const struct xs_perm *perms, unsigned int nperms,
                                const char *val, uint32_t vlen,
                                const char *kids, uint32_t clen, int check)
{
    size_t plen = strlen(path);
    struct xs_node *n = xs_mem_alloc(s, sizeof(*n) + nperms * sizeof(*perms) + plen + 1 +
                                     vlen + clen, node_tag(tx, perms), check);
    if (!n)
        return NULL;
    n->hnext = NULL;
    n->gen = 0;
    n->hash = hash_path(path);
    n->nperms = (uint16_t)nperms;
    n->plen = (uint16_t)plen;
    n->vlen = vlen;
    n->clen = clen;
    memcpy(n->perms, perms, nperms * sizeof(*perms));
    memcpy(xs_node_path(n), path, plen + 1);
    if (vlen)
        memcpy(xs_node_val(n), val, vlen);
    if (clen && kids)           /* kids NULL: the caller fills them */
        memcpy(xs_node_kids(n), kids, clen);
    return n;
}

static struct xs_node **main_slot(struct xs_store *s, const char *path)
{
    uint32_t h = hash_path(path);
    struct xs_node **pp = &s->buckets[h % XS_HASH_BUCKETS];
    for (; *pp; pp = &(*pp)->hnext)
        if ((*pp)->hash == h && strcmp(xs_node_path(*pp), path) == 0)
            break;
    return pp;
}

static struct xs_node *main_get(struct xs_store *s, const char *path)
{
    return *main_slot(s, path);
}

static void charge(struct xs_store *s, const struct xs_node *n, int delta)
{
    struct xs_acct *a = acct(s, n->perms[0].id, delta > 0);
    if (!a)
        return;     /* no memory for a record: the count is best effort */
    if (delta > 0)
        a->nodes++;
    else if (a->nodes)
        a->nodes--;
}

/* Put n in the committed tree in place of the node with its path; from
 * now on its owner is charged for it. */
static void main_put(struct xs_store *s, struct xs_node *n)
{
    struct xs_node **pp = main_slot(s, xs_node_path(n)), *old = *pp;
    n->gen = ++s->gen;
    xs_mem_retag(s, n, n->perms[0].id);
    if (old) {
        n->hnext = old->hnext;
        charge(s, old, -1);
        xs_mem_free(s, old);
    } else {
        n->hnext = NULL;
        s->nnodes++;
    }
    *pp = n;
    charge(s, n, +1);
}

static void main_del(struct xs_store *s, const char *path)
{
    struct xs_node **pp = main_slot(s, path), *old = *pp;
    if (!old)
        return;
    *pp = old->hnext;
    s->nnodes--;
    s->gen++;
    charge(s, old, -1);
    xs_mem_free(s, old);
}

/* ---- the view of a connection: committed tree or transaction ---- */

/* O(1) on average whatever the transaction's size: XS_TX_BUCKETS chains
 * of at most tx_nodes entries in all. */
static struct xs_txent *tx_ent(struct xs_tx *tx, const char *path)
{
    uint32_t h = hash_path(path);
    for (struct xs_txent *e = tx->hash[h % XS_TX_BUCKETS]; e; e = e->hnext)
        if (e->hash == h && strcmp(e->path, path) == 0)
            return e;
    return NULL;
}

/* n bytes (16-aligned) from the transaction's chunks, charged to it. */
static void *tx_carve(struct xs_store *s, struct xs_tx *tx, size_t n)
{
    struct xs_txchunk *k = tx->chunks;
    void *p;

    n = ROUNDUP(n, 16);
    if (!k || k->used + n > k->cap) {
        size_t cap = n > XS_TX_CHUNK ? n : XS_TX_CHUNK;
        if (!(k = xs_mem_alloc(s, sizeof(*k) + cap, tx->tag, XS_CHECK)))
            return NULL;
        k->used = 0;
        k->cap = (uint32_t)cap;
        k->next = tx->chunks;
        tx->chunks = k;
    }
    p = k->data + k->used;
    k->used += (uint32_t)n;
    return p;
}

static int tx_touch(struct xs_store *s, struct xs_tx *tx, const char *path,
                    struct xs_txent **out)
{
    struct xs_txent *e = tx_ent(tx, path);
    struct xs_node *m;
    size_t len;

    if (!e) {
        if (tx->tag != 0 && tx->nents >= s->q.tx_nodes)
            return -XL_ENOSPC;      /* Xen: for unprivileged domains */
        len = strlen(path);
        if (!(e = tx_carve(s, tx, sizeof(*e) + len + 1)))
            return -XL_ENOMEM;
        memcpy(e->path, path, len + 1);
        m = main_get(s, path);
        e->gen_seen = m ? m->gen : 0;
        e->node = NULL;
        e->ev = NULL;
        e->modified = 0;
        e->hash = hash_path(path);
        e->hnext = tx->hash[e->hash % XS_TX_BUCKETS];
        tx->hash[e->hash % XS_TX_BUCKETS] = e;
        e->next = tx->ents;
        tx->ents = e;
        tx->nents++;
    }
    *out = e;
    return 0;
}

static int get(struct xs_store *s, struct xs_tx *tx, const char *path,
               const struct xs_node **out)
{
    struct xs_txent *e;
    int rc;

    if (!tx) {
        *out = main_get(s, path);
        return 0;
    }
    if ((rc = tx_touch(s, tx, path, &e)))
        return rc;
    *out = e->modified ? e->node : main_get(s, path);
    return 0;
}

/* Consumes n. */
static int put(struct xs_store *s, struct xs_tx *tx, struct xs_node *n)
{
    struct xs_txent *e;
    int rc;

    if (!tx) {
        main_put(s, n);
        return 0;
    }
    if ((rc = tx_touch(s, tx, xs_node_path(n), &e))) {
        xs_mem_free(s, n);
        return rc;
    }
    if (e->modified && e->node)
        xs_mem_free(s, e->node);
    e->node = n;
    e->modified = 1;
    return 0;
}

static int del(struct xs_store *s, struct xs_tx *tx, const char *path)
{
    struct xs_txent *e;
    int rc;

    if (!tx) {
        main_del(s, path);
        return 0;
    }
    if ((rc = tx_touch(s, tx, path, &e)))
        return rc;
    if (e->modified && e->node)
        xs_mem_free(s, e->node);
    e->node = NULL;
    e->modified = 1;
    return 0;
}

/* Event for path: fired now, or queued in the transaction, where a path
 * has one event (its latest perms; recursive if any change was an rm). */
static int fire(struct xs_store *s, struct xs_tx *tx, const char *path,
                const struct xs_perm *perms, unsigned int nperms, int recursive)
{
    struct xs_txent *e;
    struct xs_event *ev;
    int rc;

    if (!tx) {
        xs_watch_fire(s, path, perms, nperms, recursive);
        return 0;
    }
    if ((rc = tx_touch(s, tx, path, &e)))
        return rc;
    ev = e->ev;
    if (ev && ev->cap >= nperms) {
        ev->recursive |= (uint8_t)recursive;
    } else {
        unsigned int cap = nperms > s->q.perms ? nperms : s->q.perms;
        if (!(ev = xs_mem_alloc(s, sizeof(*ev) + cap * sizeof(*perms), tx->tag, XS_CHECK)))
            return -XL_ENOMEM;
        ev->next = NULL;
        ev->cap = (uint16_t)cap;
        ev->dead = 0;
        ev->recursive = (uint8_t)recursive;
        ev->path = e->path;
        if (e->ev) {
            e->ev->dead = 1;
            ev->recursive |= e->ev->recursive;
        }
        e->ev = ev;
        *tx->evs_tail = ev;
        tx->evs_tail = &ev->next;
    }
    ev->nperms = (uint16_t)nperms;
    memcpy(ev->perms, perms, nperms * sizeof(*perms));
    return 0;
}

/* The error for a path that does not exist: EACCES if the caller may not
 * read the nearest existing ancestor (do not leak what exists), else
 * ENOENT. */
/* The error for an absent path (Xen's errno_from_parents): ENOENT if the
 * caller holds perm on the nearest existing ancestor, else EACCES, so a
 * node's absence says nothing to whoever may not see the directory. */
static int missing_perm(struct xs_store *s, struct xs_conn *c, struct xs_tx *tx,
                        const char *path, unsigned int perm)
{
    char *p = s->pbuf2;
    const struct xs_node *n = NULL;
    int rc;

    memcpy(p, path, strlen(path) + 1);
    while (!n) {
        parent_of(p, p);
        if ((rc = get(s, tx, p, &n)))
            return rc;
        if (!n && strcmp(p, "/") == 0)
            return -XL_ENOENT;
    }
    return node_perm(c, n) & perm ? -XL_ENOENT : -XL_EACCES;
}

static int missing(struct xs_store *s, struct xs_conn *c, struct xs_tx *tx, const char *path)
{
    return missing_perm(s, c, tx, path, XSL_PERM_READ);
}

static int lookup(struct xs_store *s, struct xs_conn *c, struct xs_tx *tx,
                  const char *path, unsigned int need, const struct xs_node **out)
{
    int rc;
    if ((rc = xs_canonical(c, path, s->pbuf, 0)))
        return rc;
    if ((rc = get(s, tx, s->pbuf, out)))
        return rc;
    if (!*out)
        return missing(s, c, tx, s->pbuf);
    if ((node_perm(c, *out) & need) != need)
        return -XL_EACCES;
    return 0;
}

/* ---- operations ---- */

int xs_op_read(struct xs_store *s, struct xs_conn *c, struct xs_tx *tx, const char *path)
{
    const struct xs_node *n;
    int rc = lookup(s, c, tx, path, XSL_PERM_READ, &n);
    return rc ? rc : reply_bytes(s, xs_node_val(n), n->vlen);
}

int xs_op_directory(struct xs_store *s, struct xs_conn *c, struct xs_tx *tx, const char *path)
{
    const struct xs_node *n;
    int rc = lookup(s, c, tx, path, XSL_PERM_READ, &n);
    return rc ? rc : reply_bytes(s, xs_node_kids(n), n->clen);
}

/* Reply: "<gen>\0" then whole child names from byte offset on, as many as
 * fit, then an empty string when the list is complete. */
int xs_op_directory_part(struct xs_store *s, struct xs_conn *c, struct xs_tx *tx,
                         const char *path, const char *offset)
{
    const struct xs_node *n;
    char num[24];
    uint64_t off = 0;
    const char *k;
    int rc = lookup(s, c, tx, path, XSL_PERM_READ, &n);

    if (rc)
        return rc;
    if (!*offset)
        return -XL_EINVAL;
    for (const char *d = offset; *d; d++) {
        if (*d < '0' || *d > '9' || off > 0xffffffffu)
            return -XL_EINVAL;
        off = off * 10 + (uint64_t)(*d - '0');
    }
    if (off > n->clen)
        return -XL_EINVAL;
    k = xs_node_kids(n);
    if (off && k[off - 1] != 0)
        return -XL_EINVAL;      /* not at a name boundary */
    xl_snprintf(num, sizeof(num), "%llu", (unsigned long long)n->gen);
    if ((rc = xs_reply_str(s, num)))
        return rc;
    while (off < n->clen) {
        size_t l = strlen(k + off) + 1;
        if (s->rlen + l + 1 > XENSTORE_PAYLOAD_MAX)
            return 0;           /* more to come: no terminating "" */
        reply_bytes(s, k + off, l);
        off += l;
    }
    return xs_reply_str(s, "");
}

int xs_op_get_perms(struct xs_store *s, struct xs_conn *c, struct xs_tx *tx, const char *path)
{
    static const char letters[] = "nrwb";
    const struct xs_node *n;
    char buf[16];
    int rc = lookup(s, c, tx, path, XSL_PERM_READ, &n);

    for (unsigned int i = 0; !rc && i < n->nperms; i++) {
        xl_snprintf(buf, sizeof(buf), "%c%u", letters[n->perms[i].perm & 3], n->perms[i].id);
        rc = xs_reply_str(s, buf);
    }
    return rc;
}

/* Xen's node-size quota (ENOSPC), for every caller but dom0: perms
 * counted at Xen's 8 bytes each, plus value, plus children list. */
static int entry_ok(const struct xs_store *s, const struct xs_conn *c, unsigned int nperms,
                    uint32_t vlen, uint32_t clen)
{
    return c->privileged || (uint64_t)nperms * XS_XEN_PERM_SIZE + vlen + clen <= s->q.entry_size;
}

/* New node like n but with other value / perms / children. */
static struct xs_node *node_edit(struct xs_store *s, struct xs_tx *tx, const struct xs_node *n,
                                 const struct xs_perm *perms, unsigned int nperms,
                                 const char *val, uint32_t vlen)
{
    return node_new(s, tx, xs_node_path(n),
                    perms ? perms : n->perms, perms ? nperms : n->nperms,
                    val ? val : xs_node_val(n), val ? vlen : n->vlen,
                    xs_node_kids(n), n->clen, 1);
}

/* Parent node with child name added (add, for c: quotas apply) or
 * removed (c NULL: a smaller node, never refused for quota). */
static int parent_update(struct xs_store *s, const struct xs_conn *c, struct xs_tx *tx,
                         const char *path, int add)
{
    char *pp = s->pbuf2;
    size_t base = parent_of(path, pp), blen = strlen(path + base) + 1;
    const struct xs_node *p;
    struct xs_node *np;
    const char *k;
    int rc;

    if ((rc = get(s, tx, pp, &p)))
        return rc;
    if (!p)
        return -XL_ENOENT;
    k = xs_node_kids(p);
    if (add) {
        if (!entry_ok(s, c, p->nperms, p->vlen, p->clen + (uint32_t)blen))
            return -XL_ENOSPC;
        if (!(np = node_new(s, tx, pp, p->perms, p->nperms, xs_node_val(p), p->vlen,
                            NULL, p->clen + (uint32_t)blen, 1)))
            return -XL_ENOMEM;
        memcpy(xs_node_kids(np), k, p->clen);
        memcpy(xs_node_kids(np) + p->clen, path + base, blen);
    } else {
        uint32_t off = 0;
        while (off < p->clen && strcmp(k + off, path + base) != 0)
            off += (uint32_t)strlen(k + off) + 1;
        if (off >= p->clen)
            return 0;
        if (!(np = node_new(s, tx, pp, p->perms, p->nperms, xs_node_val(p), p->vlen,
                            NULL, p->clen - (uint32_t)blen, tx != NULL)))
            return -XL_ENOMEM;
        memcpy(xs_node_kids(np), k, off);
        memcpy(xs_node_kids(np) + off, k + off + blen, p->clen - off - blen);
    }
    return put(s, tx, np);
}

/* Create the canonical path s->pbuf (absent) and its missing ancestors,
 * each inheriting its parent's perms; an unprivileged creator owns them. */
static int create(struct xs_store *s, struct xs_conn *c, struct xs_tx *tx,
                  const char *val, uint32_t vlen)
{
    char *path = s->pbuf, *anc = s->pbuf2;
    const struct xs_node *a = NULL, *parent;
    struct xs_perm perms[XS_PERMS_HARD_MAX];
    unsigned int missing_n = 0;
    size_t len = strlen(path), i;
    struct xs_acct *ac;
    int rc;

    /* nearest existing ancestor, and how many nodes are missing */
    memcpy(anc, path, len + 1);
    while (!a) {
        missing_n++;
        parent_of(anc, anc);
        if ((rc = get(s, tx, anc, &a)))
            return rc;
    }
    if (!(node_perm(c, a) & XSL_PERM_WRITE))
        return -XL_EACCES;
    if (!c->privileged) {
        ac = acct(s, c->domid, 0);
        if ((long)(ac ? ac->nodes : 0) + (tx ? tx->created : 0) + (long)missing_n >
            (long)s->q.nodes)
            return -XL_ENOSPC;
    }
    /* create top-down: cut path at each missing component in turn */
    i = strlen(anc) == 1 ? 0 : strlen(anc);
    while (missing_n--) {
        struct xs_node *n;
        char saved;
        i++;
        while (path[i] && path[i] != '/')
            i++;
        saved = path[i];
        path[i] = 0;
        /* parent of path[0..i) is the node created last (or a) */
        parent_of(path, anc);
        if ((rc = get(s, tx, anc, &parent)) || !parent) {
            path[i] = saved;
            return rc ? rc : -XL_ENOENT;
        }
        memcpy(perms, parent->perms, parent->nperms * sizeof(perms[0]));
        if (!c->privileged)
            perms[0].id = c->domid;
        if (!entry_ok(s, c, parent->nperms, missing_n ? 0 : vlen, 0)) {
            path[i] = saved;
            return -XL_ENOSPC;
        }
        n = node_new(s, tx, path, perms, parent->nperms,
                     missing_n ? "" : val, missing_n ? 0 : vlen, "", 0, 1);
        if (!n) {
            path[i] = saved;
            return -XL_ENOMEM;
        }
        if ((rc = parent_update(s, c, tx, path, 1))) {
            xs_mem_free(s, n);
            path[i] = saved;
            return rc;
        }
        if ((rc = put(s, tx, n))) {     /* put consumed n */
            path[i] = saved;
            return rc;
        }
        if (tx && !c->privileged)
            tx->created++;
        path[i] = saved;
    }
    return 0;
}

int xs_op_write(struct xs_store *s, struct xs_conn *c, struct xs_tx *tx, const char *path,
                const char *val, uint32_t vlen)
{
    const struct xs_node *n;
    struct xs_node *nn;
    int rc;

    if ((rc = xs_canonical(c, path, s->pbuf, 0)))
        return rc;
    if ((rc = get(s, tx, s->pbuf, &n)))
        return rc;
    if (n) {
        if (!(node_perm(c, n) & XSL_PERM_WRITE))
            return -XL_EACCES;
        if (!entry_ok(s, c, n->nperms, vlen, n->clen))
            return -XL_ENOSPC;
        if (!(nn = node_edit(s, tx, n, NULL, 0, val, vlen)))
            return -XL_ENOMEM;
        if ((rc = put(s, tx, nn)))
            return rc;
    } else if ((rc = create(s, c, tx, val, vlen))) {
        return rc;
    }
    if ((rc = get(s, tx, s->pbuf, &n)) || !n)
        return rc ? rc : -XL_ENOENT;
    rc = fire(s, tx, s->pbuf, n->perms, n->nperms, 0);
    return rc ? rc : xs_reply_str(s, "OK");
}

int xs_op_mkdir(struct xs_store *s, struct xs_conn *c, struct xs_tx *tx, const char *path)
{
    const struct xs_node *n;
    int rc;

    if ((rc = xs_canonical(c, path, s->pbuf, 0)))
        return rc;
    if ((rc = get(s, tx, s->pbuf, &n)))
        return rc;
    if (!n) {
        if ((rc = create(s, c, tx, "", 0)))
            return rc;
        if ((rc = get(s, tx, s->pbuf, &n)) || !n)
            return rc ? rc : -XL_ENOENT;
        if ((rc = fire(s, tx, s->pbuf, n->perms, n->nperms, 0)))
            return rc;
    } else if (!(node_perm(c, n) & XSL_PERM_WRITE)) {
        return -XL_EACCES;
    }
    return xs_reply_str(s, "OK");
}

/* Delete the subtree at path (canonical, in s->pbuf) without recursion:
 * walk down to a leaf, delete it, unlink it from its parent, repeat. In a
 * transaction, c's own nodes deleted count down its quota use. */
static int delete_tree(struct xs_store *s, const struct xs_conn *c, struct xs_tx *tx,
                       size_t toplen)
{
    char *p = s->pbuf;
    const struct xs_node *n;
    int rc;

    for (;;) {
        if ((rc = get(s, tx, p, &n)))
            return rc;
        if (n && n->clen) {
            size_t l = strlen(p), kl = strlen(xs_node_kids(n));
            if (l + 1 + kl >= XS_PATH_BUF)
                return -XL_EINVAL;  /* cannot happen: paths were checked */
            if (!(l == 1))
                p[l++] = '/';
            memcpy(p + l, xs_node_kids(n), kl + 1);
            continue;
        }
        if (tx && n && !c->privileged && n->perms[0].id == c->domid)
            tx->created--;
        if ((rc = del(s, tx, p)) || (rc = parent_update(s, NULL, tx, p, 0)))
            return rc;
        if (strlen(p) <= toplen)
            return 0;
        parent_of(p, s->pbuf2);
        memcpy(p, s->pbuf2, strlen(s->pbuf2) + 1);
    }
}

int xs_op_rm(struct xs_store *s, struct xs_conn *c, struct xs_tx *tx, const char *path)
{
    struct xs_perm perms[XS_PERMS_HARD_MAX];
    const struct xs_node *n;
    unsigned int np;
    size_t len;
    int rc;

    if ((rc = xs_canonical(c, path, s->pbuf, 0)))
        return rc;
    if (strcmp(s->pbuf, "/") == 0)
        return -XL_EINVAL;
    if ((rc = get(s, tx, s->pbuf, &n)))
        return rc;
    if (!n) {
        /* Gone already: fine if the parent exists and the caller may
         * write it (Xen); else the error an absent path gets for a
         * writer, which tells a stranger nothing about what exists. */
        rc = missing_perm(s, c, tx, s->pbuf, XSL_PERM_WRITE);
        parent_of(s->pbuf, s->pbuf2);
        if (rc == -XL_ENOENT && !get(s, tx, s->pbuf2, &n) && n)
            return xs_reply_str(s, "OK");
        return rc;
    }
    if (!(node_perm(c, n) & XSL_PERM_WRITE))
        return -XL_EACCES;
    np = n->nperms;
    memcpy(perms, n->perms, np * sizeof(perms[0]));
    len = strlen(s->pbuf);
    if ((rc = delete_tree(s, c, tx, len)))
        return rc;
    rc = fire(s, tx, s->pbuf, perms, np, 1);
    return rc ? rc : xs_reply_str(s, "OK");
}

/* "r5" style entries: letter n/r/w/b, then a decimal domid. */
static int parse_perm(const char *e, struct xs_perm *p)
{
    static const char letters[] = "nrwb";
    unsigned int v = 0, i;

    for (i = 0; i < 4 && letters[i] != e[0]; i++)
        ;
    if (!e[0] || i == 4 || !e[1])
        return -XL_EINVAL;
    for (const char *d = e + 1; *d; d++) {
        if (*d < '0' || *d > '9')
            return -XL_EINVAL;
        v = v * 10 + (unsigned int)(*d - '0');
        if (v > 0xffff)
            return -XL_EINVAL;
    }
    p->id = (uint16_t)v;
    p->perm = (uint8_t)i;
    p->pad = 0;
    return 0;
}

int xs_op_set_perms(struct xs_store *s, struct xs_conn *c, struct xs_tx *tx, const char *path,
                    const char *list, uint32_t len)
{
    struct xs_perm perms[XS_PERMS_HARD_MAX];
    unsigned int np = 0, max = c->privileged ? XS_PERMS_HARD_MAX : s->q.perms;
    const struct xs_node *n;
    struct xs_node *nn;
    uint32_t off = 0;
    int rc;

    /* list: entries each ending in NUL, at least one */
    if (!len || list[len - 1] != 0)
        return -XL_EINVAL;
    while (off < len) {
        if (np >= max)
            return -XL_ENOSPC;
        if ((rc = parse_perm(list + off, &perms[np++])))
            return rc;
        off += (uint32_t)strlen(list + off) + 1;
    }
    if ((rc = lookup(s, c, tx, path, XSL_PERM_WRITE, &n)))
        return rc;
    if (!c->privileged && n->perms[0].id != c->domid)
        return -XL_EACCES;      /* as Xen 4.17: the owner's (or dom0's) call */
    if (!c->privileged && perms[0].id != n->perms[0].id)
        return -XL_EPERM;       /* only dom0 gives nodes away */
    if (!entry_ok(s, c, np, n->vlen, n->clen))
        return -XL_ENOSPC;
    if (!(nn = node_edit(s, tx, n, perms, np, NULL, 0)))
        return -XL_ENOMEM;
    if ((rc = put(s, tx, nn)))
        return rc;
    rc = fire(s, tx, s->pbuf, perms, np, 0);
    return rc ? rc : xs_reply_str(s, "OK");
}

/* ---- transactions ---- */

struct xs_tx *xs_tx_find(struct xs_conn *c, uint32_t id)
{
    for (struct xs_tx *t = c->txs; t; t = t->next)
        if (t->id == id)
            return t;
    return NULL;
}

int xs_tx_start(struct xs_store *s, struct xs_conn *c)
{
    struct xs_tx *t;
    char buf[16];

    if (!c->privileged && c->ntx >= s->q.transactions)
        return -XL_ENOSPC;
    if (!(t = xs_mem_alloc(s, sizeof(*t), c->domid, XS_CHECK)))
        return -XL_ENOMEM;
    memset(t, 0, sizeof(*t));
    t->tag = c->domid;
    do {
        t->id = c->next_txid++;
    } while (t->id == 0 || xs_tx_find(c, t->id));
    t->evs_tail = &t->evs;
    t->next = c->txs;
    c->txs = t;
    c->ntx++;
    xl_snprintf(buf, sizeof(buf), "%u", t->id);
    return xs_reply_str(s, buf);
}

void xs_tx_free(struct xs_store *s, struct xs_conn *c, struct xs_tx *tx)
{
    struct xs_tx **pp;

    for (pp = &c->txs; *pp && *pp != tx; pp = &(*pp)->next)
        ;
    if (*pp) {
        *pp = tx->next;
        c->ntx--;
    }
    while (tx->ents) {
        struct xs_txent *e = tx->ents;
        tx->ents = e->next;
        if (e->modified && e->node)
            xs_mem_free(s, e->node);
    }
    while (tx->chunks) {
        struct xs_txchunk *k = tx->chunks;
        tx->chunks = k->next;
        xs_mem_free(s, k);
    }
    while (tx->evs) {
        struct xs_event *ev = tx->evs;
        tx->evs = ev->next;
        xs_mem_free(s, ev);
    }
    xs_mem_free(s, tx);
}

/* How c's own node count changes if tx commits now (every entry's
 * committed node is the one it saw). */
static long tx_owned_delta(struct xs_store *s, const struct xs_conn *c, struct xs_tx *tx)
{
    long d = 0;
    for (struct xs_txent *e = tx->ents; e; e = e->next) {
        const struct xs_node *m;
        if (!e->modified)
            continue;
        m = main_get(s, e->path);
        d += (e->node && e->node->perms[0].id == c->domid) - (m && m->perms[0].id == c->domid);
    }
    return d;
}

int xs_tx_end(struct xs_store *s, struct xs_conn *c, struct xs_tx *tx, int commit)
{
    struct xs_txent *e;

    if (commit) {
        long delta;
        for (e = tx->ents; e; e = e->next) {
            const struct xs_node *m = main_get(s, e->path);
            if ((m ? m->gen : 0) != e->gen_seen) {
                xs_tx_free(s, c, tx);
                return -XEN_EAGAIN;
            }
        }
        /* The node quota again, against the tree as it is now: parallel
         * transactions each within the quota must not add up past it. */
        if (!c->privileged && (delta = tx_owned_delta(s, c, tx)) > 0 &&
            (long)xs_owned_nodes(s, c->domid) + delta > (long)s->q.nodes) {
            xs_tx_free(s, c, tx);
            return -XL_ENOSPC;
        }
        /* deletions first, so a node deleted and re-created stays */
        for (e = tx->ents; e; e = e->next)
            if (e->modified && !e->node)
                main_del(s, e->path);
        for (e = tx->ents; e; e = e->next)
            if (e->modified && e->node) {
                main_put(s, e->node);
                e->node = NULL;
                e->modified = 0;
            }
        for (struct xs_event *ev = tx->evs; ev; ev = ev->next)
            if (!ev->dead)
                xs_watch_fire(s, ev->path, ev->perms, ev->nperms, ev->recursive);
    }
    xs_tx_free(s, c, tx);
    return xs_reply_str(s, "OK");
}

/* ---- setup ---- */

int xs_store_setup(struct xs_store *s)
{
    static const struct xs_perm root_perm = { .id = 0, .perm = XSL_PERM_NONE };
    struct xs_node *root;

    s->buckets = xs_alloc_tagged(&s->arena, XS_HASH_BUCKETS * sizeof(*s->buckets), XS_TAG_SYS);
    if (!s->buckets)
        return -XL_ENOMEM;
    memset(s->buckets, 0, XS_HASH_BUCKETS * sizeof(*s->buckets));
    if (!(root = node_new(s, NULL, "/", &root_perm, 1, "", 0, "", 0, 0)))
        return -XL_ENOMEM;
    main_put(s, root);
    return 0;
}

/* ---- a domain that is gone ---- */

/* Xen 4.17 removes the nodes a released domain owns (with what is below
 * them) and revokes its permissions elsewhere; so does this, in one pass
 * over the hash table: a subtree is deleted where its owner is met (the
 * bucket is then walked again from its head, its chain having changed),
 * a node naming domid in perms[1..] is rebuilt without those entries.
 * Nothing here is refused for quota: the cleanup only frees. */
void xs_purge_domain(struct xs_store *s, uint16_t domid)
{
    static char top[XS_PATH_BUF];
    struct xs_perm perms[XS_PERMS_HARD_MAX];
    struct xs_acct **pa, *a;

    for (unsigned int b = 0; b < XS_HASH_BUCKETS; b++) {
        struct xs_node *n = s->buckets[b];
        while (n) {
            unsigned int i, k = 0;
            if (n->perms[0].id == domid && n->plen > 1) {
                unsigned int np = n->nperms;
                memcpy(perms, n->perms, np * sizeof(perms[0]));
                memcpy(top, xs_node_path(n), n->plen + 1u);
                memcpy(s->pbuf, top, n->plen + 1u);
                if (delete_tree(s, NULL, NULL, strlen(top)))
                    break;      /* the arena is empty: leave this bucket */
                xs_watch_fire(s, top, perms, np, 1);
                n = s->buckets[b];
                continue;
            }
            for (i = 0; i < n->nperms; i++)
                if (i == 0 || n->perms[i].id != domid)
                    perms[k++] = n->perms[i];
            if (k < n->nperms) {
                struct xs_node *nn = node_new(s, NULL, xs_node_path(n), perms, k,
                                              xs_node_val(n), n->vlen, xs_node_kids(n),
                                              n->clen, 0);
                if (nn) {
                    main_put(s, nn);    /* takes n's place in the chain */
                    n = nn;
                }
            }
            n = n->hnext;
        }
    }
    for (pa = &s->accts; (a = *pa); pa = &a->next)
        if (a->domid == domid) {
            if (!a->nodes && !a->mem) {
                *pa = a->next;
                xs_free(&s->arena, a);
            }
            break;
        }
}
