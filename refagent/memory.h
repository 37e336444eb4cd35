/*
 * memory.h - conversation memory: the facts a user has told us, per thread_id.
 *
 * Memory outlives the WebSocket connection (a client may reconnect with the
 * same thread_id) and is bounded: at most max_threads threads, the least
 * recently used one is evicted first. All calls are thread-safe.
 */
#ifndef RA_MEMORY_H
#define RA_MEMORY_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RA_MAX_FRAMEWORKS 8
#define RA_THREAD_ID_MAX 128

/* Plain data: the facts known about one conversation. Unknown = "" / -1. */
typedef struct {
    char spend[32];                         /* as people write it: "$50K/month" */
    int64_t spend_usd;                      /* monthly, in dollars; -1 unknown */
    int gpu_instances;                      /* -1 unknown */
    int training_jobs;                      /* -1 unknown */
    char platform[32];                      /* "Kubernetes", "Slurm", ... */
    char frameworks[RA_MAX_FRAMEWORKS][16]; /* "PCI-DSS", "SOC 2", ... */
    int n_frameworks;
} ra_facts;

/* Sets every fact to unknown. */
void ra_facts_init(ra_facts *f);
/*
 * Merges the facts found in message and context (either may be NULL) into f:
 * newer values replace older ones, frameworks accumulate. Borrows both.
 */
void ra_facts_extract(ra_facts *f, const char *message, const cJSON *context);
/* Returns an owned JSON object of the known facts (unknown ones are omitted). */
cJSON *ra_facts_to_json(const ra_facts *f);
/* Reads facts back from ra_facts_to_json's shape (what the deps server receives). */
void ra_facts_from_json(ra_facts *f, const cJSON *obj);
/* Parses "$50K/month", "$1.2M", "50000"; returns dollars or -1. */
int64_t ra_parse_spend(const char *s);

typedef struct ra_mem ra_mem;

/* Returns an owned store holding at most max_threads (>= 1) threads, or NULL. */
ra_mem *ra_mem_new(size_t max_threads);
/* Frees the store. NULL-safe. */
void ra_mem_free(ra_mem *m);

/*
 * Starts a turn on thread_id (borrowed; created when new, evicting the least
 * recently used thread at the cap): merges the facts of message/context,
 * copies the thread's facts into *out and returns the new 1-based turn
 * number. Returns 0 on allocation failure.
 */
uint32_t ra_mem_begin_turn(ra_mem *m, const char *thread_id, const char *message,
                           const cJSON *context, ra_facts *out);
/* Copies a thread's facts into *out; false when the thread is unknown. */
bool ra_mem_get(ra_mem *m, const char *thread_id, ra_facts *out);
/* Number of threads held. */
size_t ra_mem_count(ra_mem *m);

#endif
