/* "host:port" addresses <-> socket addresses. */
#ifndef MC_ADDR_H
#define MC_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* "[ffff:...:ffff]:65535" plus NUL fits. */
#define MC_ADDR_STRLEN 64

/* Split "host:port" or "[v6]:port"; host may be empty. false if malformed. */
bool mc_addr_split(const char *addr, char *host, size_t hostlen, uint16_t *port);

/* Numeric IPv4/IPv6 hosts and "localhost" only, so the loop thread never
 * waits on DNS (mc_tcp resolves other names on a helper thread). An empty host (or "0.0.0.0") means any address when
 * passive (listen) and loopback otherwise. On failure writes the reason. */
bool mc_addr_resolve(const char *addr, bool passive, struct sockaddr_storage *ss, socklen_t *len,
                     char *why, size_t whylen);

/* True if host is a name that needs DNS (not numeric, "", "localhost"). */
bool mc_addr_is_name(const char *host);

/* "a.b.c.d:port" or "[v6]:port". */
void mc_addr_format(const struct sockaddr *sa, socklen_t len, char *buf, size_t buflen);
uint16_t mc_addr_port(const struct sockaddr *sa);

#endif
