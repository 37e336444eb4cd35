/*
 * faultenv.c - one fault-injection session's environment (faultenv.h).
 *
 * The proxy reports every request from its own threads; hits are recorded
 * into the session's transcript as "fault" events (through the thread-safe
 * recorder) and kept here for the judging that follows the session: did the
 * fault fire, did the service surface it, how long until it recovered.
 */
#include "faultenv.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"
#include "refproc.h"
#include "template.h"

#define HITS_MAX 4096

/* One recorded proxy hit, kept for the surfacing checks. */
typedef struct {
    int rule;
    char path[160];
    int64_t at_us;
    uint32_t turn;
} hit_note;

struct ar_fenv {
    ar_rec *rec;
    atomic_uint sid; /* recorder session of this trial, once open */
    atomic_bool sid_set;
    ar_proxy *px;
    ar_refproc *ref;
    ar_px_rule *rules; /* shallow copies of the scenario's rules */
    char *upstream;
    const char *target_override;
    pthread_mutex_t mu;
    hit_note *hits;
    size_t n_hits;
    size_t dropped_hits;
};

static void on_hit(void *user, const ar_px_hit *h)
{
    ar_fenv *t = user;
    pthread_mutex_lock(&t->mu);
    if (t->n_hits < HITS_MAX) {
        hit_note *n = &t->hits[t->n_hits++];
        n->rule = h->rule;
        snprintf(n->path, sizeof n->path, "%s", h->path ? h->path : "");
        n->at_us = h->at_us;
        n->turn = h->turn;
    } else {
        t->dropped_hits++;
    }
    pthread_mutex_unlock(&t->mu);
    if (!atomic_load(&t->sid_set)) return;
    ar_event ev;
    ar_event_init(&ev);
    ev.kind = AR_EV_FAULT;
    ev.session = atomic_load(&t->sid);
    ev.turn = h->turn;
    ev.recv_us = h->at_us;
    ev.type = strdup("proxy");
    ev.tool = h->name ? strdup(h->name) : NULL;
    ev.status = h->rule >= 0 ? AR_ST_ERROR : AR_ST_OK;
    ev.text =
        ar_asprintf("%s %s %s -> %d%s%s (%.1fms)", ar_px_action_name(h->action),
                    h->method ? h->method : "?", h->path ? h->path : "?", h->status,
                    h->detail ? ": " : "", h->detail ? h->detail : "", (double)h->took_us / 1e3);
    ar_rec_add(t->rec, &ev);
}

static void on_turn(void *user, uint32_t turn)
{
    ar_fenv *t = user;
    if (t->px) ar_px_set_turn(t->px, turn);
}

static void on_session(void *user, uint32_t sid)
{
    ar_fenv *t = user;
    atomic_store(&t->sid, sid);
    atomic_store(&t->sid_set, true);
}

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

uint64_t ar_fenv_seed(uint64_t seed, size_t scenario, long trial)
{
    return mix(seed ^ mix((uint64_t)scenario * 1000003ULL + (uint64_t)trial));
}

/* The turn a fault first fired in (1 when unknown) and when. */
static void first_fire(const ar_fenv *t, uint32_t *turn, int64_t *at_us)
{
    *turn = 0;
    *at_us = -1;
    for (size_t i = 0; i < t->n_hits; i++)
        if (t->hits[i].rule >= 0 && (*at_us < 0 || t->hits[i].at_us < *at_us)) {
            *at_us = t->hits[i].at_us;
            *turn = t->hits[i].turn;
        }
}

/*
 * The surfacing check for a named fault: the service must say, in its own
 * events, that something failed (a tool_completed or agent_completed with
 * status error for the faulted tool or agent). A tool failure may instead be
 * absorbed by a retry that succeeds; then the retry itself is the evidence:
 * the proxy saw the same call again after failing it.
 */
