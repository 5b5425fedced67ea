#ifndef WARDEN_TLS_H
#define WARDEN_TLS_H
#include <stddef.h>

/* TLS for the `https://` webhooks of `AlertWebhooks=`, under Warden's one HTTP client
 * (the health probe's: request writing, status-line parsing, resolution and connect with
 * a deadline, in Swift). This is the only part of that client that is not Swift: OpenSSL's
 * libssl.so.3, opened with dlopen at the first https webhook.
 *
 * Why not libcurl: it costs about 8 MB of PSS and a dozen libraries (nghttp2, ldap,
 * kerberos, ssh2 and more, beside OpenSSL) for one POST, a container image would have to
 * carry all of them for a feature most daemons never use, and beside the health probe's
 * client it would be a second HTTP client with its own timeouts, error words and redirect
 * rules. A probe must never block the event loop and a webhook may block its own alert
 * thread, so the same pieces are driven two ways. libssl brings only libcrypto, and a
 * daemon without an https webhook maps neither. The Debian package is libssl3 (headers:
 * libssl-dev).
 *
 * The socket is the caller's, connected and non-blocking: every call below does what it
 * can at once and answers WARDEN_TLS_WANT_READ or WARDEN_TLS_WANT_WRITE when it must
 * wait; the caller polls the socket until its deadline and calls again. Certificates are
 * verified against the system's store (OpenSSL's default paths: SSL_CERT_FILE and
 * SSL_CERT_DIR when set, else /etc/ssl/certs) or a given CA file, and the certificate must
 * name the host (SSL_set1_host); the host goes out as SNI unless it is an IP address.
 * Safe from any thread; one session is used by one thread at a time. */

enum {
    WARDEN_TLS_WANT_READ = -2,
    WARDEN_TLS_WANT_WRITE = -3,
    /* The peer closed the session (close_notify, or the connection ended). */
    WARDEN_TLS_CLOSED = -4,
    WARDEN_TLS_ERROR = -1,
};

struct warden_tls;

/* Loads libssl.so.3 if that was not yet tried. NULL when it is loaded, else why not,
 * naming the library and the Debian package. */
const char *warden_tls_load_error(void);

/* A client session on `fd` for `host` (a name or an IP address, without brackets).
 * `ca_file`: PEM certificates to trust instead of the system's store; NULL for the
 * system's. NULL on failure, with the reason in `error`. */
struct warden_tls *warden_tls_open(int fd, const char *host, const char *ca_file, char *error, size_t error_size);

/* The handshake: 0 when done, WANT_READ/WANT_WRITE, or ERROR with the reason in `error`
 * (a failed verification names what was wrong with the certificate). */
int warden_tls_handshake(struct warden_tls *tls, char *error, size_t error_size);

/* Writes up to `length` bytes: how many were written (above 0), WANT_READ/WANT_WRITE,
 * CLOSED or ERROR. */
long warden_tls_write(struct warden_tls *tls, const void *bytes, size_t length, char *error, size_t error_size);

/* Reads up to `capacity` bytes: how many were read (above 0), WANT_READ/WANT_WRITE,
 * CLOSED or ERROR. */
long warden_tls_read(struct warden_tls *tls, void *buffer, size_t capacity, char *error, size_t error_size);

/* Sends close_notify if it can without waiting, and frees the session. The socket stays
 * open: it is the caller's to close. */
void warden_tls_close(struct warden_tls *tls);

#endif
