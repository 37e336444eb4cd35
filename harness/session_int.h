/*
 * session_int.h - what the files of one session share: the session's state
 * and the steps that live in their own files (receiving in session_rx.c,
 * connecting in session_conn.c, sending in session_tx.c). Internal to
 * harness/session*.c.
 */
#ifndef AR_SESSION_INT_H
#define AR_SESSION_INT_H

#include <stdatomic.h>

#include "profile.h"
#include "session.h"

#define CONNECT_TIMEOUT_MAX_US (30 * 1000000LL)
#define STEP_MAX_US (100 * 1000LL)
#define BAD_FRAME_CHECKS_MAX 3
#define SSE_TAIL_US (2 * 1000000LL)
#define WS_TAIL_QUIET_US (25 * 1000LL)
#define WS_TAIL_MAX_US (250 * 1000LL)

struct cJSON;

typedef struct {
    ar_rec *rec;
    uint32_t sid;
    uint64_t n_dropped;
    uint32_t turn; /* turn being driven; 0 before the first send */
    bool open;
    bool closed;
    ar_err close_err;
    int close_code;
    char close_detail[200];
    bool terminal_seen;
    size_t terminal_index; /* recorder index of the terminal event */
    ar_checks *checks;     /* where frame problems are reported */
    size_t bad_frames;         /* this turn's, for the per-turn cap on frames checks */
    size_t turn_frames;        /* frames the service sent in this turn */
    const ar_client_fault *cf; /* this turn's client fault, or NULL */
    bool disconnect_now;       /* the disconnect_after condition was reached */
    const ar_profile *pf;      /* how frames are decoded and turns sent */
    ar_buf response;           /* this turn's response, from deltas (profiles with deltas) */
    size_t conn_frames;        /* frames since the connection (re)opened */
    size_t rx_frames;          /* frames (and bad input) received in the session: "frame #N" */
    char last_agent[128];      /* decode.derive_started: the agent last named in this turn */
    bool stream_ended;         /* SSE: this turn's response stream ended */
    int stream_status;
    ar_err stream_why;
    char stream_detail[300];
    /* The driver's own state (session.c): what ar_sess_run threads through
     * its steps. */
    ar_loop *loop;
    const ar_sess_cfg *cfg;
    const ar_scenario *scn;
    ar_session_result *out;
    uint32_t index;         /* the session's index in the run, for thread ids */
    ar_vars *vars;          /* ${} values: captures and the built-ins */
    struct cJSON *history;  /* the conversation so far, for ${messages} */
    ar_conn *conn;          /* NULL before the first turn and after a client fault closed it */
    bool ever_connected;    /* the connection opens before the first message, not the first step */
    char *turn_thread;      /* owned: the thread of the latest new_thread turn */
    const char *thread_id;  /* the thread being driven (out->thread_id or turn_thread) */
    int64_t connect_budget_us;
    /* The connection as opened: its expanded URL, headers and subprotocols
     * (owned). A turn whose templates expand differently (a new thread in
     * the URL) gets a new connection; conn_desc is what the transcript's
     * "sent" records say was used. */
    char *conn_key;
    char *conn_desc;
} sess_state;

/* session_rx.c: the transport callbacks, which decode and record each frame. */
extern const ar_conn_cb ar_sess_cb;
/* Records what agentrig itself did to the session (kind "fault"). */
void ar_sess_record_fault(sess_state *st, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* session_conn.c: opens the connection, waits for it and runs the profile's
 * handshake. On failure returns the error, writes why, and leaves *conn NULL. */
ar_err ar_sess_connect_wait(ar_loop *loop, const ar_sess_cfg *cfg, const ar_scenario *scn,
                            sess_state *st, const char *url, ar_vars *vars, int64_t budget_us,
                            ar_conn **conn, char *why, size_t why_len);

/* session_conn.c: the connection turn `vars` ask for, as a comparable key
 * (owned), or NULL with why set when a template cannot be expanded. */
char *ar_sess_conn_key(sess_state *st, const char *target, ar_vars *vars, char *why,
                       size_t why_len);

/* session_tx.c: records what agentrig sent (kind "sent", outside any turn's
 * events); type is "connect", "frame" or "request", raw is copied. */
void ar_sess_record_sent(sess_state *st, uint32_t turn, const char *type, const char *text,
                         const char *raw);
/* Records the turn's frame (on SSE, the whole request) before it is sent. */
void ar_sess_record_turn_sent(sess_state *st, const ar_client_fault *cf, const char *frame);

/* session_tx.c: what goes out. */
char *ar_sess_build_message(const ar_scenario *scn, const ar_turn *t, sess_state *st,
                            ar_vars *vars, const struct cJSON *history, const char *type,
                            char **expanded_msg, char *err, size_t err_len);
bool ar_sess_sends_bad_frame(const ar_client_fault *cf);
ar_err ar_sess_send_turn(ar_conn *conn, sess_state *st, const ar_client_fault *cf,
                         const char *frame);
void ar_sess_push_message(struct cJSON *history, const char *role, const char *content);

#endif
