/*
 * scenario.h - the scenario model and its YAML loader.
 *
 * A scenario is data: the loader checks everything it can before any socket
 * is opened (keys, types, regexes, JSON pointers, durations), so a typo costs
 * an exit 2 with file:line:col instead of a red CI run that looks like a
 * service failure. docs/scenarios.md documents every key.
 *
 * Ownership: everything reachable from an ar_scenario is owned by it and freed
 * by ar_scn_free. Strings that may hold ${...} are kept as templates and are
 * expanded by the session at run time.
 */
#ifndef AR_SCENARIO_H
#define AR_SCENARIO_H

#include "ar.h"
#include "event.h"
#include "proxy.h"

struct cJSON;

typedef enum { AR_ORDER_STRICT = 0, AR_ORDER_SUBSEQUENCE, AR_ORDER_CONTAINS } ar_order_mode;
typedef enum {
    AR_ROUTE_STRICT = 0,
    AR_ROUTE_UNORDERED,
    AR_ROUTE_SUBSET,
    AR_ROUTE_SUPERSET,
    AR_ROUTE_SUBSEQUENCE
} ar_route_mode;

const char *ar_order_mode_name(ar_order_mode m);
const char *ar_route_mode_name(ar_route_mode m);

/* expect.events */
typedef struct {
    ar_ev_kind kind;
    int min; /* -1: no lower bound */
    int max; /* -1: no upper bound */
} ar_count_rule;

typedef struct {
    bool present;
    ar_ev_kind *order; /* expected kinds, in order */
    size_t n_order;
    ar_order_mode mode; /* default subsequence */
    bool tools_paired;  /* every tool_executing has a tool_completed with its call id */
    bool nothing_after_terminal;
    ar_ev_kind *forbidden;
    size_t n_forbidden;
    ar_count_rule *counts; /* `count: {tool_executing: 2, error: {max: 0}}` */
    size_t n_counts;
    ar_srcloc loc;
} ar_expect_events;

/* expect.route: the agent handoff path (agent_started agent names, in order) */
typedef struct {
    bool present;
    char **agents;
    size_t n_agents;
    ar_route_mode mode; /* default subsequence */
    ar_srcloc loc;
} ar_expect_route;

/* expect.tools */
typedef struct {
    char *tool;
    ar_ev_status status; /* AR_ST_OK or AR_ST_ERROR */
} ar_tool_status_rule;

/* tools.args: a call of `tool` must carry these arguments (a JSON subset
 * match; string values are templates), or tools.args_absent: no call of it
 * may carry these keys. */
typedef struct {
    char *tool;
    struct cJSON *subset; /* args: an object; NULL for args_absent */
    char **absent;        /* args_absent: keys */
    size_t n_absent;
    ar_srcloc loc;
} ar_tool_args_rule;

typedef struct {
    bool present;
    char **called; /* each must have a tool_executing */
    size_t n_called;
    char **not_called;
    size_t n_not_called;
    bool all_ok;                 /* every tool_completed has status ok */
    ar_tool_status_rule *status; /* `status: {cost_db: error}`: last completion's status */
    size_t n_status;
    ar_tool_args_rule *args; /* args and args_absent rules, in the order written */
    size_t n_args;
    ar_srcloc loc;
} ar_expect_tools;

/* expect.outcome: how the turn must end. Default ok: a terminal that is not
 * an error event. error: the turn must end in an error event (a service's
 * error path), whose text matches `message` when given. */
typedef struct {
    bool expect_error;
    char *message;  /* PCRE2, optional */
    void *compiled; /* pcre2_code* */
    ar_srcloc loc;
} ar_expect_outcome;

/* expect.response[i] with matches / not_matches */
typedef struct {
    char *pattern_tpl; /* as written; may hold ${capture} (inserted literally) */
    bool negate;       /* not_matches */
    void *compiled;    /* pcre2_code*, compiled at load when the pattern has no ${} */
    ar_srcloc loc;
} ar_expect_regex;

typedef enum {
    AR_JOP_EQ = 0,
    AR_JOP_NE,
    AR_JOP_GT,
    AR_JOP_GTE,
    AR_JOP_LT,
    AR_JOP_LTE,
    AR_JOP_EXISTS,
    AR_JOP_MATCHES
} ar_json_op;
const char *ar_json_op_name(ar_json_op op);

/*
 * expect.response[i] with json: {path, <op>: value}. The pointer (RFC 6901) is
 * evaluated against the terminal frame, parsed as JSON. One YAML item with
 * several ops (`{path: /x, gte: 40, lte: 60}`) becomes several of these.
 */
typedef struct {
    char *pointer;
    ar_json_op op;
    struct cJSON *value; /* eq/ne: any JSON value; gt..lte: a number; exists: bool */
    char *pattern;       /* matches: a PCRE2 pattern (compiled below) */
    void *compiled;      /* pcre2_code* for AR_JOP_MATCHES */
    ar_srcloc loc;
} ar_expect_json;

