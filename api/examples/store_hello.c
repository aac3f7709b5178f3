/* The seeds' Hello World in C: put a value, read it back, print it.
 *   store_hello [master_addr] [local_hostname]   (defaults localhost:50051, localhost) */
#include <mooncake/store.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    const char *master = argc > 1 ? argv[1] : "localhost:50051";
    const char *host = argc > 2 ? argv[2] : "localhost";
    mooncake_store_t *store = NULL;
    int rc = mooncake_store_setup(&store, host, "P2PHANDSHAKE", 64u << 20, 16u << 20, "tcp", "", master);
    if (rc != 0) {
        fprintf(stderr, "setup failed: %d (%s)\n", rc, mooncake_strerror(rc));
        return 1;
    }
    const char *key = "hello_key", *msg = "Hello, Mooncake Store!";
    rc = mooncake_store_put(store, key, strlen(key), msg, strlen(msg), NULL);
    if (rc != 0) {
        fprintf(stderr, "put failed: %d (%s)\n", rc, mooncake_strerror(rc));
        mooncake_store_close(store);
        return 1;
    }
    void *val = NULL;
    size_t len = 0;
    rc = mooncake_store_get(store, key, strlen(key), &val, &len);
    if (rc != 0) {
        fprintf(stderr, "get failed: %d (%s)\n", rc, mooncake_strerror(rc));
        mooncake_store_close(store);
        return 1;
    }
    printf("%.*s\n", (int)len, (const char *)val);
    mooncake_free(val);
    mooncake_store_close(store);
    return 0;
}
