/* Intrusive circular doubly linked list (the Linux/UCX idiom). */
#ifndef MC_LIST_H
#define MC_LIST_H

#include <stdbool.h>
#include <stddef.h>

typedef struct mc_list {
    struct mc_list *prev, *next;
} mc_list_t;

static inline void mc_list_init(mc_list_t *l) { l->prev = l->next = l; }
static inline bool mc_list_empty(const mc_list_t *l) { return l->next == l; }

static inline void mc_list_insert_after(mc_list_t *pos, mc_list_t *n)
{
    n->prev = pos;
    n->next = pos->next;
    pos->next->prev = n;
    pos->next = n;
}

static inline void mc_list_push_back(mc_list_t *head, mc_list_t *n) { mc_list_insert_after(head->prev, n); }
static inline void mc_list_push_front(mc_list_t *head, mc_list_t *n) { mc_list_insert_after(head, n); }

static inline void mc_list_del(mc_list_t *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    mc_list_init(n);
}

#define mc_container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

#define mc_list_for_each_safe(pos, tmp, head) \
    for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head); (pos) = (tmp), (tmp) = (pos)->next)

#endif