static void check_surfaced(const ar_scenario *scn, const ar_fenv *t, ar_session_result *r)
{
    uint32_t turn;
    int64_t at;
    first_fire(t, &turn, &at);
    if (turn == 0 || turn > r->n_turns) turn = 1;
    ar_turn_result *res = &r->turns[turn - 1];
    if (!res->ran) return;
    for (size_t f = 0; f < scn->n_faults; f++) {
        const ar_fault *fl = &scn->faults[f];
        if (!fl->subject) continue; /* raw rules: the scenario's expectations decide */
        bool tool = strncmp(fl->type, "tool_", 5) == 0;
        bool found = false;
        for (size_t i = 0; i < res->n_events && !found; i++) {
            const ar_event *ev = ar_rec_get(t->rec, r->rec_session, res->first_event + i);
            if (!ev || ev->status != AR_ST_ERROR) continue;
            if (tool && ev->kind == AR_EV_TOOL_COMPLETED && ev->tool &&
                !strcmp(ev->tool, fl->subject))
                found = true;
            if (!tool && ev->kind == AR_EV_AGENT_COMPLETED && ev->agent &&
                !strcmp(ev->agent, fl->subject))
                found = true;
        }
        if (found) {
            ar_checks_add(&res->checks, "fault_surfaced", true,
                          "fault_surfaced: %s on %s was reported by the service (%s with status "
                          "error)",
                          fl->type, fl->subject, tool ? "tool_completed" : "agent_completed");
            continue;
        }
        if (tool) {
            /* Absorbed by a retry? Then the retry is the evidence: the proxy
             * forwarded the same call after it had failed it. */
            bool retried = false;
            for (size_t i = 0; i < t->n_hits && !retried; i++)
                if (t->hits[i].rule < 0 && t->hits[i].at_us > at &&
                    strstr(t->hits[i].path, fl->subject))
                    retried = true;
            ar_checks_add(&res->checks, "fault_surfaced", retried,
                          retried ? "fault_surfaced: %s on %s was absorbed by a retry (the proxy "
                                    "saw the call again after failing it)"
                                  : "fault_surfaced: %s on %s: expected a tool_completed with "
                                    "status error or a retry, observed neither",
                          fl->type, fl->subject);
            continue;
        }
        ar_checks_add(&res->checks, "fault_surfaced", false,
                      "fault_surfaced: %s on %s: expected a %s for %s with status error, observed "
                      "none",
                      fl->type, fl->subject, tool ? "tool_completed" : "agent_completed",
                      fl->subject);
    }
    ar_session_result_settle(r);
}

static bool client_fault_fired(const ar_rec *rec, const ar_session_result *res)
{
    size_t n = ar_rec_count(rec, res->rec_session);
    for (size_t i = 0; i < n; i++) {
        const ar_event *ev = ar_rec_get(rec, res->rec_session, i);
        if (ev->kind == AR_EV_FAULT && ev->type && !strcmp(ev->type, "client_fault")) return true;
    }
    return false;
}

static bool client_disconnected(const ar_rec *rec, uint32_t sid, const ar_turn_result *res)
{
    for (size_t i = 0; i < res->n_events; i++) {
        const ar_event *ev = ar_rec_get(rec, sid, res->first_event + i);
        if (ev && ev->kind == AR_EV_FAULT && ev->text && !strncmp(ev->text, "disconnect:", 11))
            return true;
    }
    return false;
}

/* Time to recover: from the first fault hit to the end of the turn it hit
 * (or, for a disconnect, of the next turn). */
static int64_t time_to_recover(const ar_fenv *t, const ar_session_result *r)
{
    uint32_t turn;
    int64_t at;
    first_fire(t, &turn, &at);
    if (at < 0) {
        /* client faults: from the fault event to the end of that turn */
        size_t n = ar_rec_count(t->rec, r->rec_session);
        for (size_t i = 0; i < n && at < 0; i++) {
            const ar_event *ev = ar_rec_get(t->rec, r->rec_session, i);
            if (ev->kind == AR_EV_FAULT) {
                at = ev->recv_us;
                turn = ev->turn;
            }
        }
    }
    if (at < 0 || turn == 0 || turn > r->n_turns) return -1;
    /* Recovered means a turn ended in its terminal event after the fault: a
     * disconnect ends its own turn early, so the recovery is the next turn. */
    for (size_t k = turn - 1; k < r->n_turns; k++) {
        const ar_turn_result *res = &r->turns[k];
        if (res->ran && res->end_us > at && res->n_events > 0 &&
            !(k == turn - 1 && client_disconnected(t->rec, r->rec_session, res)))
            return res->end_us - at;
    }
    return -1;
}

