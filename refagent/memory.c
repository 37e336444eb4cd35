/*
 * memory.c - per-thread conversation facts with an LRU cap.
 *
 * Facts are pulled out of free text with small hand-written scanners rather
 * than a regex engine: the shapes are few ("$50K/month", "20 GPU instances",
 * "150 training jobs", keywords) and the result must be deterministic.
 * The store is a hash table for lookup plus a doubly linked list in
 * recency order, so begin_turn is O(1) even at the 10,000-thread cap.
 */
#include "memory.h"
#include "util.h"

#include <ctype.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RA_MEM_BUCKETS 4096u

void ra_facts_init(ra_facts *f)
{
    memset(f, 0, sizeof(*f));
    f->spend_usd = -1;
    f->gpu_instances = -1;
    f->training_jobs = -1;
}

static void format_spend(int64_t usd, char *out, size_t out_len)
{
    if (usd >= 1000000 && usd % 1000000 == 0)
        snprintf(out, out_len, "$%" PRId64 "M/month", usd / 1000000);
    else if (usd >= 1000 && usd % 1000 == 0)
        snprintf(out, out_len, "$%" PRId64 "K/month", usd / 1000);
    else
        snprintf(out, out_len, "$%" PRId64 "/month", usd);
}

int64_t ra_parse_spend(const char *s)
{
    if (!s) return -1;
    while (*s == ' ' || *s == '$')
        s++;
    if (!isdigit((unsigned char)*s)) return -1;
    char *end = NULL;
    double v = strtod(s, &end);
    /* Thousands separators: "50,000". */
    while (*end == ',' && isdigit((unsigned char)end[1])) {
        char *e2 = NULL;
        double part = strtod(end + 1, &e2);
        if (e2 - (end + 1) != 3) break;
        v = v * 1000 + part;
        end = e2;
    }
    if (*end == 'k' || *end == 'K')
        v *= 1000;
    else if (*end == 'm' || *end == 'M')
        v *= 1000000;
    if (v < 0 || v > 1e12) return -1;
    return (int64_t)(v + 0.5);
}

static void set_spend(ra_facts *f, int64_t usd)
{
    if (usd <= 0) return;
    f->spend_usd = usd;
    format_spend(usd, f->spend, sizeof(f->spend));
}

/* Finds "<int> <word>" in text, e.g. "20 GPU" or "150 training jobs"; -1 if absent. */
static int find_count_before(const char *text, const char *const *words, size_t n_words)
{
    for (const char *p = text; *p; p++) {
        if (!isdigit((unsigned char)*p)) continue;
        if (p > text &&
            (isalnum((unsigned char)p[-1]) || p[-1] == '$' || p[-1] == '.' || p[-1] == ',')) {
            while (isdigit((unsigned char)p[1]))
                p++;
            continue;
        }
        char *end = NULL;
        long v = strtol(p, &end, 10);
        const char *q = end;
        while (*q == ' ' || *q == '-')
            q++;
        for (size_t i = 0; i < n_words; i++) {
            if (strncasecmp(q, words[i], strlen(words[i])) == 0 && v >= 0 && v < 1000000)
                return (int)v;
        }
        p = end - 1;
    }
    return -1;
}

static void add_framework(ra_facts *f, const char *name)
{
    for (int i = 0; i < f->n_frameworks; i++) {
        if (strcmp(f->frameworks[i], name) == 0) return;
    }
    if (f->n_frameworks >= RA_MAX_FRAMEWORKS) return;
    snprintf(f->frameworks[f->n_frameworks], sizeof(f->frameworks[0]), "%s", name);
    f->n_frameworks++;
}

static void frameworks_from_text(ra_facts *f, const char *text)
{
    if (ra_contains_ci(text, "pci")) add_framework(f, "PCI-DSS");
    if (ra_contains_ci(text, "soc 2") || ra_contains_ci(text, "soc2")) add_framework(f, "SOC 2");
    if (ra_contains_ci(text, "gdpr")) add_framework(f, "GDPR");
    if (ra_contains_ci(text, "hipaa")) add_framework(f, "HIPAA");
}

static void platform_from_text(ra_facts *f, const char *text)
{
    if (ra_contains_ci(text, "kubernetes") || ra_contains_ci(text, "k8s"))
        snprintf(f->platform, sizeof(f->platform), "Kubernetes");
    else if (ra_contains_ci(text, "slurm"))
        snprintf(f->platform, sizeof(f->platform), "Slurm");
    else if (ra_contains_ci(text, "sagemaker"))
        snprintf(f->platform, sizeof(f->platform), "SageMaker");
}