/* expect.latency: -1 = no limit */
typedef struct {
    bool present;
    int64_t first_event_us;
    int64_t first_tool_us;
    int64_t turn_us;
    ar_srcloc loc;
} ar_expect_latency;

/* expect.context */
typedef struct {
    bool present;
    /* Fields whose value must be the same in this turn as in the first turn
     * that carried them: a canonical field name (thread_id, agent, run_id) or
     * a JSON pointer into the frames ("/payload/thread_id"). */
    char **same;
    size_t n_same;
    /* Names of captured variables whose values must reappear in this turn's
     * response text. */
    char **reappear;
    size_t n_reappear;
    ar_srcloc loc;
} ar_expect_context;

typedef struct {
    ar_expect_events events;
    ar_expect_route route;
    ar_expect_tools tools;
    ar_expect_regex *regexes;
    size_t n_regexes;
    ar_expect_json *jsons;
    size_t n_jsons;
    ar_expect_latency latency;
    ar_expect_context context;
    ar_expect_outcome outcome;
} ar_expect;

typedef enum {
    AR_CAP_RESPONSE = 0, /* regex over the response text */
    AR_CAP_FINAL,        /* JSON pointer into the terminal frame, optional regex */
    AR_CAP_THREAD_ID     /* the thread id the service reported */
} ar_cap_from;

typedef struct {
    char *name;
    ar_cap_from from;
    char *regex;    /* optional for FINAL; required for RESPONSE */
    void *compiled; /* pcre2_code* */
    int group;      /* capture group; default 1 when the regex has groups, else 0 */
    char *pointer;  /* for FINAL */
    ar_srcloc loc;
} ar_capture;

/*
 * A client-side fault on one turn (`client_fault:`): the harness itself
 * misbehaves the way a real client or network can.
 */
typedef enum {
    AR_CF_NONE = 0,
    AR_CF_DISCONNECT,     /* close after `events` events (or the first of `kind`), reconnect, same
                             thread */
    AR_CF_SLOW_READER,    /* stop reading for `pause_us` after the turn's first event */
    AR_CF_SEND_RAW,       /* send `raw` as a text frame instead of the message */
    AR_CF_SEND_BINARY,    /* send a binary frame of `bytes` bytes instead of the message */
    AR_CF_SEND_OVERSIZED, /* send a text frame of `bytes` bytes (a JSON message padded) */
    AR_CF_SEND_UNKNOWN_TYPE, /* send the message with "type" set to an unknown value */
} ar_cf_kind;
const char *ar_cf_kind_name(ar_cf_kind k); /* "disconnect", "slow_reader", "malformed_frame", ... */

typedef struct {
    ar_cf_kind kind;
    int events; /* DISCONNECT: after this many events (0: use `kind_after`) */
    bool has_kind_after;
    ar_ev_kind kind_after; /* DISCONNECT: after the first event of this kind */
    int64_t pause_us;      /* SLOW_READER */
    char *raw;             /* SEND_RAW */
    int64_t bytes;         /* SEND_BINARY, SEND_OVERSIZED */
    ar_srcloc loc;
} ar_client_fault;

/* `fault_directive:` for services with test hooks, passed through verbatim. */
typedef struct {
    char *field;  /* message field name (default "fault_directive"), or NULL with header */
    char *header; /* a WebSocket handshake header name (scenario level only) */
    char *value_tpl;
    ar_srcloc loc;
} ar_directive;

typedef struct {
    char *message_tpl;     /* send.message (or `send: "text"`) */
    struct cJSON *context; /* send.context: any JSON; string values are templates */
    bool new_thread;       /* send.new_thread: true starts a fresh thread for this turn */
    int64_t timeout_us;    /* turn deadline; -1 = the scenario's timeout */
    ar_expect expect;
    ar_capture *captures;
    size_t n_captures;
    ar_client_fault client_fault; /* kind AR_CF_NONE when the turn has none */
    ar_directive directive;       /* value_tpl NULL when the turn has none */
    /* An `http:` step instead of a message (login, ticket...): harness/httpstep.h.
     * NULL for an ordinary turn. */
    struct ar_http_step *http;
    ar_srcloc loc;
} ar_turn;

/*
 * A dependency fault (`faults:`): a named fault (tool_failure, tool_timeout,
 * agent_timeout, agent_failure) compiled into proxy rules for refagent's
 * dependency API (docs/protocol.md), or a raw proxy rule (`rule:`).
 */
typedef struct {
    char *type;        /* "tool_failure", ..., or the rule's name / "rule" */
    char *subject;     /* the tool or agent it is about; NULL for raw rules */
    int times;         /* named faults: how many calls fail (0 = every call) */
    ar_px_rule *rules; /* compiled rules, owned */
    size_t n_rules;
    ar_srcloc loc;
} ar_fault;

