/*
 * proxy_rule.c - fault rules as data: their lifetime, their validation (one
 * set of checks and messages whether a rule comes from a rule file or a
 * scenario's faults:), and matching a request against them. Also the small
 * seeded PRNG behind probability schedules, toxicity and jitter, kept here so
 * that decisions are reproducible from --seed alone.
 */
#include "proxy_int.h"
#include "jsonptr.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *ar_px_action_name(ar_px_action a)
{
    switch (a) {
    case AR_PX_FORWARD:
        return "forward";
    case AR_PX_RESPOND:
        return "respond";
    case AR_PX_DELAY:
        return "delay";
    case AR_PX_HANG:
        return "hang";
    case AR_PX_RESET:
        return "reset";
    case AR_PX_TRUNCATE:
        return "truncate";
    case AR_PX_MALFORMED:
        return "malformed";
    case AR_PX_THROTTLE:
        return "throttle";
    }
    return "unknown";
}

const char *ar_tox_kind_name(ar_tox_kind k)
{
    switch (k) {
    case AR_TOX_NONE:
        return "none";
    case AR_TOX_LATENCY:
        return "latency";
    case AR_TOX_TIMEOUT:
        return "timeout";
    case AR_TOX_RESET_PEER:
        return "reset_peer";
    case AR_TOX_SLICER:
        return "slicer";
    case AR_TOX_LIMIT_DATA:
        return "limit_data";
    case AR_TOX_BANDWIDTH:
        return "bandwidth";
    }
    return "unknown";
}

void px_rng_seed(px_rng *r, uint64_t seed)
{
    r->s = seed;
    /* Decorrelate nearby seeds (0, 1, 2, ...) before the first draw. */
    (void)px_rng_next(r);
}

uint64_t px_rng_next(px_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double px_rng_unit(px_rng *r)
{
    return (double)(px_rng_next(r) >> 11) * 0x1.0p-53;
}

void ar_px_rule_init(ar_px_rule *r)
{
    memset(r, 0, sizeof(*r));
    r->schedule = AR_PX_ALL;
    r->action = AR_PX_FORWARD;
}

static void free_code(void **re)
{
    pcre2_code_free((pcre2_code *)*re);
    *re = NULL;
}

static void free_compiled(ar_px_rule *r)
{
    free_code(&r->path_re);
    free_code(&r->body_re);
    free_code(&r->json_re);
    free_code(&r->header_re);
}

void ar_px_rule_clear(ar_px_rule *r)
{
    if (!r) return;
    free(r->name);
    free(r->method);
    free(r->path_regex);
    free(r->body_regex);
    free(r->json_pointer);
    free(r->json_equals);
    free(r->json_matches);
    free(r->header_name);
    free(r->header_regex);
    free(r->body);
    free(r->toxics);
    free_compiled(r);
    ar_px_rule_init(r);
}

static bool dup_field(char **dst, const char *src)
{
    *dst = NULL;
    if (!src) return true;
    *dst = ar_strdup(src);
    return *dst != NULL;
}

ar_err ar_px_rule_copy(ar_px_rule *dst, const ar_px_rule *src)
{
    *dst = *src;
    dst->path_re = dst->body_re = dst->json_re = dst->header_re = NULL;
    dst->toxics = NULL;
    bool ok = dup_field(&dst->name, src->name) & dup_field(&dst->method, src->method) &
              dup_field(&dst->path_regex, src->path_regex) &
              dup_field(&dst->body_regex, src->body_regex) &
              dup_field(&dst->json_pointer, src->json_pointer) &
              dup_field(&dst->json_equals, src->json_equals) &
              dup_field(&dst->json_matches, src->json_matches) &
              dup_field(&dst->header_name, src->header_name) &
              dup_field(&dst->header_regex, src->header_regex) & dup_field(&dst->body, src->body);
    if (ok && src->n_toxics) {
        dst->toxics = malloc(src->n_toxics * sizeof(*dst->toxics));
        if (dst->toxics)
            memcpy(dst->toxics, src->toxics, src->n_toxics * sizeof(*dst->toxics));
        else
            ok = false;
    }
    if (!ok) {
        ar_px_rule_clear(dst);
        return AR_ENOMEM;
    }
    if (src->path_re || src->body_re || src->json_re || src->header_re) {
        char err[256];
        ar_err e = ar_px_rule_compile(dst, err, sizeof(err));
        if (e) {
            ar_px_rule_clear(dst);
            return e;
        }
    }
    return AR_OK;
}

static ar_err fail(const ar_px_rule *r, char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static ar_err fail(const ar_px_rule *r, char *err, size_t err_len, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (err && err_len) {
        if (r->file)
            snprintf(err, err_len, "%s:%d:%d: %s", r->file, r->line, r->col, msg);
        else
            snprintf(err, err_len, "%s", msg);
    }
    return AR_EINVAL;
}

static ar_err compile_re(ar_px_rule *r, const char *pattern, const char *where, void **out,
                         char *err, size_t err_len)
{
    if (!pattern) return AR_OK;
    int code;
    PCRE2_SIZE off;
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0, &code, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof(msg));
        return fail(r, err, err_len, "invalid regex '%s' in %s: %s at offset %zu", pattern, where,
                    (const char *)msg, (size_t)off);
    }
    *out = re;
    return AR_OK;
}