static void spend_from_text(ra_facts *f, const char *text)
{
    for (const char *p = strchr(text, '$'); p; p = strchr(p + 1, '$')) {
        int64_t usd = ra_parse_spend(p);
        if (usd > 0) {
            set_spend(f, usd);
            return;
        }
    }
}

static int json_count(const cJSON *v)
{
    if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e6)
        return (int)v->valuedouble;
    if (cJSON_IsString(v)) {
        char *end = NULL;
        long n = strtol(v->valuestring, &end, 10);
        if (end != v->valuestring && n >= 0 && n < 1000000) return (int)n;
    }
    return -1;
}

static void facts_from_context(ra_facts *f, const cJSON *ctx)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(ctx, "current_spend");
    if (cJSON_IsString(v))
        set_spend(f, ra_parse_spend(v->valuestring));
    else if (cJSON_IsNumber(v))
        set_spend(f, (int64_t)v->valuedouble);
    int n = json_count(cJSON_GetObjectItemCaseSensitive(ctx, "gpu_instances"));
    if (n >= 0) f->gpu_instances = n;
    n = json_count(cJSON_GetObjectItemCaseSensitive(ctx, "training_jobs"));
    if (n >= 0) f->training_jobs = n;
    v = cJSON_GetObjectItemCaseSensitive(ctx, "platform");
    if (cJSON_IsString(v) && v->valuestring[0]) {
        ra_facts probe;
        ra_facts_init(&probe);
        platform_from_text(&probe, v->valuestring);
        snprintf(f->platform, sizeof(f->platform), "%s",
                 probe.platform[0] ? probe.platform : v->valuestring);
    }
    static const char *const keys[] = {"compliance", "frameworks", "framework"};
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        v = cJSON_GetObjectItemCaseSensitive(ctx, keys[k]);
        if (cJSON_IsString(v)) {
            frameworks_from_text(f, v->valuestring);
        } else if (cJSON_IsArray(v)) {
            const cJSON *it;
            cJSON_ArrayForEach(it, v)
            {
                if (cJSON_IsString(it)) frameworks_from_text(f, it->valuestring);
            }
        }
    }
}

void ra_facts_extract(ra_facts *f, const char *message, const cJSON *context)
{
    if (message) {
        static const char *const gpu_words[] = {"gpu", "x gpu"};
        static const char *const job_words[] = {"training job", "job"};
        spend_from_text(f, message);
        int n = find_count_before(message, gpu_words, 2);
        if (n >= 0) f->gpu_instances = n;
        n = find_count_before(message, job_words, 2);
        if (n >= 0) f->training_jobs = n;
        platform_from_text(f, message);
        frameworks_from_text(f, message);
    }
    if (cJSON_IsObject(context)) facts_from_context(f, context);
}

cJSON *ra_facts_to_json(const ra_facts *f)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    if (f->spend_usd > 0) {
        cJSON_AddStringToObject(o, "spend", f->spend);
        cJSON_AddNumberToObject(o, "spend_usd", (double)f->spend_usd);
    }
    if (f->gpu_instances >= 0) cJSON_AddNumberToObject(o, "gpu_instances", f->gpu_instances);
    if (f->training_jobs >= 0) cJSON_AddNumberToObject(o, "training_jobs", f->training_jobs);
    if (f->platform[0]) cJSON_AddStringToObject(o, "platform", f->platform);
    if (f->n_frameworks > 0) {
        cJSON *arr = cJSON_AddArrayToObject(o, "frameworks");
        for (int i = 0; arr && i < f->n_frameworks; i++)
            cJSON_AddItemToArray(arr, cJSON_CreateString(f->frameworks[i]));
    }
    return o;
}

void ra_facts_from_json(ra_facts *f, const cJSON *obj)
{
    ra_facts_init(f);
    if (!cJSON_IsObject(obj)) return;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "spend_usd");
    if (cJSON_IsNumber(v))
        set_spend(f, (int64_t)v->valuedouble);
    else if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(obj, "spend")))
        set_spend(f, ra_parse_spend(v->valuestring));
    int n = json_count(cJSON_GetObjectItemCaseSensitive(obj, "gpu_instances"));
    f->gpu_instances = n;
    n = json_count(cJSON_GetObjectItemCaseSensitive(obj, "training_jobs"));
    f->training_jobs = n;
    v = cJSON_GetObjectItemCaseSensitive(obj, "platform");
    if (cJSON_IsString(v)) snprintf(f->platform, sizeof(f->platform), "%s", v->valuestring);
    v = cJSON_GetObjectItemCaseSensitive(obj, "frameworks");
    const cJSON *it;
    cJSON_ArrayForEach(it, v)
    {
        if (cJSON_IsString(it)) add_framework(f, it->valuestring);
    }
}

