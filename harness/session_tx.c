/*
 * session_tx.c - what goes out: a turn's frame built from the profile's send
 * template, or what a client fault sends instead of it.
 */
#include "session_int.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Expands ${} in every string inside a JSON value, in place. */
static ar_err expand_json(cJSON *node, const ar_vars *vars, char *err, size_t err_len)
{
    if (cJSON_IsString(node)) {
        char *s;
        ar_err rc = ar_tpl_expand(node->valuestring, vars, AR_TPL_PLAIN, &s, err, err_len);
        if (rc) return rc;
        cJSON_free(node->valuestring);
        node->valuestring = cJSON_malloc(strlen(s) + 1);
        if (!node->valuestring) {
            free(s);
            return AR_ENOMEM;
        }
        strcpy(node->valuestring, s);
        free(s);
        return AR_OK;
    }
    for (cJSON *c = node->child; c; c = c->next) {
        ar_err rc = expand_json(c, vars, err, err_len);
        if (rc) return rc;
    }
    return AR_OK;
}

/*
 * The frame (or SSE request body) for a turn, from the profile's send
 * template: ${message}, ${thread_id}, ${turn}, ${target}, captures and the
 * environment; ${context} and ${messages} as JSON values. A directive field
 * and the unknown-type client fault are applied to the built object.
 */
char *ar_sess_build_message(const ar_scenario *scn, const ar_turn *t, sess_state *st, ar_vars *vars,
                           const cJSON *history, const char *type, char **expanded_msg, char *err,
                           size_t err_len)
{
    char *msg = NULL, *directive = NULL;
    const ar_directive *d = t->directive.value_tpl ? &t->directive : &scn->directive;
    if (ar_tpl_expand(t->message_tpl, vars, AR_TPL_PLAIN, &msg, err, err_len)) return NULL;
    if (d->value_tpl && d->field &&
        ar_tpl_expand(d->value_tpl, vars, AR_TPL_PLAIN, &directive, err, err_len)) {
        free(msg);
        return NULL;
    }
    cJSON *ctx = NULL;
    if (t->context) {
        ctx = cJSON_Duplicate(t->context, 1);
        if (!ctx || expand_json(ctx, vars, err, err_len)) {
            cJSON_Delete(ctx);
            free(msg);
            free(directive);
            return NULL;
        }
    }
    ar_vars_set(vars, "message", msg);
    char *out = ar_pf_build_send(st->pf, st->pf->send, vars, ctx, history, err, err_len);
    cJSON_Delete(ctx);
    if (out && (directive || type)) {
        cJSON *frame = cJSON_Parse(out);
        free(out);
        out = NULL;
        if (cJSON_IsObject(frame)) {
            if (directive) {
                cJSON_DeleteItemFromObjectCaseSensitive(frame, d->field);
                cJSON_AddStringToObject(frame, d->field, directive);
            }
            if (type) {
                cJSON_DeleteItemFromObjectCaseSensitive(frame, "type");
                cJSON_AddStringToObject(frame, "type", type);
            }
            out = cJSON_PrintUnformatted(frame);
        }
        cJSON_Delete(frame);
        if (!out) snprintf(err, err_len, "the profile's send template is not a JSON object");
    }
    free(directive);
    if (!out) {
        free(msg);
        return NULL;
    }
    *expanded_msg = msg;
    return out;
}

/*
 * What to put on the wire for a turn with a "send_*" client fault: a raw
 * text frame, a binary frame, a frame over the service's cap, or the normal
 * frame (*binary false, returned NULL: use the normal message).
 */
static char *fault_frame(const ar_client_fault *cf, const char *normal, size_t *len, bool *binary)
{
    *binary = false;
    switch (cf->kind) {
    case AR_CF_SEND_RAW:
        *len = strlen(cf->raw);
        return strdup(cf->raw);
    case AR_CF_SEND_BINARY: {
        char *b = malloc((size_t)cf->bytes);
        if (!b) return NULL;
        for (int64_t i = 0; i < cf->bytes; i++)
            b[i] = (char)(i * 151 + 7); /* not UTF-8 text */
        *len = (size_t)cf->bytes;
        *binary = true;
        return b;
    }
    case AR_CF_SEND_OVERSIZED: {
        /* The normal message with a padding field, so it is valid JSON that
         * is simply too large: the size is the fault, nothing else. */
        size_t n = strlen(normal), want = (size_t)cf->bytes;
        size_t pad = want > n + 14 ? want - n - 14 : 1;
        char *b = malloc(n + pad + 16);
        if (!b) return NULL;
        size_t k = (size_t)snprintf(b, n + 16, "%.*s,\"padding\":\"", (int)(n - 1), normal);
        memset(b + k, 'x', pad);
        memcpy(b + k + pad, "\"}", 3);
        *len = k + pad + 2;
        return b;
    }
    default:
        return NULL;
    }
}

