#include "warden_shims.h"

#include <dlfcn.h>
#include <stdio.h>

/* Libraries Warden uses only sometimes (libsystemd under systemd, libssl for an https
 * webhook) are opened at first use rather than linked, so a daemon that never needs them
 * maps none of their pages; this is the one loader both go through. */
int warden_load_library(const char *file, const char *install_hint, const struct warden_symbol *symbols,
                        size_t count, char *error, size_t error_size) {
    void *library = dlopen(file, RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        const char *why = dlerror();
        snprintf(error, error_size, "cannot load %s (%s): %s", file, install_hint, why ? why : "unknown error");
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        *symbols[i].slot = dlsym(library, symbols[i].name);
        if (*symbols[i].slot == NULL) {
            snprintf(error, error_size, "%s has no %s (%s)", file, symbols[i].name, install_hint);
            return -1;
        }
    }
    return 0;
}
