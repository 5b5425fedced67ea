#include "webhook.h"
#include "warden_shims.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* libcurl is loaded with dlopen at the first webhook, not linked: it brings OpenSSL,
 * nghttp2 and more, about 8 MB of PSS in a daemon that has no webhook configured (most).
 * The header gives the types and constants; only these functions are looked up. */
static struct {
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    void (*easy_cleanup)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
} curl;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_error[256];

#define SYMBOL(field, name) {name, (void **)&curl.field}

static void load(void) {
    const struct warden_symbol symbols[] = {
        SYMBOL(global_init, "curl_global_init"),
        SYMBOL(easy_init, "curl_easy_init"),
        SYMBOL(easy_setopt, "curl_easy_setopt"),
        SYMBOL(easy_perform, "curl_easy_perform"),
        SYMBOL(easy_getinfo, "curl_easy_getinfo"),
        SYMBOL(easy_cleanup, "curl_easy_cleanup"),
        SYMBOL(easy_strerror, "curl_easy_strerror"),
        SYMBOL(slist_append, "curl_slist_append"),
        SYMBOL(slist_free_all, "curl_slist_free_all"),
    };
    if (warden_load_library("libcurl.so.4", "Debian: apt install libcurl4", symbols,
                            sizeof(symbols) / sizeof(symbols[0]), load_error, sizeof(load_error)) != 0)
        return;
    CURLcode result = curl.global_init(CURL_GLOBAL_DEFAULT);
    if (result != CURLE_OK)
        snprintf(load_error, sizeof(load_error), "libcurl initialisation failed: %s", curl.easy_strerror(result));
}

/* The response body is of no interest (a webhook answers "ok"); dropping it keeps
 * libcurl from writing it to stdout, which is Warden's log. */
static size_t discard(char *data, size_t size, size_t count, void *user) {
    (void)data;
    (void)user;
    return size * count;
}

int warden_webhook_post(const char *url, const char *body, size_t body_length, long timeout_ms,
                        long *http_status, char *error, size_t error_size) {
    char message[CURL_ERROR_SIZE] = {0};
    *http_status = 0;
    pthread_once(&load_once, load);
    if (load_error[0] != 0) {
        snprintf(error, error_size, "%s", load_error);
        return (int)CURLE_FAILED_INIT;
    }
    CURL *handle = curl.easy_init();
    if (handle == NULL) {
        snprintf(error, error_size, "libcurl could not create a handle");
        return (int)CURLE_FAILED_INIT;
    }
    struct curl_slist *headers = curl.slist_append(NULL, "Content-Type: application/json");
    curl.easy_setopt(handle, CURLOPT_URL, url);
    curl.easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "https,http");
    curl.easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);
    curl.easy_setopt(handle, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS timeouts */
    curl.easy_setopt(handle, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl.easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl.easy_setopt(handle, CURLOPT_USERAGENT, "warden");
    curl.easy_setopt(handle, CURLOPT_HTTPHEADER, headers);
    curl.easy_setopt(handle, CURLOPT_POSTFIELDS, body);
    curl.easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_length);
    curl.easy_setopt(handle, CURLOPT_WRITEFUNCTION, discard);
    curl.easy_setopt(handle, CURLOPT_ERRORBUFFER, message);
    CURLcode result = curl.easy_perform(handle);
    if (result == CURLE_OK) {
        curl.easy_getinfo(handle, CURLINFO_RESPONSE_CODE, http_status);
    } else {
        snprintf(error, error_size, "%s", message[0] ? message : curl.easy_strerror(result));
    }
    curl.slist_free_all(headers);
    curl.easy_cleanup(handle);
    return (int)result;
}