bool ar_sess_sends_bad_frame(const ar_client_fault *cf)
{
    return cf->kind == AR_CF_SEND_RAW || cf->kind == AR_CF_SEND_BINARY ||
           cf->kind == AR_CF_SEND_OVERSIZED || cf->kind == AR_CF_SEND_UNKNOWN_TYPE;
}

void ar_sess_record_sent(sess_state *st, uint32_t turn, const char *type, const char *text,
                         const char *raw)
{
    ar_event ev;
    ar_event_init(&ev);
    ev.kind = AR_EV_SENT;
    ev.session = st->sid;
    ev.turn = turn;
    ev.recv_us = ar_now_us();
    ev.type = ar_strdup(type);
    ev.text = text ? ar_strdup(text) : NULL;
    if (raw) {
        size_t n = strlen(raw);
        ev.wire_len = n;
        ev.raw_truncated = n > AR_FRAME_MAX_BYTES;
        ev.raw = ar_strndup(raw, ev.raw_truncated ? AR_FRAME_MAX_BYTES : n);
        ev.raw_len = ev.raw ? strlen(ev.raw) : 0;
    }
    if (ar_rec_add(st->rec, &ev) != AR_OK) st->n_dropped++;
}

/* The transcript's record of a turn's frame: on SSE the whole request (the
 * connection's method, URL and headers, and the frame as its body). A frame
 * a client fault replaces is recorded as that fault instead. */
void ar_sess_record_turn_sent(sess_state *st, const ar_client_fault *cf, const char *frame)
{
    if (ar_sess_sends_bad_frame(cf) && cf->kind != AR_CF_SEND_UNKNOWN_TYPE) return;
    if (st->pf->transport != AR_PF_SSE || !st->conn_desc) {
        ar_sess_record_sent(st, st->turn, "frame", NULL, frame);
        return;
    }
    cJSON *req = cJSON_Parse(st->conn_desc);
    cJSON *body = cJSON_Parse(frame);
    if (req && body)
        cJSON_AddItemToObject(req, "body", body);
    else
        cJSON_Delete(body);
    char *raw = req ? cJSON_PrintUnformatted(req) : NULL;
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(req, "url");
    ar_sess_record_sent(st, st->turn, "request", cJSON_IsString(url) ? url->valuestring : NULL,
                        raw ? raw : frame);
    free(raw);
    cJSON_Delete(req);
}

/* Sends the turn's frame (or what its client fault sends instead). */
ar_err ar_sess_send_turn(ar_conn *conn, sess_state *st, const ar_client_fault *cf, const char *frame)
{
    if (!ar_sess_sends_bad_frame(cf)) return ar_conn_send(conn, frame, strlen(frame));
    if (cf->kind == AR_CF_SEND_UNKNOWN_TYPE) {
        ar_sess_record_fault(st, "client_fault",
                             "unknown_type: sent the message with an unknown \"type\"");
        return ar_conn_send(conn, frame, strlen(frame));
    }
    size_t len = 0;
    bool binary;
    char *bad = fault_frame(cf, frame, &len, &binary);
    if (!bad) return AR_ENOMEM;
    ar_sess_record_fault(st, "client_fault", "%s: sent a %s frame of %zu bytes instead of the message",
                 ar_cf_kind_name(cf->kind), binary ? "binary" : "text", len);
    ar_err rc = ar_conn_send_frame(conn, bad, len, binary);
    free(bad);
    return rc;
}

/* Appends {"id", "role", "content"} to the conversation. */
void ar_sess_push_message(cJSON *history, const char *role, const char *content)
{
    cJSON *m = cJSON_CreateObject();
    char id[32];
    snprintf(id, sizeof id, "msg-%d", cJSON_GetArraySize(history) + 1);
    cJSON_AddStringToObject(m, "id", id);
    cJSON_AddStringToObject(m, "role", role);
    cJSON_AddStringToObject(m, "content", content);
    cJSON_AddItemToArray(history, m);
}
