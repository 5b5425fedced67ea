#include "warden_systemd.h"
#include "warden_shims.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* libsystemd is loaded with dlopen at first use, not linked: with what it links
 * (libgcrypt, libgpg-error, liblz4, libzstd, liblzma) it would be resident in every
 * daemon, also one that is not under systemd and never calls it. Only these functions
 * are looked up; RTLD_LOCAL keeps them out of the global namespace. */
static struct {
    int (*notify)(int, const char *);
    int (*watchdog_enabled)(int, uint64_t *);
    int (*journal_sendv)(const struct iovec *, int);
    int (*bus_open_system)(sd_bus **);
    sd_bus *(*bus_flush_close_unref)(sd_bus *);
    int (*bus_call)(sd_bus *, sd_bus_message *, uint64_t, sd_bus_error *, sd_bus_message **);
    void (*bus_error_free)(sd_bus_error *);
    int (*bus_message_new_method_call)(sd_bus *, sd_bus_message **, const char *, const char *, const char *,
                                       const char *);
    sd_bus_message *(*bus_message_unref)(sd_bus_message *);
    int (*bus_message_append_basic)(sd_bus_message *, char, const void *);
    int (*bus_message_append_array)(sd_bus_message *, char, const void *, size_t);
    int (*bus_message_open_container)(sd_bus_message *, char, const char *);
    int (*bus_message_close_container)(sd_bus_message *);
    int (*bus_message_enter_container)(sd_bus_message *, char, const char *);
    int (*bus_message_exit_container)(sd_bus_message *);
    int (*bus_message_read_basic)(sd_bus_message *, char, void *);
    int (*bus_message_read_array)(sd_bus_message *, char, const void **, size_t *);
} sd;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_error[320];

#define SYMBOL(field, name) {name, (void **)&sd.field}

static void load(void) {
    const struct warden_symbol symbols[] = {
        SYMBOL(notify, "sd_notify"),
        SYMBOL(watchdog_enabled, "sd_watchdog_enabled"),
        SYMBOL(journal_sendv, "sd_journal_sendv"),
        SYMBOL(bus_open_system, "sd_bus_open_system"),
        SYMBOL(bus_flush_close_unref, "sd_bus_flush_close_unref"),
        SYMBOL(bus_call, "sd_bus_call"),
        SYMBOL(bus_error_free, "sd_bus_error_free"),
        SYMBOL(bus_message_new_method_call, "sd_bus_message_new_method_call"),
        SYMBOL(bus_message_unref, "sd_bus_message_unref"),
        SYMBOL(bus_message_append_basic, "sd_bus_message_append_basic"),
        SYMBOL(bus_message_append_array, "sd_bus_message_append_array"),
        SYMBOL(bus_message_open_container, "sd_bus_message_open_container"),
        SYMBOL(bus_message_close_container, "sd_bus_message_close_container"),
        SYMBOL(bus_message_enter_container, "sd_bus_message_enter_container"),
        SYMBOL(bus_message_exit_container, "sd_bus_message_exit_container"),
        SYMBOL(bus_message_read_basic, "sd_bus_message_read_basic"),
        SYMBOL(bus_message_read_array, "sd_bus_message_read_array"),
    };
    warden_load_library("libsystemd.so.0", "Debian: apt install libsystemd0", symbols,
                        sizeof(symbols) / sizeof(symbols[0]), load_error, sizeof(load_error));
}

/* Nonzero when the library and every function are there. */
static int loaded(void) {
    pthread_once(&load_once, load);
    return load_error[0] == 0;
}

const char *warden_systemd_load_error(void) { return loaded() ? NULL : load_error; }

/* sd_notify(3) returns 0 without sending when $NOTIFY_SOCKET is unset; only a set
 * variable (valid or not: libsystemd judges it) needs the library. */
int warden_sd_notify(int unset_environment, const char *state) {
    if (getenv("NOTIFY_SOCKET") == NULL)
        return 0;
    if (!loaded()) {
        if (unset_environment)
            unsetenv("NOTIFY_SOCKET");
        return -ELIBACC;
    }
    return sd.notify(unset_environment, state);
}

/* sd_watchdog_enabled(3): 0 when $WATCHDOG_USEC is unset; with unset_environment, both
 * variables are removed whatever the outcome. */
int warden_sd_watchdog_enabled(int unset_environment, uint64_t *usec) {
    if (getenv("WATCHDOG_USEC") == NULL || !loaded()) {
        int result = getenv("WATCHDOG_USEC") == NULL ? 0 : -ELIBACC;
        if (unset_environment) {
            unsetenv("WATCHDOG_USEC");
            unsetenv("WATCHDOG_PID");
        }
        return result;
    }
    return sd.watchdog_enabled(unset_environment, usec);
}

int warden_sd_journal_sendv(const struct iovec *iov, int n) {
    return loaded() ? sd.journal_sendv(iov, n) : -ELIBACC;
}

int warden_sd_bus_open_system(sd_bus **bus) { return loaded() ? sd.bus_open_system(bus) : -ELIBACC; }

sd_bus *warden_sd_bus_flush_close_unref(sd_bus *bus) {
    return loaded() ? sd.bus_flush_close_unref(bus) : NULL;
}

int warden_sd_bus_call(sd_bus *bus, sd_bus_message *m, uint64_t usec, sd_bus_error *ret_error,
                       sd_bus_message **reply) {
    return loaded() ? sd.bus_call(bus, m, usec, ret_error, reply) : -ELIBACC;
}

void warden_sd_bus_error_free(sd_bus_error *e) {
    if (loaded())
        sd.bus_error_free(e);
}

int warden_sd_bus_message_new_method_call(sd_bus *bus, sd_bus_message **m, const char *destination,
                                          const char *path, const char *interface, const char *member) {
    return loaded() ? sd.bus_message_new_method_call(bus, m, destination, path, interface, member) : -ELIBACC;
}

sd_bus_message *warden_sd_bus_message_unref(sd_bus_message *m) {
    return loaded() ? sd.bus_message_unref(m) : NULL;
}

int warden_sd_bus_message_append_basic(sd_bus_message *m, char type, const void *p) {
    return loaded() ? sd.bus_message_append_basic(m, type, p) : -ELIBACC;
}

int warden_sd_bus_message_append_array(sd_bus_message *m, char type, const void *ptr, size_t size) {
    return loaded() ? sd.bus_message_append_array(m, type, ptr, size) : -ELIBACC;
}

int warden_sd_bus_message_open_container(sd_bus_message *m, char type, const char *contents) {
    return loaded() ? sd.bus_message_open_container(m, type, contents) : -ELIBACC;
}

int warden_sd_bus_message_close_container(sd_bus_message *m) {
    return loaded() ? sd.bus_message_close_container(m) : -ELIBACC;
}

int warden_sd_bus_message_enter_container(sd_bus_message *m, char type, const char *contents) {
    return loaded() ? sd.bus_message_enter_container(m, type, contents) : -ELIBACC;
}

int warden_sd_bus_message_exit_container(sd_bus_message *m) {
    return loaded() ? sd.bus_message_exit_container(m) : -ELIBACC;
}

int warden_sd_bus_message_read_basic(sd_bus_message *m, char type, void *p) {
    return loaded() ? sd.bus_message_read_basic(m, type, p) : -ELIBACC;
}

int warden_sd_bus_message_read_array(sd_bus_message *m, char type, const void **ptr, size_t *size) {
    return loaded() ? sd.bus_message_read_array(m, type, ptr, size) : -ELIBACC;
}
