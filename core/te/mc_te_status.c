#include "mc_te_status.h"

const char *mc_te_err_name(int err)
{
    switch (err) {
#define MC_TE_ERR_NAME(name, value, msg) \
    case value:                          \
        return (value) == 0 ? "OK" : "ERR_" #name;
        MC_TE_ERR_LIST(MC_TE_ERR_NAME)
#undef MC_TE_ERR_NAME
    default:
        return "ERR_UNKNOWN";
    }
}

const char *mc_te_err_msg(int err)
{
    switch (err) {
#define MC_TE_ERR_MSG(name, value, msg) \
    case value:                         \
        return msg;
        MC_TE_ERR_LIST(MC_TE_ERR_MSG)
#undef MC_TE_ERR_MSG
    default:
        return "unknown transfer engine error";
    }
}

int mc_te_err_to_code(int err)
{
    switch (err) {
#define MC_TE_ERR_CODE(name, value, msg) \
    case value:                          \
        return (value) == MC_TE_ERR_NOT_IMPLEMENTED ? MC_TE_CODE_NOT_IMPLEMENTED : -(value);
        MC_TE_ERR_LIST(MC_TE_ERR_CODE)
#undef MC_TE_ERR_CODE
    default:
        return MC_TE_CODE_NOT_IMPLEMENTED;
    }
}

const char *mc_te_xfer_status_name(int st)
{
    static const char *const names[] = {"WAITING", "PENDING", "INVALID", "CANCELED",
                                        "COMPLETED", "TIMEOUT", "FAILED"};
    if (st < 0 || st > MC_TE_FAILED)
        return "UNKNOWN";
    return names[st];
}
