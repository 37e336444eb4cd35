/*
 * profile.h - protocol profiles: how a service's frames map onto agentrig's
 * canonical events, and how to talk to it. A profile is data (YAML); the
 * built-ins (native, netra, ag-ui) are YAML compiled into the binary and run
 * through the same decoder as a user's file, so supporting a new service is
 * writing a profile, never changing code. docs/protocols.md is the reference.
 */
#ifndef AR_PROFILE_H
#define AR_PROFILE_H

#include "ar.h"
#include "event.h"
#include "template.h"

struct cJSON;

typedef enum { AR_PF_WS = 0, AR_PF_SSE } ar_pf_transport;

/* The canonical fields a profile can locate. */
typedef enum {
    AR_PF_AGENT = 0,
    AR_PF_RUN_ID,
    AR_PF_PARENT_RUN_ID,
    AR_PF_TOOL,
    AR_PF_CALL_ID,
    AR_PF_THREAD_ID,
    AR_PF_STATUS,
    AR_PF_TEXT,
    AR_PF_TOKENS_IN,
    AR_PF_TOKENS_OUT,
    AR_PF_COST,
    AR_PF_SERVER_TS,
    AR_PF_SERVER_DURATION, /* how long the service says the run took, in us */
    AR_PF__FIELDS
} ar_pf_field;
const char *ar_pf_field_name(ar_pf_field f); /* "agent", "run_id", ... */

/* A condition on a frame: the value at pointer equals `equals` (compared as
 * text; "null" matches JSON null or absent), or, with equals NULL, exists. */
typedef struct {
    char *pointer;
    char *equals;
} ar_pf_when;

/* One row of the type table: the service's type value (+ optional condition)
 * -> a canonical kind. */
typedef struct {
    char *value;
    bool has_when;
    ar_pf_when when;
    ar_ev_kind kind;
    char *agent; /* a constant agent name for this type (e.g. the root run's), or NULL */
    bool root;   /* this type is the root run's (its completion can end the turn) */
} ar_pf_row;

/* What ends a turn: an event of this kind that is the root's, or that meets
 * the condition. */
typedef struct {
    ar_ev_kind kind;
    bool root_only;
    bool has_when;
    ar_pf_when when;
} ar_pf_end;

typedef enum {
    AR_PF_HS_WAIT = 0, /* wait for a frame with type `type` (or meeting `when`) */
    AR_PF_HS_SEND      /* send a frame built from `frame` */
} ar_pf_hs_kind;

typedef struct {
    ar_pf_hs_kind kind;
    char *type;
    bool has_when;
    ar_pf_when when;
    struct cJSON *frame; /* SEND: a JSON template */
    char **cap_names;    /* WAIT: captures: name <- pointer into the frame */
    char **cap_pointers;
    size_t n_caps;
} ar_pf_step;

typedef struct ar_profile {
    char *name;
    char *file; /* where it came from ("<built-in>" for built-ins) */
    ar_pf_transport transport;
    char *url_tpl; /* NULL: the scenario's target as is; else a template using ${target} */
    char **header_names, **header_tpls;
    size_t n_headers;
    char **query_names, **query_tpls;
    size_t n_query;
    char *subprotocol_tpl; /* WebSocket subprotocols, comma-separated template, or NULL */
    char **secrets;        /* environment variables whose values never appear in reports */
    size_t n_secrets;
    ar_pf_step *handshake;
    size_t n_handshake;
    struct cJSON *send; /* the turn's frame (ws) or request body (sse): a JSON template */
    char *type_pointer; /* where the event type is, e.g. "/type" */
    ar_pf_row *rows;
    size_t n_rows;
    char **fields[AR_PF__FIELDS]; /* JSON pointers per field, first present wins */
    size_t n_fields[AR_PF__FIELDS];
    char **ok_values, **error_values; /* status values meaning ok / error */
    size_t n_ok, n_error;
    char *
        *delta_types; /* types whose delta text makes up the response; none: the terminal's text */
    size_t n_delta_types;
    char *delta_pointer; /* where a delta's text is, e.g. "/delta" */
    ar_pf_end *ends;
    size_t n_ends;
    int64_t ping_every_us; /* WebSocket keepalive pings; 0: only answer the service's */
    bool sse_reconnect;    /* SSE: retry a dropped stream once with Last-Event-ID */
    bool agui_invariants;  /* `invariants: ag-ui`: check AG-UI's ordering rules every turn */
} ar_profile;

/* Names of the built-in profiles, NULL-terminated. */
extern const char *const ar_pf_builtin_names[];

/*
 * Loads a built-in by name, or a profile file when name contains '/' or ends
 * in .yaml/.yml. Errors are one line, "file:line:col: message" (for a file)
 * or "unknown protocol 'x' (built-in: native, netra, ag-ui; or a path to a
 * profile file)". *out is owned by the caller (ar_pf_free).
 */
ar_err ar_pf_load(const char *name, ar_profile **out, char *err, size_t err_len);
ar_err ar_pf_load_string(const char *yaml, size_t len, const char *file, ar_profile **out,
                         char *err, size_t err_len);
void ar_pf_free(ar_profile *p); /* NULL-safe */

/*
 * Decodes one text frame with profile p into ev (initialised by the caller):
 * kind, the canonical fields, status, text, usage, and ev->terminal when the
 * frame ends the turn under p's rules. ev->raw always gets a copy of the
 * frame. A frame that is not JSON, or has no type, becomes an error event
 * with decode_error set and text saying why (AR_EPARSE). *delta, when not
 * NULL, receives the frame's response delta (borrowed from ev->text is not
 * possible, so it is owned: free it) if its type is a delta type.
 */
ar_err ar_pf_decode(const ar_profile *p, const char *frame, size_t len, ar_event *ev, char **delta);

/*
 * Builds the turn's frame from p->send: every string is a template (vars,
 * then the environment); a string that is exactly "${context}" or
 * "${messages}" becomes that JSON value (context: an object or null;
 * messages: the conversation so far, including this message, as
 * [{"id","role","content"}]). Returns an owned, compact JSON string or NULL
 * with err set.
 */
char *ar_pf_build_send(const ar_profile *p, const struct cJSON *tpl, const ar_vars *vars,
                       const struct cJSON *context, const struct cJSON *messages, char *err,
                       size_t err_len);

/* Does a raw frame have type `type` (if not NULL) and meet `when` (if not
 * NULL)? For handshake waits. */
bool ar_pf_frame_matches(const ar_profile *p, const char *raw, size_t len, const char *type,
                         const ar_pf_when *when);
/* The text of the value at pointer in a raw JSON frame (owned), or NULL. */
char *ar_pf_frame_value(const char *raw, size_t len, const char *pointer);

#endif
