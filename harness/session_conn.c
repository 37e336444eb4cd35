/*
 * session_conn.c - opening a session's connection the way its profile says
 * (URL, query, headers, subprotocols), waiting for it, and running the
 * profile's handshake, so the turn loop sees one ready connection or one
 * reason why there is none.
 */
#include "session_int.h"

#include <ctype.h>
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends ?name=value&... (values URL-escaped) to url. Owned result. */
static char *with_query(const char *url, const ar_profile *pf, const ar_vars *vars, char *err,
                        size_t err_len)
{
    ar_buf b;
    ar_buf_init(&b, 64 * 1024);
    ar_buf_puts(&b, url);
    for (size_t i = 0; i < pf->n_query; i++) {
        char *v;
        if (ar_tpl_expand(pf->query_tpls[i], vars, AR_TPL_PLAIN, &v, err, err_len)) {
            ar_buf_free(&b);
            return NULL;
        }
        ar_buf_puts(&b, (i == 0 && !strchr(url, '?')) ? "?" : "&");
        ar_buf_puts(&b, pf->query_names[i]);
        ar_buf_puts(&b, "=");
        for (const unsigned char *c = (const unsigned char *)v; *c; c++) {
            if (isalnum(*c) || strchr("-._~", *c))
                ar_buf_append(&b, c, 1);
            else
                ar_buf_printf(&b, "%%%02X", *c);
        }
        free(v);
    }
    return ar_buf_take(&b);
}

/* What a connection is opened with, after ${} expansion; everything owned. */
typedef struct {
    char *url; /* with the query */
    const char **hdrs; /* 2 * nh: name, value (values point into vals) */
    char **vals;
    size_t nh;
    char *sub; /* subprotocols or NULL */
} conn_spec;

static void spec_free(conn_spec *c, size_t n_vals)
{
    for (size_t i = 0; c->vals && i < n_vals; i++)
        free(c->vals[i]);
    free(c->vals);
    free(c->hdrs);
    free(c->url);
    free(c->sub);
    memset(c, 0, sizeof *c);
}

/* Expands the profile's URL, query, headers and subprotocols for this turn.
 * Template errors are the scenario's (AR_EINVAL) and say which one. */
static ar_err spec_build(sess_state *st, const char *target, ar_vars *vars, conn_spec *c,
                         char *why, size_t why_len)
{
    const ar_profile *pf = st->pf;
    const ar_scenario *scn = st->scn;
    char err[256];
    char *url = NULL;
    memset(c, 0, sizeof *c);
    c->hdrs = calloc(2 * (pf->n_headers + 1) + 1, sizeof *c->hdrs);
    c->vals = calloc(pf->n_headers + 2, sizeof *c->vals);
    if (!c->hdrs || !c->vals) return AR_ENOMEM;
    ar_vars_set(vars, "target", target);
    if (pf->url_tpl && ar_tpl_expand(pf->url_tpl, vars, AR_TPL_PLAIN, &url, err, sizeof err)) {
        snprintf(why, why_len, "protocol %s: url: %s", pf->name, err);
        return AR_EINVAL;
    }
    c->url = with_query(url ? url : target, pf, vars, err, sizeof err);
    free(url);
    if (!c->url) {
        snprintf(why, why_len, "protocol %s: query: %s", pf->name, err);
        return AR_EINVAL;
    }
    for (size_t i = 0; i < pf->n_headers; i++) {
        if (ar_tpl_expand(pf->header_tpls[i], vars, AR_TPL_PLAIN, &c->vals[i], err, sizeof err)) {
            snprintf(why, why_len, "protocol %s: header %s: %s", pf->name, pf->header_names[i],
                     err);
            return AR_EINVAL;
        }
        c->hdrs[2 * c->nh] = pf->header_names[i];
        c->hdrs[2 * c->nh + 1] = c->vals[i];
        c->nh++;
    }
    if (scn->directive.header) {
        if (ar_tpl_expand(scn->directive.value_tpl, vars, AR_TPL_PLAIN, &c->vals[pf->n_headers],
                          err, sizeof err)) {
            snprintf(why, why_len, "%s: fault_directive: %s", scn->file, err);
            return AR_EINVAL;
        }
        c->hdrs[2 * c->nh] = scn->directive.header;
        c->hdrs[2 * c->nh + 1] = c->vals[pf->n_headers];
        c->nh++;
    }
    if (pf->subprotocol_tpl &&
        ar_tpl_expand(pf->subprotocol_tpl, vars, AR_TPL_PLAIN, &c->sub, err, sizeof err)) {
        snprintf(why, why_len, "protocol %s: subprotocols: %s", pf->name, err);
        return AR_EINVAL;
    }
    return AR_OK;
}

