/* Line splitting; see mc_linebuf.h. */
#include "mc_linebuf.h"

#include <string.h>

#include "base/mc_mem.h"

void mc_linebuf_init(mc_linebuf_t *lb, size_t cap)
{
    lb->buf = mc_malloc(cap + 1);
    lb->len = 0;
    lb->cap = cap;
}

void mc_linebuf_free(mc_linebuf_t *lb)
{
    mc_free(lb->buf);
    lb->buf = NULL;
    lb->len = lb->cap = 0;
}

char *mc_linebuf_space(mc_linebuf_t *lb, size_t *room)
{
    *room = lb->cap - lb->len;
    return lb->buf + lb->len;
}

void mc_linebuf_commit(mc_linebuf_t *lb, size_t n, mc_line_fn fn, void *arg)
{
    size_t from = lb->len, start = 0;
    lb->len += n;
    for (size_t i = from; i < lb->len; i++) {
        if (lb->buf[i] != '\n')
            continue;
        lb->buf[i] = '\0';
        fn(arg, lb->buf + start);
        start = i + 1;
    }
    memmove(lb->buf, lb->buf + start, lb->len - start);
    lb->len -= start;
    if (lb->len == lb->cap) /* no newline in a full buffer */
        mc_linebuf_flush(lb, fn, arg);
}

void mc_linebuf_flush(mc_linebuf_t *lb, mc_line_fn fn, void *arg)
{
    if (!lb->len)
        return;
    lb->buf[lb->len] = '\0';
    lb->len = 0;
    fn(arg, lb->buf);
}
