#ifndef WARDEN_SYSTEMD_H
#define WARDEN_SYSTEMD_H
/* libsystemd's headers give the types and constants (sd_bus_error, sd_bus *); the
 * library itself is loaded with dlopen at first use (systemd.c). Call only the
 * warden_sd_* functions: the binaries do not link libsystemd, so a direct sd_* call
 * fails at link time. */
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

/* Loads libsystemd.so.0 if that was not yet tried. NULL when it is loaded, else why
 * not, naming the library and the Debian package. Safe from any thread. */
const char *warden_systemd_load_error(void);


/* sd-daemon. These two answer without loading the library when its answer does not
 * need it: sd_notify() and sd_watchdog_enabled() return 0 when $NOTIFY_SOCKET or
 * $WATCHDOG_USEC is unset. (sd_booted() is SystemdHost.isBooted, in Swift.) */
int warden_sd_notify(int unset_environment, const char *state);
int warden_sd_watchdog_enabled(int unset_environment, uint64_t *usec);

/* Every other wrapper loads the library on first use and, when that failed, returns
 * -ELIBACC (NULL for the unref functions; error_free does nothing): the caller reads
 * warden_systemd_load_error() for the reason. */
int warden_sd_journal_sendv(const struct iovec *iov, int n);

int warden_sd_bus_open_system(sd_bus **bus);
sd_bus *warden_sd_bus_flush_close_unref(sd_bus *bus);
int warden_sd_bus_call(sd_bus *bus, sd_bus_message *m, uint64_t usec, sd_bus_error *ret_error,
                       sd_bus_message **reply);
void warden_sd_bus_error_free(sd_bus_error *e);
int warden_sd_bus_message_new_method_call(sd_bus *bus, sd_bus_message **m, const char *destination,
                                          const char *path, const char *interface, const char *member);
sd_bus_message *warden_sd_bus_message_unref(sd_bus_message *m);
int warden_sd_bus_message_append_basic(sd_bus_message *m, char type, const void *p);
int warden_sd_bus_message_append_array(sd_bus_message *m, char type, const void *ptr, size_t size);
int warden_sd_bus_message_open_container(sd_bus_message *m, char type, const char *contents);
int warden_sd_bus_message_close_container(sd_bus_message *m);
int warden_sd_bus_message_enter_container(sd_bus_message *m, char type, const char *contents);
int warden_sd_bus_message_exit_container(sd_bus_message *m);
int warden_sd_bus_message_read_basic(sd_bus_message *m, char type, void *p);
int warden_sd_bus_message_read_array(sd_bus_message *m, char type, const void **ptr, size_t *size);

#endif
