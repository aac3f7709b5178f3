/* Decode any frame by its type, for validation and fuzzing: every message
 * family registers its decoder here, so one fuzz target covers them all. */
#ifndef MC_MSG_ANY_H
#define MC_MSG_ANY_H

#include "mc_wire.h"

/* MC_OK if frame is a well-formed message of a known type; otherwise
 * MC_INVALID_PARAMS with *why set. Never reads outside [frame, frame+len). */
mc_status_t mc_msg_validate(const uint8_t *frame, size_t len, const char **why);

#endif
