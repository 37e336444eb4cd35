/*
 * secrets.c - values that must never be written: a profile's `secrets:`
 * (tokens, keys) appear in every report, transcript and summary as "***".
 *
 * Masking happens where text leaves agentrig (a report file is masked as it
 * is committed, the summary and error lines as they are printed), so no
 * writer can forget it, whatever field a service echoed the token in.
 */
#include "report.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECRETS_MAX 64
#define SECRET_MIN_BYTES 4 /* shorter values would mask ordinary text */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char *secrets[SECRETS_MAX];
static size_t n_secrets;

void ar_report_add_secret(const char *value)
{
    if (!value || strlen(value) < SECRET_MIN_BYTES) return;
    pthread_mutex_lock(&mu);
    bool known = false;
    for (size_t i = 0; i < n_secrets; i++)
        known = known || !strcmp(secrets[i], value);
    if (!known && n_secrets < SECRETS_MAX) {
        char *copy = strdup(value);
        if (copy) secrets[n_secrets++] = copy;
    }
    pthread_mutex_unlock(&mu);
}

void ar_report_clear_secrets(void)
{
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < n_secrets; i++)
        free(secrets[i]);
    n_secrets = 0;
    pthread_mutex_unlock(&mu);
}

char *ar_report_mask(const char *s, size_t len, size_t *out_len)
{
    ar_buf b;
    ar_buf_init(&b, len + 16 + len / 2);
    pthread_mutex_lock(&mu);
    size_t i = 0;
    while (i < len) {
        size_t hit = 0;
        for (size_t k = 0; k < n_secrets && !hit; k++) {
            size_t n = strlen(secrets[k]);
            if (n <= len - i && !memcmp(s + i, secrets[k], n)) hit = n;
        }
        if (hit) {
            ar_buf_append(&b, "***", 3);
            i += hit;
        } else {
            ar_buf_append(&b, s + i, 1);
            i++;
        }
    }
    pthread_mutex_unlock(&mu);
    if (out_len) *out_len = b.len;
    return ar_buf_take(&b);
}

bool ar_report_has_secrets(void)
{
    pthread_mutex_lock(&mu);
    bool any = n_secrets > 0;
    pthread_mutex_unlock(&mu);
    return any;
}
