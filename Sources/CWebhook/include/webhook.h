#ifndef WARDEN_WEBHOOK_H
#define WARDEN_WEBHOOK_H
#include <stddef.h>

/* POSTs `body` (JSON) to `url` through libcurl: certificates verified, no redirects, only
 * https and (for a local relay) http, a total timeout. Returns 0 when a response arrived
 * (its status in *http_status), else curl's error code with a message in `error`.
 * Blocking: call it off the event loop. Safe from any thread. */
int warden_webhook_post(const char *url, const char *body, size_t body_length, long timeout_ms,
                        long *http_status, char *error, size_t error_size);

#endif
