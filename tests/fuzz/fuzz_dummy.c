/* libFuzzer target: the dummy-client message codec (core/wire/mc_msg_dummy).
 *
 * Arbitrary bytes go through mc_wire_open and, for a dummy-family type,
 * mc_dummy_msg_decode. Contracts: only MC_OK / MC_INVALID_PARAMS, and an
 * accepted message re-encodes to exactly the same type, request id and
 * body bytes (the codec is canonical), which also proves every decoded
 * slice and count stayed inside the input. The input is copied into an
 * exact-size heap buffer so ASan/valgrind catch a read past the end. */
#include <stdlib.h>
#include <string.h>

#include "wire/mc_msg_dummy.h"

#define CHECK(c) ((c) ? (void)0 : __builtin_trap())

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *frame = malloc(size ? size : 1);
    if (!frame)
        return 0;
    if (size)
        memcpy(frame, data, size);
    mc_wire_hdr_t hdr;
    mc_rbuf_t r;
    const char *why = NULL;
    mc_status_t s = mc_wire_open(frame, size, &hdr, &r, &why);
    CHECK(s == MC_OK || (s == MC_INVALID_PARAMS && why) || s == MC_IN_PROGRESS);
    if (s == MC_OK && mc_msg_dummy_type_known(hdr.type)) {
        mc_dummy_msg_t m;
        s = mc_dummy_msg_decode(hdr.type, &r, &m);
        CHECK(s == MC_OK || s == MC_INVALID_PARAMS);
        if (s == MC_OK) {
            CHECK(m.type == hdr.type);
            mc_wbuf_t w;
            mc_wbuf_init(&w);
            mc_dummy_msg_encode(&w, hdr.req_id, &m);
            CHECK(w.len == (size_t)MC_WIRE_HDR_LEN + hdr.body_len);
            CHECK(memcmp(w.data + 4, frame + 4, 2) == 0);
            CHECK(memcmp(w.data + 8, frame + 8, 12) == 0);
            CHECK(memcmp(w.data + MC_WIRE_HDR_LEN, frame + MC_WIRE_HDR_LEN, hdr.body_len) == 0);
            mc_wbuf_free(&w);
            mc_dummy_msg_free(&m);
        }
    }
    free(frame);
    return 0;
}
