/* Split a byte stream (a pipe, stdin) into lines. A line longer than the
 * buffer is passed on in buffer-sized pieces. */
#ifndef MC_LINEBUF_H
#define MC_LINEBUF_H

#include <stddef.h>

typedef void (*mc_line_fn)(void *arg, char *line); /* NUL-terminated, no '\n' */

typedef struct mc_linebuf {
    char *buf; /* cap + 1 bytes */
    size_t len;
    size_t cap;
} mc_linebuf_t;

void mc_linebuf_init(mc_linebuf_t *lb, size_t cap);
void mc_linebuf_free(mc_linebuf_t *lb);
/* Where to read into, and how much fits (always > 0). */
char *mc_linebuf_space(mc_linebuf_t *lb, size_t *room);
/* n bytes were read into the space: call fn for every complete line. */
void mc_linebuf_commit(mc_linebuf_t *lb, size_t n, mc_line_fn fn, void *arg);
/* End of stream: pass on a last line without a newline. */
void mc_linebuf_flush(mc_linebuf_t *lb, mc_line_fn fn, void *arg);

#endif
