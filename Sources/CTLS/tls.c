#include "warden_tls.h"
#include "warden_shims.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The headers give the types and constants; only these functions are looked up, in
 * libssl.so.3 and (through its dependency, libcrypto.so.3) the X509_ and ERR_ ones.
 * RTLD_LOCAL keeps them out of the global namespace. */
static struct {
    const SSL_METHOD *(*client_method)(void);
    SSL_CTX *(*ctx_new)(const SSL_METHOD *);
    void (*ctx_free)(SSL_CTX *);
    long (*ctx_ctrl)(SSL_CTX *, int, long, void *);
    void (*ctx_set_security_level)(SSL_CTX *, int);
    int (*ctx_set_default_verify_paths)(SSL_CTX *);
    int (*ctx_load_verify_locations)(SSL_CTX *, const char *, const char *);
    void (*ctx_set_verify)(SSL_CTX *, int, SSL_verify_cb);
    SSL *(*new_session)(SSL_CTX *);
    void (*free_session)(SSL *);
    int (*set_fd)(SSL *, int);
    int (*set1_host)(SSL *, const char *);
    X509_VERIFY_PARAM *(*get0_param)(SSL *);
    long (*ctrl)(SSL *, int, long, void *);
    int (*connect)(SSL *);
    int (*write)(SSL *, const void *, int);
    int (*read)(SSL *, void *, int);
    int (*shutdown)(SSL *);
    int (*get_error)(const SSL *, int);
    long (*get_verify_result)(const SSL *);
    int (*param_set1_ip_asc)(X509_VERIFY_PARAM *, const char *);
    const char *(*verify_error_string)(long);
    unsigned long (*err_get_error)(void);
    unsigned long (*err_peek_error)(void);
    void (*err_error_string_n)(unsigned long, char *, size_t);
    void (*err_clear_error)(void);
} ssl;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_error[320];

#define SYMBOL(field, name) {name, (void **)&ssl.field}

static void load(void) {
    const struct warden_symbol symbols[] = {
        SYMBOL(client_method, "TLS_client_method"),
        SYMBOL(ctx_new, "SSL_CTX_new"),
        SYMBOL(ctx_free, "SSL_CTX_free"),
        SYMBOL(ctx_ctrl, "SSL_CTX_ctrl"),
        SYMBOL(ctx_set_security_level, "SSL_CTX_set_security_level"),
        SYMBOL(ctx_set_default_verify_paths, "SSL_CTX_set_default_verify_paths"),
        SYMBOL(ctx_load_verify_locations, "SSL_CTX_load_verify_locations"),
        SYMBOL(ctx_set_verify, "SSL_CTX_set_verify"),
        SYMBOL(new_session, "SSL_new"),
        SYMBOL(free_session, "SSL_free"),
        SYMBOL(set_fd, "SSL_set_fd"),
        SYMBOL(set1_host, "SSL_set1_host"),
        SYMBOL(get0_param, "SSL_get0_param"),
        SYMBOL(ctrl, "SSL_ctrl"),
        SYMBOL(connect, "SSL_connect"),
        SYMBOL(write, "SSL_write"),
        SYMBOL(read, "SSL_read"),
        SYMBOL(shutdown, "SSL_shutdown"),
        SYMBOL(get_error, "SSL_get_error"),
        SYMBOL(get_verify_result, "SSL_get_verify_result"),
        SYMBOL(param_set1_ip_asc, "X509_VERIFY_PARAM_set1_ip_asc"),
        SYMBOL(verify_error_string, "X509_verify_cert_error_string"),
        SYMBOL(err_get_error, "ERR_get_error"),
        SYMBOL(err_peek_error, "ERR_peek_error"),
        SYMBOL(err_error_string_n, "ERR_error_string_n"),
        SYMBOL(err_clear_error, "ERR_clear_error"),
    };
    warden_load_library("libssl.so.3", "Debian: apt install libssl3", symbols, sizeof(symbols) / sizeof(symbols[0]),
                        load_error, sizeof(load_error));
}

