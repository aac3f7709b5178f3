#include "mc_status.h"

const char *mc_status_name(mc_status_t s)
{
    switch (s) {
#define MC_STATUS_CASE(name, value, msg) case (value): return #name;
        MC_STATUS_LIST(MC_STATUS_CASE)
#undef MC_STATUS_CASE
    }
    return "UNKNOWN_ERROR";
}

const char *mc_status_msg(mc_status_t s)
{
    switch (s) {
#define MC_STATUS_CASE(name, value, msg) case (value): return msg;
        MC_STATUS_LIST(MC_STATUS_CASE)
#undef MC_STATUS_CASE
    }
    return "unknown error";
}