static ar_err check_toxic(ar_px_rule *r, size_t i, char *err, size_t err_len)
{
    const ar_tox *t = &r->toxics[i];
    const char *k = ar_tox_kind_name(t->kind);
    size_t n = i + 1;
    if (t->kind <= AR_TOX_NONE || t->kind > AR_TOX_BANDWIDTH)
        return fail(r, err, err_len, "toxic %zu: unknown toxic type", n);
    if (!(t->toxicity >= 0.0 && t->toxicity <= 1.0))
        return fail(r, err, err_len, "toxic %zu (%s): toxicity must be between 0 and 1 (got %g)", n,
                    k, t->toxicity);
    struct {
        const char *name;
        int64_t v;
    } attrs[] = {{"latency", t->latency_ms},
                 {"jitter", t->jitter_ms},
                 {"timeout", t->timeout_ms},
                 {"average_size", t->average_size},
                 {"size_variation", t->size_variation},
                 {"delay", t->delay_us},
                 {"bytes", t->bytes},
                 {"rate", t->rate_kbps}};
    for (size_t a = 0; a < AR_ARRAY_LEN(attrs); a++)
        if (attrs[a].v < 0)
            return fail(r, err, err_len, "toxic %zu (%s): %s must not be negative (got %lld)", n, k,
                        attrs[a].name, (long long)attrs[a].v);
    if (t->kind == AR_TOX_SLICER) {
        if (t->average_size < 1)
            return fail(r, err, err_len, "toxic %zu (slicer): average_size must be at least 1", n);
        if (t->size_variation >= t->average_size)
            return fail(r, err, err_len,
                        "toxic %zu (slicer): size_variation must be smaller than average_size", n);
    }
    if (t->kind == AR_TOX_BANDWIDTH && t->rate_kbps < 1)
        return fail(r, err, err_len, "toxic %zu (bandwidth): rate must be at least 1 KB/s", n);
    return AR_OK;
}