/* {"method", "url", "headers": {...}, "subprotocols"}: what the transcript
 * shows of a connection. Owned JSON text. */
static char *spec_describe(const sess_state *st, const conn_spec *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "method", st->pf->transport == AR_PF_SSE ? "POST" : "GET");
    cJSON_AddStringToObject(o, "url", c->url);
    cJSON *h = cJSON_AddObjectToObject(o, "headers");
    for (size_t i = 0; h && i < c->nh; i++)
        cJSON_AddStringToObject(h, c->hdrs[2 * i], c->hdrs[2 * i + 1]);
    if (c->sub) cJSON_AddStringToObject(o, "subprotocols", c->sub);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

char *ar_sess_conn_key(sess_state *st, const char *target, ar_vars *vars, char *why,
                       size_t why_len)
{
    conn_spec c;
    ar_err rc = spec_build(st, target, vars, &c, why, why_len);
    char *key = rc == AR_OK ? spec_describe(st, &c) : NULL;
    if (rc == AR_ENOMEM) snprintf(why, why_len, "out of memory");
    spec_free(&c, st->pf->n_headers + 1);
    return key;
}

/*
 * Opens what the profile asks for: a WebSocket, or an SSE "connection" whose
 * requests are the turns. Records it as "sent" (kind sent, type connect).
 */
static ar_err open_conn(ar_loop *loop, sess_state *st, const char *target, ar_vars *vars,
                        ar_conn **conn, char *why, size_t why_len)
{
    const ar_profile *pf = st->pf;
    char err[256];
    conn_spec c;
    *conn = NULL;
    ar_err rc = spec_build(st, target, vars, &c, why, why_len);
    if (rc == AR_ENOMEM) snprintf(why, why_len, "out of memory");
    if (rc) goto out;
    free(st->conn_desc);
    free(st->conn_key);
    st->conn_desc = spec_describe(st, &c);
    st->conn_key = st->conn_desc ? ar_strdup(st->conn_desc) : NULL;
    if (pf->transport == AR_PF_WS)
        ar_sess_record_sent(st, st->turn, "connect", c.url, st->conn_desc);
    st->open = st->closed = false;
    st->close_code = 0;
    st->close_detail[0] = '\0';
    st->conn_frames = 0;
    if (pf->transport == AR_PF_SSE) {
        ar_sse_opts so = {.headers = c.hdrs, .n_headers = c.nh, .reconnect = pf->sse_reconnect};
        *conn = ar_sse_open(loop, c.url, &so, &ar_sess_cb, st, err, sizeof err);
    } else {
        ar_loop_set_headers(loop, c.hdrs, c.nh);
        ar_loop_set_subprotocols(loop, c.sub);
        ar_loop_set_ping(loop, pf->ping_every_us);
        *conn = ar_ws_connect(loop, c.url, &ar_sess_cb, st, err, sizeof err);
        ar_loop_set_headers(loop, NULL, 0);
        ar_loop_set_subprotocols(loop, NULL);
        ar_loop_set_ping(loop, 0);
    }
    if (!*conn) {
        snprintf(why, why_len, "target %s: %s", target, err);
        rc = AR_EINVAL;
        goto out;
    }
    rc = AR_OK;
out:
    spec_free(&c, pf->n_headers + 1);
    return rc;
}