typedef struct ra_thread {
    char id[RA_THREAD_ID_MAX + 1];
    uint32_t turns;
    ra_facts facts;
    struct ra_thread *hnext;               /* hash chain */
    struct ra_thread *lru_prev, *lru_next; /* most recent at head */
} ra_thread;

struct ra_mem {
    pthread_mutex_t mu;
    size_t max_threads;
    size_t count;
    ra_thread *buckets[RA_MEM_BUCKETS];
    ra_thread *head, *tail;
};

static uint32_t hash_id(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h % RA_MEM_BUCKETS;
}

ra_mem *ra_mem_new(size_t max_threads)
{
    if (max_threads == 0) return NULL;
    ra_mem *m = calloc(1, sizeof(*m));
    if (!m) return NULL;
    pthread_mutex_init(&m->mu, NULL);
    m->max_threads = max_threads;
    return m;
}

void ra_mem_free(ra_mem *m)
{
    if (!m) return;
    ra_thread *t = m->head;
    while (t) {
        ra_thread *next = t->lru_next;
        free(t);
        t = next;
    }
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static void lru_unlink(ra_mem *m, ra_thread *t)
{
    if (t->lru_prev)
        t->lru_prev->lru_next = t->lru_next;
    else
        m->head = t->lru_next;
    if (t->lru_next)
        t->lru_next->lru_prev = t->lru_prev;
    else
        m->tail = t->lru_prev;
    t->lru_prev = t->lru_next = NULL;
}

static void lru_push_front(ra_mem *m, ra_thread *t)
{
    t->lru_next = m->head;
    t->lru_prev = NULL;
    if (m->head) m->head->lru_prev = t;
    m->head = t;
    if (!m->tail) m->tail = t;
}

static ra_thread *find_locked(ra_mem *m, const char *id)
{
    for (ra_thread *t = m->buckets[hash_id(id)]; t; t = t->hnext) {
        if (strcmp(t->id, id) == 0) return t;
    }
    return NULL;
}

static void evict_locked(ra_mem *m)
{
    ra_thread *victim = m->tail;
    if (!victim) return;
    lru_unlink(m, victim);
    ra_thread **pp = &m->buckets[hash_id(victim->id)];
    while (*pp && *pp != victim)
        pp = &(*pp)->hnext;
    if (*pp) *pp = victim->hnext;
    free(victim);
    m->count--;
}

uint32_t ra_mem_begin_turn(ra_mem *m, const char *thread_id, const char *message,
                           const cJSON *context, ra_facts *out)
{
    pthread_mutex_lock(&m->mu);
    ra_thread *t = find_locked(m, thread_id);
    if (t) {
        lru_unlink(m, t);
    } else {
        if (m->count >= m->max_threads) evict_locked(m);
        t = calloc(1, sizeof(*t));
        if (!t) {
            pthread_mutex_unlock(&m->mu);
            return 0;
        }
        snprintf(t->id, sizeof(t->id), "%s", thread_id);
        ra_facts_init(&t->facts);
        uint32_t b = hash_id(t->id);
        t->hnext = m->buckets[b];
        m->buckets[b] = t;
        m->count++;
    }
    lru_push_front(m, t);
    ra_facts_extract(&t->facts, message, context);
    uint32_t turn = ++t->turns;
    *out = t->facts;
    pthread_mutex_unlock(&m->mu);
    return turn;
}

bool ra_mem_get(ra_mem *m, const char *thread_id, ra_facts *out)
{
    pthread_mutex_lock(&m->mu);
    ra_thread *t = find_locked(m, thread_id);
    if (t) *out = t->facts;
    pthread_mutex_unlock(&m->mu);
    return t != NULL;
}

size_t ra_mem_count(ra_mem *m)
{
    pthread_mutex_lock(&m->mu);
    size_t n = m->count;
    pthread_mutex_unlock(&m->mu);
    return n;
}