ar_err ar_fenv_start(const ar_fenv_cfg *cfg, const ar_scenario *scn, uint64_t seed, ar_fenv **out,
                     char *err, size_t err_len)
{
    *out = NULL;
    ar_fenv *t = calloc(1, sizeof *t);
    if (!t) return AR_ENOMEM;
    t->rec = cfg->rec;
    t->target_override = cfg->target_override;
    pthread_mutex_init(&t->mu, NULL);
    t->hits = calloc(HITS_MAX, sizeof *t->hits);
    char why[512];
    ar_err rc = AR_OK;
    if (!t->hits) {
        rc = AR_ENOMEM;
        snprintf(err, err_len, "out of memory");
        goto fail;
    }
    if (scn->n_faults) {
        size_t n = 0;
        for (size_t f = 0; f < scn->n_faults; f++)
            n += scn->faults[f].n_rules;
        t->rules = calloc(n, sizeof *t->rules);
        if (!t->rules) {
            rc = AR_ENOMEM;
            snprintf(err, err_len, "out of memory");
            goto fail;
        }
        n = 0;
        for (size_t f = 0; f < scn->n_faults; f++)
            for (size_t k = 0; k < scn->faults[f].n_rules; k++)
                t->rules[n++] = scn->faults[f].rules[k];
        if (scn->proxy_upstream_tpl && ar_tpl_expand(scn->proxy_upstream_tpl, cfg->vars, AR_TPL_PLAIN,
                                                     &t->upstream, why, sizeof why)) {
            rc = AR_EINVAL;
            snprintf(err, err_len, "%s: proxy upstream: %s", scn->file, why);
            goto fail;
        }
        int port = 0;
        char host[64] = "127.0.0.1";
        if (scn->proxy_listen) {
            const char *colon = strrchr(scn->proxy_listen, ':');
            if (colon) {
                snprintf(host, sizeof host, "%.*s", (int)(colon - scn->proxy_listen),
                         scn->proxy_listen);
                port = atoi(colon + 1);
            }
        }
        ar_px_cfg pc = {.listen_host = host,
                        .listen_port = port,
                        .upstream = t->upstream ? t->upstream : cfg->deps_url,
                        .rules = t->rules,
                        .n_rules = n,
                        .seed = seed,
                        .on_hit = on_hit,
                        .user = t};
        if (!pc.upstream) {
            rc = AR_EINVAL;
            snprintf(err, err_len,
                     "%s: a scenario with faults and its own target needs proxy: {upstream: "
                     "URL of its dependencies}",
                     scn->file);
            goto fail;
        }
        if ((rc = ar_px_start(&pc, &t->px, why, sizeof why)) != AR_OK) {
            snprintf(err, err_len, "could not start the fault proxy: %s", why);
            goto fail;
        }
    }
    if (!cfg->target_override && !scn->target_tpl) {
        const char *args[64];
        size_t na = 0;
        char tools[160], model[160];
        /* Short dependency timeouts so timeout faults resolve in well under a
         * second; the user's --refagent-arg come after and win. */
        args[na++] = "--think-ms=0";
        args[na++] = "--dep-timeout-ms=500";
        if (t->px) {
            snprintf(tools, sizeof tools, "--tools-url=%s", ar_px_url(t->px));
            snprintf(model, sizeof model, "--model-url=%s", ar_px_url(t->px));
            args[na++] = tools;
            args[na++] = model;
        }
        for (size_t i = 0; i < cfg->n_refagent_args && na < AR_ARRAY_LEN(args); i++)
            args[na++] = cfg->refagent_args[i];
        if ((rc = ar_refproc_start(cfg->refbin, args, na, cfg->reflog, "listening ", &t->ref, why,
                                   sizeof why)) != AR_OK) {
            snprintf(err, err_len, "could not start refagent: %s", why);
            goto fail;
        }
    }
    *out = t;
    return AR_OK;
fail:
    ar_fenv_free(t);
    return rc;
}

void ar_fenv_session(ar_fenv *env, ar_sess_cfg *sc)
{
    sc->default_target = env->ref ? ar_refproc_url(env->ref) : NULL;
    sc->on_turn = on_turn;
    sc->on_session = on_session;
    sc->hook_user = env;
}

void ar_fenv_finish(ar_fenv *t, const ar_scenario *scn, ar_session_result *r, bool *fired,
                    int64_t *ttr_us)
{
    *ttr_us = -1;
    /* Stop first: after this no hit can arrive, so the notes are complete. */
    ar_refproc_stop(t->ref);
    t->ref = NULL;
    ar_px_stop(t->px);
    t->px = NULL;
    if (r->outcome == AR_OUT_ERROR) {
        *fired = true; /* it counts against the service: it could not be driven */
        return;
    }
    *fired = false;
    for (size_t i = 0; i < t->n_hits; i++)
        *fired = *fired || t->hits[i].rule >= 0;
    *fired = *fired || client_fault_fired(t->rec, r);
    if (!*fired) {
        for (size_t k = 0; k < r->n_turns; k++)
            if (r->turns[k].ran) {
                ar_checks_add(&r->turns[k].checks, "fault_fired", false,
                              "fault_fired: the fault did not fire (no request matched it, or its "
                              "schedule chose none): inconclusive, not counted as a recovery");
                break;
            }
        ar_session_result_settle(r);
        return;
    }
    check_surfaced(scn, t, r);
    if (r->outcome == AR_OUT_PASS) *ttr_us = time_to_recover(t, r);
}

void ar_fenv_free(ar_fenv *t)
{
    if (!t) return;
    ar_refproc_stop(t->ref);
    ar_px_stop(t->px);
    free(t->rules); /* shallow copies: the scenario owns the strings */
    free(t->upstream);
    free(t->hits);
    pthread_mutex_destroy(&t->mu);
    free(t);
}
