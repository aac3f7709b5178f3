/* Transfer-engine status and error codes, numbered exactly as upstream
 * Mooncake's transfer engine (shared/spec/transfer.md §1). They are a
 * separate family from the store's mc_status_t codes:
 *
 *  - int error codes (MC_TE_ERR_*): every mc_te_* call that can fail
 *    returns 0 or one of these negatives (upstream's C++ int APIs,
 *    include/error.h);
 *  - Status codes (MC_TE_CODE_*): the positive form upstream's C API
 *    returns from submitTransfer/getTransferStatus/freeBatchID
 *    (include/common/base/status.h); mc_te_err_to_code() converts;
 *  - transfer status (MC_TE_WAITING ... MC_TE_FAILED): the state of one
 *    task or a whole batch (TransferStatusEnum / STATUS_* in the C API). */
#ifndef MC_TE_STATUS_H
#define MC_TE_STATUS_H

#include <stdint.h>

#define MC_TE_ERR_LIST(X)                                              \
    X(OK, 0, "success")                                                \
    X(INVALID_ARGUMENT, -1, "invalid argument")                        \
    X(TOO_MANY_REQUESTS, -2, "too many requests for the batch")        \
    X(ADDRESS_NOT_REGISTERED, -3, "address not registered")            \
    X(BATCH_BUSY, -4, "batch has unfinished tasks")                    \
    X(DEVICE_NOT_FOUND, -6, "device not found")                        \
    X(ADDRESS_OVERLAPPED, -7, "address range overlaps a registered one") \
    X(DNS, -101, "name resolution failed")                             \
    X(SOCKET, -102, "socket error")                                    \
    X(MALFORMED_JSON, -103, "malformed JSON")                          \
    X(REJECT_HANDSHAKE, -104, "handshake rejected")                    \
    X(METADATA, -200, "metadata error")                                \
    X(ENDPOINT, -201, "endpoint error")                                \
    X(CONTEXT, -202, "context error")                                  \
    X(NUMA, -300, "NUMA error")                                        \
    X(CLOCK, -301, "clock error")                                      \
    X(MEMORY, -302, "memory error")                                    \
    X(NOT_IMPLEMENTED, -303, "not implemented")

enum {
#define MC_TE_ERR_ENUM(name, value, msg) MC_TE_ERR_##name = (value),
    MC_TE_ERR_LIST(MC_TE_ERR_ENUM)
#undef MC_TE_ERR_ENUM
};

/* Positive Status codes of upstream's C API (0 = OK). Every ERR_* maps to
 * its absolute value except NOT_IMPLEMENTED (-303 -> 999).
 * NOT_SUPPORTED_TRANSPORT (8) has no int-error twin upstream. */
enum {
    MC_TE_CODE_OK = 0,
    MC_TE_CODE_INVALID_ARGUMENT = 1,
    MC_TE_CODE_TOO_MANY_REQUESTS = 2,
    MC_TE_CODE_ADDRESS_NOT_REGISTERED = 3,
    MC_TE_CODE_BATCH_BUSY = 4,
    MC_TE_CODE_DEVICE_NOT_FOUND = 6,
    MC_TE_CODE_ADDRESS_OVERLAPPED = 7,
    MC_TE_CODE_NOT_SUPPORTED_TRANSPORT = 8,
    MC_TE_CODE_DNS = 101,
    MC_TE_CODE_SOCKET = 102,
    MC_TE_CODE_MALFORMED_JSON = 103,
    MC_TE_CODE_REJECT_HANDSHAKE = 104,
    MC_TE_CODE_METADATA = 200,
    MC_TE_CODE_ENDPOINT = 201,
    MC_TE_CODE_CONTEXT = 202,
    MC_TE_CODE_NUMA = 300,
    MC_TE_CODE_CLOCK = 301,
    MC_TE_CODE_MEMORY = 302,
    MC_TE_CODE_NOT_IMPLEMENTED = 999,
};

/* TransferStatusEnum (same numbers as upstream's STATUS_*). This engine
 * reports WAITING, COMPLETED, FAILED and TIMEOUT; PENDING, INVALID and
 * CANCELED are defined for API compatibility. */
typedef enum mc_te_xfer_status {
    MC_TE_WAITING = 0,
    MC_TE_PENDING = 1,
    MC_TE_INVALID = 2,
    MC_TE_CANCELED = 3,
    MC_TE_COMPLETED = 4,
    MC_TE_TIMEOUT = 5,
    MC_TE_FAILED = 6,
} mc_te_xfer_status_t;

/* "ERR_INVALID_ARGUMENT"-style name; "ERR_UNKNOWN" for unknown values. */
const char *mc_te_err_name(int err);
/* One-line description; never NULL. */
const char *mc_te_err_msg(int err);
/* int error -> positive Status code; unknown values map to 999. */
int mc_te_err_to_code(int err);
/* "WAITING", ..., "FAILED"; "UNKNOWN" otherwise. */
const char *mc_te_xfer_status_name(int st);
static inline int mc_te_xfer_status_terminal(int st)
{
    return st == MC_TE_COMPLETED || st == MC_TE_FAILED || st == MC_TE_TIMEOUT ||
           st == MC_TE_CANCELED || st == MC_TE_INVALID;
}

#endif