/* Runs the profile's handshake: wait for frames, send frames, capture. */
static ar_err handshake(ar_loop *loop, const ar_sess_cfg *cfg, sess_state *st, ar_conn *conn,
                        ar_vars *vars, size_t seen, int64_t deadline, char *why, size_t why_len)
{
    const ar_profile *pf = st->pf;
    for (size_t i = 0; i < pf->n_handshake; i++) {
        const ar_pf_step *step = &pf->handshake[i];
        char err[256];
        if (step->kind == AR_PF_HS_SEND) {
            char *frame = ar_pf_build_send(pf, step->frame, vars, NULL, NULL, err, sizeof err);
            if (!frame) {
                snprintf(why, why_len, "protocol %s: handshake step %zu: %s", pf->name, i + 1, err);
                return AR_EINVAL;
            }
            ar_err rc = ar_conn_send(conn, frame, strlen(frame));
            free(frame);
            if (rc) {
                snprintf(why, why_len, "handshake step %zu: could not send: %s", i + 1,
                         ar_strerror(rc));
                return AR_ECONNECT;
            }
            continue;
        }
        for (;;) {
            size_t n = ar_rec_count(st->rec, st->sid);
            for (; seen < n; seen++) {
                const ar_event *ev = ar_rec_get(st->rec, st->sid, seen);
                if (ev->kind == AR_EV_FAULT || !ev->raw) continue;
                if (!ar_pf_frame_matches(pf, ev->raw, ev->raw_len, step->type,
                                         step->has_when ? &step->when : NULL))
                    continue;
                for (size_t c = 0; c < step->n_caps; c++) {
                    char *v = ar_pf_frame_value(ev->raw, ev->raw_len, step->cap_pointers[c]);
                    if (!v) {
                        snprintf(why, why_len,
                                 "handshake step %zu: capture '%s': %s not found in the frame",
                                 i + 1, step->cap_names[c], step->cap_pointers[c]);
                        return AR_EPROTO;
                    }
                    ar_vars_set(vars, step->cap_names[c], v);
                    free(v);
                }
                seen++;
                goto next_step;
            }
            if (st->closed) {
                snprintf(why, why_len,
                         "the service closed the connection during the handshake (%s)",
                         st->close_detail);
                return AR_ECONNECT;
            }
            int64_t left = deadline - ar_now_us();
            if (left <= 0 || atomic_load(cfg->stop)) {
                snprintf(why, why_len, "handshake step %zu: no frame %s%s within the deadline",
                         i + 1, step->type ? "of type " : "matching its condition",
                         step->type ? step->type : "");
                return AR_ETIMEOUT;
            }
            ar_loop_step(loop, left < STEP_MAX_US ? left : STEP_MAX_US);
        }
    next_step:;
    }
    return AR_OK;
}

/*
 * Opens the session's connection, waits for it, and runs the profile's
 * handshake. On failure returns the error and writes why into why (the
 * connection, if any, is released).
 */
ar_err ar_sess_connect_wait(ar_loop *loop, const ar_sess_cfg *cfg, const ar_scenario *scn,
                           sess_state *st, const char *url, ar_vars *vars, int64_t budget_us,
                           ar_conn **conn, char *why, size_t why_len)
{
    /* Frames from here on count for the handshake: a service may greet in the
     * same read as the upgrade, before the handshake starts waiting. */
    size_t first = ar_rec_count(st->rec, st->sid);
    (void)scn;
    ar_err rc = open_conn(loop, st, url, vars, conn, why, why_len);
    if (rc) return rc;
    int64_t deadline = ar_now_us() + budget_us;
    while (!st->open && !st->closed && !atomic_load(cfg->stop) && ar_now_us() < deadline)
        ar_loop_step(loop, STEP_MAX_US);
    if (st->open) {
        rc = handshake(loop, cfg, st, *conn, vars, first, deadline, why, why_len);
        if (rc == AR_OK) return AR_OK;
        ar_conn_close(*conn);
        *conn = NULL;
        return rc == AR_EINVAL ? AR_EINVAL : AR_ECONNECT;
    }
    rc = AR_ECONNECT;
    if (atomic_load(cfg->stop)) {
        snprintf(why, why_len, "interrupted while connecting");
        rc = AR_EINTERNAL;
    } else if (st->closed) {
        snprintf(why, why_len, "could not connect to %s: %s", url, st->close_detail);
    } else {
        char when[32];
        ar_fmt_duration(budget_us, when, sizeof when);
        snprintf(why, why_len, "could not connect to %s: no handshake within %s", url, when);
    }
    ar_conn_close(*conn);
    *conn = NULL;
    return rc;
}
