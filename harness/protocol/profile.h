/*
 * profile.h - protocol profiles: how a service's frames map onto agentrig's
 * canonical events, and how to talk to it. A profile is data (YAML); the
 * built-ins (the YAML files in harness/protocol/builtin/) are compiled in and run
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
    AR_PF_ARGS,            /* a tool call's arguments: a string as is, else compact JSON */
    AR_PF_RESULT,          /* a tool call's outcome, likewise */
    AR_PF_ERROR,           /* an error's detail, likewise */
    AR_PF__FIELDS
} ar_pf_field;
const char *ar_pf_field_name(ar_pf_field f); /* "agent", "run_id", ... */

/* What a frame carries besides its bytes: the SSE event's `event:` name and
 * `id:` (NULL when absent, and always on WebSocket). Borrowed. */
typedef struct {
    const char *event;
    const char *id;
} ar_pf_meta;

typedef enum {
    AR_PF_SRC_POINTER = 0, /* a JSON pointer into the frame */
    AR_PF_SRC_EVENT,       /* @event: the SSE event name */
    AR_PF_SRC_ID,          /* @id: the SSE event id */
    AR_PF_SRC_KEY,         /* @key[:/ptr]: the name of the first member of the object at ptr */
    AR_PF_SRC_FIELD        /* a canonical field (a `when` subject only) */
} ar_pf_src_kind;

/* Where a value comes from, optionally narrowed by a regex (its first
 * capture group, or the whole match without one; no match: absent). */
typedef struct {
    ar_pf_src_kind kind;
    char *text;    /* as written ("/type", "@event", "@key:/data"), for messages */
    char *pointer; /* POINTER: the pointer; KEY: the object's pointer ("" the root) */
    int field;     /* FIELD: an ar_pf_field */
    void *re;      /* the compiled regex (pcre2_code, owned), or NULL */
} ar_pf_source;

typedef enum {
    AR_PF_OP_EXISTS = 0, /* present and not null (negate: absent or null) */
    AR_PF_OP_ABSENT,     /* missing entirely; null is present (negate: present) */
    AR_PF_OP_EQUALS,     /* any of values (as text; a NULL entry is a present JSON null) */
    AR_PF_OP_NOT_EQUALS, /* none of values (absent is not equal) */
    AR_PF_OP_MATCHES     /* the value's text matches re */
} ar_pf_op;

/* A condition on a frame: one subject and at most one operator (none:
 * exists). `in: [...]` is EQUALS with several values. */
typedef struct {
    ar_pf_source src;
    ar_pf_op op;
    bool negate;
    char **values; /* EQUALS / NOT_EQUALS; NULL entries mean JSON null */
    size_t n_values;
    void *re; /* MATCHES: the compiled regex (owned) */
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

/* One decode.ignore entry: frames of a type, of an SSE event name (either
 * may end in '*', a prefix), or meeting a condition. */
typedef enum { AR_PF_IGN_TYPE = 0, AR_PF_IGN_EVENT, AR_PF_IGN_WHEN } ar_pf_ign_kind;
typedef struct ar_pf_ignore {
    ar_pf_ign_kind kind;
    char *pattern;   /* TYPE, EVENT */
    ar_pf_when when; /* WHEN */
} ar_pf_ignore;

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
    struct cJSON *send;    /* the turn's frame (ws) or request body (sse): a JSON template */
    ar_pf_source type_src; /* where the event type is, e.g. "/type" or "@event" */
    ar_pf_row *rows;
    size_t n_rows;
    ar_pf_source *fields[AR_PF__FIELDS]; /* sources per field, first usable value wins */
    size_t n_fields[AR_PF__FIELDS];
    ar_pf_ignore *ignores; /* frames recorded as `other`, never a failure */
    size_t n_ignores;
    bool unclassified_fail;  /* a JSON frame without a type is a decode error, not `other` */
    char **args_delta_types; /* types whose args pointer holds one fragment of a call's args */
    size_t n_args_delta_types;
    char *args_delta_pointer;
    char **ok_values, **error_values; /* status values meaning ok / error */
    size_t n_ok, n_error;
    char *
        *delta_types; /* types whose delta text makes up the response; none: the terminal's text */
    size_t n_delta_types;
    char *delta_pointer; /* where a delta's text is, e.g. "/delta" */
    bool end_on_stream_end; /* `end: [{stream_end: true}]`: a cleanly ended SSE response ends the turn */
    bool derive_started;    /* `decode.derive_started`: see ar_pf_derives_start */
    bool uuid_thread_ids;   /* `thread_ids: uuid`: generated thread ids are UUIDs */
    ar_pf_end *ends;
    size_t n_ends;
    int64_t ping_every_us; /* WebSocket keepalive pings; 0: only answer the service's */
    bool sse_reconnect;    /* SSE: retry a dropped stream once with Last-Event-ID */
    bool agui_invariants;  /* `invariants: ag-ui`: check AG-UI's ordering rules every turn */
} ar_profile;

/* Names of the built-in profiles, NULL-terminated, and how many there are. */
extern const char *const ar_pf_builtin_names[];
size_t ar_pf_builtin_count(void);

/*
 * Loads a built-in by name, or a profile file when name contains '/' or ends
 * in .yaml/.yml. Errors are one line, "file:line:col: message" (for a file)
 * or "unknown protocol 'x' (built-in: native, netra, ag-ui, langgraph,
 * openai-agents; or a path to a
 * profile file)". *out is owned by the caller (ar_pf_free).
 */
ar_err ar_pf_load(const char *name, ar_profile **out, char *err, size_t err_len);
ar_err ar_pf_load_string(const char *yaml, size_t len, const char *file, ar_profile **out,
                         char *err, size_t err_len);
void ar_pf_free(ar_profile *p); /* NULL-safe */

/*
 * Decodes one text frame with profile p into ev (initialised by the caller):
 * kind, the canonical fields, status, text, usage, args/result/error, and
 * ev->terminal when the frame ends the turn under p's rules. meta (may be
 * NULL) is what the transport knew besides the bytes (SSE event name, id).
 * ev->raw always gets a copy of the frame. A frame that decode.ignore names
 * is `other` with its type. A frame that is not JSON becomes an error event
 * with decode_error set and text saying why (AR_EPARSE); one that is JSON but
 * has no type is `other` with text saying why, or, with `unclassified:
 * fail`, such an error too. *delta, when not NULL, receives the frame's
 * response delta (owned: free it) if its type is a delta type.
 */
ar_err ar_pf_decode_meta(const ar_profile *p, const char *frame, size_t len, const ar_pf_meta *meta,
                         ar_event *ev, char **delta);
/* ar_pf_decode_meta without meta (WebSocket, or a transport that has none). */
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
 * NULL)? For handshake waits, which see the bytes only (no SSE meta). */
bool ar_pf_frame_matches(const ar_profile *p, const char *raw, size_t len, const char *type,
                         const ar_pf_when *when);
/* The text of the value at pointer in a raw JSON frame (owned), or NULL. */
char *ar_pf_frame_value(const char *raw, size_t len, const char *pointer);

#endif