ar_err ar_px_rule_compile(ar_px_rule *r, char *err, size_t err_len)
{
    free_compiled(r);
    ar_err e = AR_OK;
    if (r->action < AR_PX_FORWARD || r->action > AR_PX_THROTTLE)
        return fail(r, err, err_len, "unknown action (%d)", (int)r->action);
    if (r->schedule < AR_PX_ALL || r->schedule > AR_PX_PROBABILITY)
        return fail(r, err, err_len, "unknown schedule (%d)", (int)r->schedule);
    static const char *const sched_key[] = {"", "times", "after", "every", ""};
    if ((r->schedule == AR_PX_FIRST_N || r->schedule == AR_PX_AFTER_N ||
         r->schedule == AR_PX_EVERY_K) &&
        r->n <= 0)
        return fail(r, err, err_len, "%s must be at least 1 (got %ld)", sched_key[r->schedule],
                    r->n);
    if (r->schedule == AR_PX_PROBABILITY && !(r->p >= 0.0 && r->p <= 1.0))
        return fail(r, err, err_len, "probability must be between 0 and 1 (got %g)", r->p);
    if (r->action == AR_PX_RESPOND && r->status != 0 && (r->status < 100 || r->status > 599))
        return fail(r, err, err_len, "status must be 100-599 (got %d)", r->status);
    if (r->delay_us < 0) return fail(r, err, err_len, "delay must not be negative");
    if (r->hang_us < 0) return fail(r, err, err_len, "hang must not be negative");
    if (r->truncate_bytes < 0)
        return fail(r, err, err_len, "truncate must not be negative (got %lld)",
                    (long long)r->truncate_bytes);
    if (r->action == AR_PX_THROTTLE && r->bytes_per_s < 1)
        return fail(r, err, err_len, "throttle must be at least 1 byte/s (got %lld)",
                    (long long)r->bytes_per_s);
    if (r->turn < 0) return fail(r, err, err_len, "turn must be at least 1 (got %d)", r->turn);
    if (r->method && !r->method[0]) return fail(r, err, err_len, "method must not be empty");
    if (r->json_pointer && r->json_pointer[0] && r->json_pointer[0] != '/')
        return fail(r, err, err_len, "json pointer must be \"\" or start with '/' (got '%s')",
                    r->json_pointer);
    if ((r->json_equals || r->json_matches) && !r->json_pointer)
        return fail(r, err, err_len, "json equals/matches needs a pointer");
    if (r->json_equals && r->json_matches)
        return fail(r, err, err_len, "json: give either equals or matches, not both");
    if (r->header_regex && !r->header_name)
        return fail(r, err, err_len, "header matches needs a name");
    if (r->header_name && !r->header_name[0])
        return fail(r, err, err_len, "header name must not be empty");
    if (r->n_toxics && !r->toxics) return fail(r, err, err_len, "toxics missing");
    for (size_t i = 0; i < r->n_toxics; i++)
        if ((e = check_toxic(r, i, err, err_len))) return e;
    if ((e = compile_re(r, r->path_regex, "path", &r->path_re, err, err_len)) ||
        (e = compile_re(r, r->body_regex, "body", &r->body_re, err, err_len)) ||
        (e = compile_re(r, r->json_matches, "json matches", &r->json_re, err, err_len)) ||
        (e = compile_re(r, r->header_regex, "header matches", &r->header_re, err, err_len))) {
        free_compiled(r);
        return e;
    }
    return AR_OK;
}

static bool re_match(void *code, const char *s, size_t len)
{
    pcre2_code *re = code;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    if (!md) return false;
    int rc = pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, md, NULL);
    pcre2_match_data_free(md);
    return rc >= 0;
}

/* The text a JSON value is compared as: strings without quotes, the rest as compact JSON. */
static char *json_text(const cJSON *v)
{
    if (cJSON_IsString(v)) return ar_strdup(v->valuestring);
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d == floor(d) && fabs(d) < 9e15) return ar_asprintf("%.0f", d);
        /* Shortest text that reads back as the same double: 0.1, not 0.10000000000000001. */
        char buf[32];
        snprintf(buf, sizeof(buf), "%.15g", d);
        if (strtod(buf, NULL) != d) snprintf(buf, sizeof(buf), "%.17g", d);
        return ar_strdup(buf);
    }
    return cJSON_PrintUnformatted(v);
}

static bool json_matches(const ar_px_rule *r, px_req_view *v)
{
    if (!v->json_tried) {
        v->json_tried = true;
        const ar_buf *b = &v->msg->body;
        if (b->len) v->json = cJSON_ParseWithLength(b->ptr, b->len);
    }
    if (!v->json) return false;
    const cJSON *val = ar_json_pointer_get(v->json, r->json_pointer);
    if (!val) return false;
    if (!r->json_equals && !r->json_matches) return true;
    char *text = json_text(val);
    if (!text) return false;
    bool ok = r->json_equals ? strcmp(text, r->json_equals) == 0
                             : re_match(r->json_re, text, strlen(text));
    free(text);
    return ok;
}

bool px_rule_matches(const ar_px_rule *r, px_req_view *v)
{
    const px_msg *m = v->msg;
    if (r->turn > 0 && (uint32_t)r->turn != v->turn) return false;
    if (r->method && strcasecmp(r->method, m->method) != 0) return false;
    if (r->path_re && !re_match(r->path_re, m->target, strlen(m->target))) return false;
    if (r->body_re && !re_match(r->body_re, m->body.ptr ? m->body.ptr : "", m->body.len))
        return false;
    if (r->header_name) {
        bool found = false;
        for (size_t i = 0; i < m->n_hdrs && !found; i++) {
            if (strcasecmp(m->hdrs[i].name, r->header_name) != 0) continue;
            found =
                !r->header_re || re_match(r->header_re, m->hdrs[i].value, strlen(m->hdrs[i].value));
        }
        if (!found) return false;
    }
    if (r->json_pointer && !json_matches(r, v)) return false;
    return true;
}