/* `stages:` for agentrig bench: ramp to `target` (VUs, or arrivals per
 * second with --rate) over `duration_us`, as k6's stages. */
typedef struct {
    int64_t duration_us;
    double target;
} ar_stage;

/* `thresholds: {metric: ["expr", ...]}`: k6's grammar (docs/thresholds.md).
 * The metric names a mode knows are checked by that mode's runner. */
typedef struct {
    char *metric;
    char **exprs;
    size_t n_exprs;
    /* k6's object form ({threshold, abortOnFail, delayAbortEval}): per expr */
    bool *abort_on_fail;
    int64_t *delay_abort_us;
    ar_srcloc loc;
} ar_scn_threshold;

typedef struct ar_scenario {
    char *file; /* path as given */
    char *name;
    char **tags;
    size_t n_tags;
    char *target_tpl;           /* NULL: the embedded refagent */
    char *protocol;             /* a built-in profile's name or a profile file's path, as written */
    struct ar_profile *profile; /* loaded with the scenario (owned) */
    char *thread_id_tpl;        /* NULL: the harness makes a unique one per session */
    int64_t timeout_us;         /* default per-turn deadline; default 60s */
    ar_turn *turns;
    size_t n_turns;
    ar_fault *faults; /* dependency faults (agentrig chaos) */
    size_t n_faults;
    char *proxy_upstream_tpl; /* `proxy: {upstream}`: a user's service's dependency URL */
    char *proxy_listen;       /* `proxy: {listen}`: "127.0.0.1:9100" (default: a free port) */
    ar_scn_threshold *thresholds;
    size_t n_thresholds;
    ar_stage *stages;            /* agentrig bench: ramping (closed: VUs; open: rate) */
    size_t n_stages;
    ar_directive directive; /* scenario-level fault_directive (header or field) */
    ar_srcloc loc;
} ar_scenario;

/* A list of loaded scenarios (from files and directories). */
typedef struct {
    ar_scenario **items;
    size_t n;
} ar_scn_list;

/*
 * Loads one YAML file. On failure returns AR_EPARSE / AR_EIO / AR_EINVAL and
 * writes one diagnostic line to err, always in the form
 * "path:line:col: message" (for example
 * "scenarios/x.yaml:14:7: unknown key 'expcet' (did you mean 'expect'?)").
 */
ar_err ar_scn_load_file(const char *path, ar_scenario **out, char *err, size_t err_len);

/* Same, from memory; `name` is used as the path in diagnostics. */
ar_err ar_scn_load_string(const char *yaml, size_t len, const char *name, ar_scenario **out,
                          char *err, size_t err_len);

/*
 * Loads files and directories (recursively, *.yaml and *.yml, sorted by path).
 * Stops at the first error. A path that does not exist is AR_EIO with
 * "path: No such file or directory".
 */
ar_err ar_scn_load_paths(const char *const *paths, size_t n_paths, ar_scn_list *out, char *err,
                         size_t err_len);

/* One file ar_scn_load_paths_all looked at: loaded, or why not. */
typedef struct {
    char *path;  /* a scenario file, or a path given that could not be read; owned */
    char *error; /* NULL: loaded; else "path:line:col: message"; owned */
    size_t n_scenarios; /* scenarios it added to the list (0 or 1) */
} ar_scn_file;

/*
 * Like ar_scn_load_paths, but does not stop at the first error: every file is
 * loaded, the good ones go to *out, and *files (owned; free with
 * ar_scn_files_free) lists every file looked at in order, each with its error
 * or NULL, so a CI log or a validate run shows all that is wrong at once.
 * Returns AR_OK when there was no error, else the first file's error code
 * (*out and *files are filled either way).
 */
ar_err ar_scn_load_paths_all(const char *const *paths, size_t n_paths, ar_scn_list *out,
                             ar_scn_file **files, size_t *n_files);
void ar_scn_files_free(ar_scn_file *files, size_t n); /* NULL-safe */

void ar_scn_free(ar_scenario *s);      /* NULL-safe */
void ar_scn_list_free(ar_scn_list *l); /* NULL-safe; frees the scenarios too */

/* The effective deadline of a turn. */
int64_t ar_scn_turn_timeout_us(const ar_scenario *s, const ar_turn *t);

/* True when the scenario injects any fault (dependency or client side). */
bool ar_scn_has_faults(const ar_scenario *s);

/*
 * Loads a standalone proxy rules file (`agentrig proxy --rules`): a YAML
 * mapping with `rules:` (raw rules) and/or `faults:` (named faults), the same
 * syntax as a scenario's `faults:`. Returns compiled rules in *out (owned;
 * free each with ar_px_rule_clear, then the array).
 */
ar_err ar_scn_load_rules_file(const char *path, ar_px_rule **out, size_t *n_out, char *err,
                              size_t err_len);

#endif
