/* timefmt: the one timestamp format of the store and of Docker's JSON. */
#ifndef MYDOCKER_BASE_TIMEFMT_H
#define MYDOCKER_BASE_TIMEFMT_H

#include <stddef.h>

/* Now as RFC 3339 UTC with nanoseconds, "2024-01-02T03:04:05.000000000Z",
 * as Docker writes "created" and state times. */
void time_rfc3339_now(char *buf, size_t len);

#endif