const char *warden_tls_load_error(void) {
    pthread_once(&load_once, load);
    return load_error[0] == 0 ? NULL : load_error;
}

/* One context per session: the CA store is read at each connection, so a renewed
 * system store (or SSL_CERT_FILE) counts at the next alert without a restart; alerts
 * are rare, and nothing of OpenSSL stays allocated between them. */
struct warden_tls {
    SSL_CTX *context;
    SSL *session;
};

/* OpenSSL's first queued error as text ("error:0A000086:SSL routines::certificate
 * verify failed"), or `fallback`. Empties the thread's error queue. */
static void queued_error(const char *fallback, char *error, size_t error_size) {
    unsigned long code = ssl.err_get_error();
    if (code == 0) {
        snprintf(error, error_size, "%s", fallback);
    } else {
        char text[256];
        ssl.err_error_string_n(code, text, sizeof(text));
        snprintf(error, error_size, "%s", text);
    }
    ssl.err_clear_error();
}

struct warden_tls *warden_tls_open(int fd, const char *host, const char *ca_file, char *error, size_t error_size) {
    const char *why = warden_tls_load_error();
    if (why != NULL) {
        snprintf(error, error_size, "%s", why);
        return NULL;
    }
    ssl.err_clear_error();
    struct warden_tls *tls = calloc(1, sizeof(*tls));
    if (tls == NULL) {
        snprintf(error, error_size, "out of memory");
        return NULL;
    }
    tls->context = ssl.ctx_new(ssl.client_method());
    if (tls->context == NULL) {
        queued_error("SSL_CTX_new failed", error, error_size);
        goto fail;
    }
    ssl.ctx_ctrl(tls->context, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, NULL);
    ssl.ctx_set_security_level(tls->context, 2);
    ssl.ctx_set_verify(tls->context, SSL_VERIFY_PEER, NULL);
    if (ca_file != NULL) {
        if (ssl.ctx_load_verify_locations(tls->context, ca_file, NULL) != 1) {
            char text[256];
            queued_error("unreadable", text, sizeof(text));
            snprintf(error, error_size, "cannot read the CA file %s: %s", ca_file, text);
            goto fail;
        }
    } else if (ssl.ctx_set_default_verify_paths(tls->context) != 1) {
        queued_error("cannot read the system's CA store", error, error_size);
        goto fail;
    }
    tls->session = ssl.new_session(tls->context);
    if (tls->session == NULL || ssl.set_fd(tls->session, fd) != 1) {
        queued_error("SSL_new failed", error, error_size);
        goto fail;
    }
    /* An IP address is checked against the certificate's IP addresses and is never sent
     * as SNI (RFC 6066 allows only names there); a name is checked and sent. */
    unsigned char address[sizeof(struct in6_addr)];
    int is_address = inet_pton(AF_INET, host, address) == 1 || inet_pton(AF_INET6, host, address) == 1;
    int named = is_address ? ssl.param_set1_ip_asc(ssl.get0_param(tls->session), host)
                           : ssl.set1_host(tls->session, host) == 1 &&
                                 ssl.ctrl(tls->session, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                                          (void *)host) == 1;
    if (named != 1) {
        queued_error("cannot set the host to verify", error, error_size);
        goto fail;
    }
    return tls;
fail:
    warden_tls_close(tls);
    return NULL;
}

/* OpenSSL writes to the socket with write(2), which raises SIGPIPE on a connection the
 * server has reset. The daemon ignores SIGPIPE; any other program using this must not
 * die of it either: the signal is blocked in this thread around a write and, when the
 * write raised it, taken before it is unblocked. */
struct pipe_guard {
    sigset_t previous;
    int was_pending;
};

static void guard_pipe(struct pipe_guard *guard) {
    sigset_t pipe_only, pending;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    sigpending(&pending);
    guard->was_pending = sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &guard->previous);
}

