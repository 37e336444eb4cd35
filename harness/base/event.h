/*
 * event.h - the canonical event: every frame a service sends is decoded into
 * one of these, whatever its protocol. Validators, reports and metrics read
 * only this shape, never raw frames (except the JSON validator, which parses
 * the terminal frame's raw bytes).
 */
#ifndef AR_EVENT_H
#define AR_EVENT_H

#include "ar.h"

typedef enum {
    AR_EV_AGENT_STARTED = 0,
    AR_EV_AGENT_THINKING,
    AR_EV_TOOL_EXECUTING,
    AR_EV_TOOL_COMPLETED,
    AR_EV_AGENT_COMPLETED,
    AR_EV_ERROR,
    AR_EV_FAULT, /* injected by agentrig (the fault proxy or a client fault), not sent by the
                    service */
    AR_EV_OTHER,
    AR_EV_SENT, /* what agentrig itself sent (a frame, a request, a connection), for the
                   transcript; recorded between turns, so no validator sees it */
    AR_EV__COUNT
} ar_ev_kind;

/* "agent_started", ...; "other" for out-of-range values. */
const char *ar_ev_kind_name(ar_ev_kind kind);
/* Returns true and sets *out when name is a canonical kind name a scenario
 * may use (every kind but "sent"). */
bool ar_ev_kind_parse(const char *name, ar_ev_kind *out);

/* AR_ST_NONE: the wire did not say (or the profile could not decode it). A
 * check that needs a status treats it as unknown, never as ok. */
typedef enum { AR_ST_NONE = 0, AR_ST_OK, AR_ST_ERROR } ar_ev_status;
const char *ar_ev_status_name(ar_ev_status st); /* "", "ok", "error" */

/*
 * One event. Every string is owned by the event (freed by ar_event_clear) and
 * NULL when the frame did not carry that field.
 */
typedef struct ar_event {
    ar_ev_kind kind;
    uint32_t session;     /* recorder session id */
    uint32_t turn;        /* 1-based turn; 0 = outside any turn */
    uint64_t seq;         /* per-session sequence, assigned by the recorder */
    int64_t recv_us;      /* CLOCK_MONOTONIC when the frame was received */
    int64_t server_ts_us; /* the frame's own timestamp (wall, µs); -1 if none */
    char *type;           /* the service's own type string, e.g. "tool_executing" */
    char *agent;
    char *run_id;
    char *parent_run_id;
    char *tool;
    char *call_id;
    char *thread_id;
    ar_ev_status status;
    char *text;        /* thinking text, error message, or final response */
    /* Tool calls: the arguments (tool_executing) and the outcome
     * (tool_completed) as JSON text, or plain text when the wire carries a
     * string. NULL when the frame did not carry them: never invented. */
    char *args;
    bool args_delta; /* args is one fragment of the call's arguments (AG-UI's TOOL_CALL_ARGS) */
    char *result;
    char *error;
    int64_t tokens_in; /* usage; -1 when absent */
    int64_t tokens_out;
    double cost_usd;            /* -1 when absent */
    int64_t server_duration_us; /* the turn duration the service stamped (root completion); -1 */
    char *raw;                  /* the frame as received, NUL-terminated */
    size_t raw_len;             /* bytes in raw (after truncation) */
    size_t wire_len;            /* bytes on the wire (before truncation) */
    bool raw_truncated;
    bool raw_binary;   /* a binary frame: raw holds the bytes, not text */
    bool decode_error; /* the frame could not be decoded; text says why */
    bool terminal;     /* set by the decoder: this event ends the turn (profile rules) */
} ar_event;

/* Sets every field to its "absent" value. */
void ar_event_init(ar_event *ev);
/* Frees every owned string and re-initialises. NULL-safe. */
void ar_event_clear(ar_event *ev);
/* Deep copy; returns AR_ENOMEM on failure (dst left initialised). */
ar_err ar_event_copy(ar_event *dst, const ar_event *src);

/*
 * Whether ev ends its turn: decided by the decoder from the protocol
 * profile's rules (for refagent's native protocol: the root agent's
 * agent_completed, or an error that belongs to no run).
 */
bool ar_event_is_terminal(const ar_event *ev);

/* Largest frame kept in full; larger frames are a recorded error. */
#define AR_FRAME_MAX_BYTES (1024u * 1024u)

/* One-line description for failure messages:
 * "tool_executing (Data/cost_db) at 12.3s". t0_us is the turn start. */
void ar_event_describe(const ar_event *ev, int64_t t0_us, char *out, size_t out_len);

#endif
