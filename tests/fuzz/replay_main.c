/* Driver for fuzz targets without libFuzzer (gcc, valgrind, ASan builds):
 *   fuzz_<x>_replay PATH...
 * Each PATH is a file or a directory of files (not recursive; missing
 * paths are skipped). Every input is run as is, then every prefix of it
 * (truncations) and a fixed, seeded set of byte mutations, so a normal
 * test run already exercises each decoder's error paths. Deterministic. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX_INPUT (1u << 20)
#define MUTATIONS 64

static uint64_t runs;

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void run(const uint8_t *p, size_t n)
{
    LLVMFuzzerTestOneInput(p, n);
    runs++;
}

static void replay_input(const uint8_t *data, size_t n)
{
    run(data, n);
    for (size_t i = 0; i < n && i < 4096; i++)
        run(data, i);
    if (!n)
        return;
    uint8_t *m = malloc(n);
    uint64_t seed = 0x9e3779b97f4a7c15ULL ^ n;
    for (int k = 0; k < MUTATIONS; k++) {
        memcpy(m, data, n);
        int flips = 1 + (int)(next_rand(&seed) % 4);
        for (int f = 0; f < flips; f++) {
            size_t at = next_rand(&seed) % n;
            switch (next_rand(&seed) % 4) {
            case 0: m[at] ^= (uint8_t)(1u << (next_rand(&seed) % 8)); break;
            case 1: m[at] = 0xff; break;
            case 2: m[at] = 0x00; break;
            default: m[at] = (uint8_t)next_rand(&seed); break;
            }
        }
        run(m, n);
    }
    free(m);
}

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return 1;
    }
    uint8_t *buf = malloc(REPLAY_MAX_INPUT);
    size_t n = fread(buf, 1, REPLAY_MAX_INPUT, f);
    fclose(f);
    replay_input(buf, n);
    free(buf);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    int files = 0, bad = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0)
            continue;
        if (!S_ISDIR(st.st_mode)) {
            bad += replay_file(argv[i]);
            files++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        if (!d)
            continue;
        char **names = NULL;
        size_t nn = 0;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            names = realloc(names, (nn + 1) * sizeof *names);
            names[nn++] = strdup(e->d_name);
        }
        closedir(d);
        qsort(names, nn, sizeof *names, cmp_str); /* stable order across machines */
        for (size_t k = 0; k < nn; k++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], names[k]);
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                bad += replay_file(path);
                files++;
            }
            free(names[k]);
        }
        free(names);
    }
    if (files == 0) {
        /* A target without seeds yet: still run generic inputs, but say so. */
        static const char *const generic[] = {"{}", "[]", "null", "\"x\"", "{\"a\":[1,2.5,true]}",
                                              "MC\x01\x00\x01\x00\x00\x00", "@trace 1 n e k=v"};
        fprintf(stderr, "replay: WARNING no seed files; add some to tests/fuzz/corpus/<target>/\n");
        for (size_t k = 0; k < sizeof generic / sizeof generic[0]; k++)
            replay_input((const uint8_t *)generic[k], strlen(generic[k]));
    }
    run((const uint8_t *)"", 0);
    printf("replay: %d seed files, %llu runs, %d unreadable\n", files, (unsigned long long)runs, bad);
    return bad ? 1 : 0;
}
