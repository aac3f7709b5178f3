/* "host:port" parsing and formatting; see mc_addr.h. */
#include "mc_addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "env/mc_conf.h"

bool mc_addr_split(const char *addr, char *host, size_t hostlen, uint16_t *port)
{
    if (!addr)
        return false;
    const char *h = addr, *colon;
    size_t hl;
    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');
        if (!close || close[1] != ':')
            return false;
        h = addr + 1;
        hl = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon || memchr(addr, ':', (size_t)(colon - addr)))
            return false; /* no port, or a bare IPv6 address without [] */
        hl = (size_t)(colon - addr);
    }
    uint64_t p;
    if (hl >= hostlen || !mc_parse_u64(colon + 1, &p) || p > 65535)
        return false;
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (uint16_t)p;
    return true;
}

bool mc_addr_resolve(const char *addr, bool passive, struct sockaddr_storage *ss, socklen_t *len,
                     char *why, size_t whylen)
{
    char host[MC_ADDR_STRLEN];
    uint16_t port;
    memset(ss, 0, sizeof *ss);
    if (!mc_addr_split(addr, host, sizeof host, &port)) {
        snprintf(why, whylen, "expected host:port");
        return false;
    }
    if (!passive && port == 0) {
        snprintf(why, whylen, "port 0");
        return false;
    }
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (host[0] == '\0' || strcmp(host, "localhost") == 0 || (!passive && strcmp(host, "0.0.0.0") == 0)) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons(port);
        in4->sin_addr.s_addr = htonl(passive && host[0] == '\0' ? INADDR_ANY : INADDR_LOOPBACK);
        *len = sizeof *in4;
        return true;
    }
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons(port);
        *len = sizeof *in4;
        return true;
    }
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        *len = sizeof *in6;
        return true;
    }
    snprintf(why, whylen, "host '%s' is not a numeric IP address", host);
    return false;
}

bool mc_addr_is_name(const char *host)
{
    struct in6_addr a6;
    struct in_addr a4;
    return host[0] != '\0' && strcmp(host, "localhost") != 0 && inet_pton(AF_INET, host, &a4) != 1 &&
           inet_pton(AF_INET6, host, &a6) != 1;
}

void mc_addr_format(const struct sockaddr *sa, socklen_t len, char *buf, size_t buflen)
{
    char ip[INET6_ADDRSTRLEN];
    if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in4->sin_addr, ip, sizeof ip);
        snprintf(buf, buflen, "%s:%u", ip, ntohs(in4->sin_port));
    } else if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
        snprintf(buf, buflen, "[%s]:%u", ip, ntohs(in6->sin6_port));
    } else {
        snprintf(buf, buflen, "%s", "");
    }
}

uint16_t mc_addr_port(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)sa)->sin_port);
    if (sa->sa_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
    return 0;
}