static void release_pipe(struct pipe_guard *guard) {
    sigset_t pipe_only, pending;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    sigpending(&pending);
    if (!guard->was_pending && sigismember(&pending, SIGPIPE)) {
        const struct timespec now = {0, 0};
        int saved_errno = errno;
        while (sigtimedwait(&pipe_only, NULL, &now) < 0 && errno == EINTR) {
        }
        errno = saved_errno;
    }
    pthread_sigmask(SIG_SETMASK, &guard->previous, NULL);
}

/* What a call that returned `result` (<= 0) means. */
static int outcome(struct warden_tls *tls, int result, const char *step, char *error, size_t error_size) {
    int saved_errno = errno;
    switch (ssl.get_error(tls->session, result)) {
    case SSL_ERROR_WANT_READ:
        return WARDEN_TLS_WANT_READ;
    case SSL_ERROR_WANT_WRITE:
        return WARDEN_TLS_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN:
        return WARDEN_TLS_CLOSED;
    case SSL_ERROR_SYSCALL:
        /* The connection ended or failed under TLS: an empty queue and no errno is an
         * end without close_notify, which HTTP/1.x with `Connection: close` allows. */
        if (ssl.err_peek_error() == 0) {
            if (saved_errno == 0)
                return WARDEN_TLS_CLOSED;
            snprintf(error, error_size, "%s", strerror(saved_errno));
            return WARDEN_TLS_ERROR;
        }
        queued_error(step, error, error_size);
        return WARDEN_TLS_ERROR;
    default: {
        long verified = ssl.get_verify_result(tls->session);
        if (verified != X509_V_OK) {
            ssl.err_clear_error();
            snprintf(error, error_size, "certificate verification failed: %s", ssl.verify_error_string(verified));
            return WARDEN_TLS_ERROR;
        }
        queued_error(step, error, error_size);
        return WARDEN_TLS_ERROR;
    }
    }
}

int warden_tls_handshake(struct warden_tls *tls, char *error, size_t error_size) {
    ssl.err_clear_error();
    struct pipe_guard guard;
    guard_pipe(&guard);
    errno = 0;
    int result = ssl.connect(tls->session);
    release_pipe(&guard);
    if (result == 1)
        return 0;
    int why = outcome(tls, result, "TLS handshake failed", error, error_size);
    if (why == WARDEN_TLS_CLOSED) {
        snprintf(error, error_size, "the server closed the connection during the TLS handshake");
        return WARDEN_TLS_ERROR;
    }
    return why;
}

long warden_tls_write(struct warden_tls *tls, const void *bytes, size_t length, char *error, size_t error_size) {
    ssl.err_clear_error();
    struct pipe_guard guard;
    guard_pipe(&guard);
    errno = 0;
    int result = ssl.write(tls->session, bytes, length > INT32_MAX ? INT32_MAX : (int)length);
    release_pipe(&guard);
    return result > 0 ? result : outcome(tls, result, "TLS write failed", error, error_size);
}

long warden_tls_read(struct warden_tls *tls, void *buffer, size_t capacity, char *error, size_t error_size) {
    ssl.err_clear_error();
    struct pipe_guard guard;
    guard_pipe(&guard);
    errno = 0;
    int result = ssl.read(tls->session, buffer, capacity > INT32_MAX ? INT32_MAX : (int)capacity);
    release_pipe(&guard);
    return result > 0 ? result : outcome(tls, result, "TLS read failed", error, error_size);
}

void warden_tls_close(struct warden_tls *tls) {
    if (tls == NULL)
        return;
    if (tls->session != NULL) {
        /* One non-blocking attempt at close_notify: the answer is read already, and a
         * server that does not take it loses nothing. */
        struct pipe_guard guard;
        guard_pipe(&guard);
        ssl.shutdown(tls->session);
        release_pipe(&guard);
        ssl.err_clear_error();
        ssl.free_session(tls->session);
    }
    if (tls->context != NULL)
        ssl.ctx_free(tls->context);
    free(tls);
}
