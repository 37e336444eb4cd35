/*
 * profile.c - the protocol profile module's data and its one writer: the
 * canonical field names, the built-in profiles (ordinary profile YAML, run
 * through the same loader and decoder as a user's file, so they can only do
 * what a user's profile can) and building a turn's frame from `send`.
 *
 * Loading is profile_load.c, sources and conditions profile_cond.c,
 * decoding profile_decode.c.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile_int.h"

const char *const ar_pf_field_names[AR_PF__FIELDS] = {
    "agent",  "run_id",    "parent_run_id", "tool",     "call_id",   "thread_id",          "status",
    "text",   "tokens_in", "tokens_out",    "cost_usd", "server_ts", "server_duration_us", "args",
    "result", "error"};

const char *ar_pf_field_name(ar_pf_field f)
{
    return (unsigned)f < AR_PF__FIELDS ? ar_pf_field_names[f] : "?";
}

/* The built-ins. Documented, with worked examples, in docs/protocols.md.
 * `equals: null` matches a null that is on the wire, never a missing key:
 * refagent sends "parent_run_id": null on the root run but omits run_id on
 * connection-level errors (docs/protocol.md), hence the `absent` rule. */
static const char native_yaml[] =
    "name: native\n"
    "transport: ws\n"
    "send: {type: user_message, thread_id: '${thread_id}', message: '${message}',\n"
    "       context: '${context}'}\n"
    "decode:\n"
    "  type: /type\n"
    "  events: {agent_started: agent_started, agent_thinking: agent_thinking,\n"
    "           tool_executing: tool_executing, tool_completed: tool_completed,\n"
    "           agent_completed: agent_completed, error: error}\n"
    "  fields:\n"
    "    agent: [/agent]\n"
    "    run_id: [/run_id]\n"
    "    parent_run_id: [/parent_run_id]\n"
    "    tool: [/tool]\n"
    "    call_id: [/call_id]\n"
    "    thread_id: [/thread_id]\n"
    "    status: [/status]\n"
    "    text: [/text, /message, /result/response, /error]\n"
    "    tokens_in: [/usage/input_tokens]\n"
    "    tokens_out: [/usage/output_tokens]\n"
    "    cost_usd: [/usage/cost_usd]\n"
    "    server_ts: [/ts_us]\n"
    "    server_duration_us: [/duration_us]\n"
    "  status: {ok: [ok], error: [error]}\n"
    "  unclassified: fail\n"
    "  end:\n"
    "    - {kind: agent_completed, when: {field: parent_run_id, equals: null}}\n"
    "    - {kind: error, when: {field: run_id, equals: null}}\n"
    "    - {kind: error, when: {field: run_id, absent: true}}\n";

static const char netra_yaml[] =
    "name: netra\n"
    "transport: ws\n"
    "subprotocols: 'jwt.${NETRA_TOKEN}'\n"
    "secrets: [NETRA_TOKEN]\n"
    "send:\n"
    "  type: user_message\n"
    "  payload: {content: '${message}', thread_id: '${thread_id}', context: '${context}'}\n"
    "decode:\n"
    "  type: /type\n"
    "  events: {agent_started: agent_started, agent_thinking: agent_thinking,\n"
    "           tool_executing: tool_executing, tool_completed: tool_completed,\n"
    "           agent_completed: agent_completed, error: error}\n"
    "  fields:\n"
    "    agent: [/agent_name, /payload/agent_name, /data/agent_name]\n"
    "    run_id: [/run_id, /payload/run_id, /data/run_id]\n"
    "    parent_run_id: [/parent_run_id, /payload/parent_run_id, /data/parent_run_id]\n"
    "    tool: [/tool_name, /payload/tool_name, /data/tool_name]\n"
    "    call_id: [/tool_call_id, /payload/tool_call_id, /data/tool_call_id]\n"
    "    thread_id: [/thread_id, /payload/thread_id, /data/thread_id]\n"
    "    status: [/status, /payload/status, /data/status]\n"
    "    text: [/thought, /payload/thought, /data/thought, /result/response,\n"
    "           /payload/result/response, /data/result/response, /message,\n"
    "           /payload/message, /data/message]\n"
    "  status: {ok: [success, ok], error: [error, failed]}\n"
    "  end:\n"
    "    - {kind: agent_completed, when: {field: parent_run_id, equals: null}}\n"
    "    - {kind: error, when: {field: run_id, equals: null}}\n"
    "    - {kind: error, when: {field: run_id, absent: true}}\n";

static const char agui_yaml[] =
    "name: ag-ui\n"
    "transport: sse\n"
    "invariants: ag-ui\n"
    "send:\n"
    "  threadId: '${thread_id}'\n"
    "  runId: '${thread_id}-run-${turn}'\n"
    "  state: '${context}'\n"
    "  messages: '${messages}'\n"
    "  tools: []\n"
    "  context: []\n"
    "  forwardedProps: {}\n"
    "decode:\n"
    "  type: /type\n"
    "  events:\n"
    "    RUN_STARTED: {kind: agent_started, root: true}\n"
    "    SUBAGENT_STARTED: agent_started\n"
    "    STEP_STARTED: agent_started\n"
    "    SUBAGENT_FINISHED: {kind: agent_completed, status: ok}\n"
    "    STEP_FINISHED: {kind: agent_completed, status: ok}\n"
    "    TOOL_CALL_START: tool_executing\n"
    "    TOOL_CALL_RESULT: {kind: tool_completed, status: ok}\n"
    "    REASONING_*: agent_thinking\n"
    "    THINKING_*: agent_thinking\n"
    "    RUN_FINISHED: {kind: agent_completed, root: true, status: ok}\n"
    "    RUN_ERROR: {kind: error, root: true}\n"
    "  fields:\n"
    "    agent: [/stepName, /name, /metadata/agentName]\n"
    "    run_id: [/runId]\n"
    "    thread_id: [/threadId]\n"
    "    tool: [/toolCallName, /metadata/toolName]\n"
    "    call_id: [/toolCallId]\n"
    "    text: [/message, /delta, /content]\n"
    "  response: {deltas: [TEXT_MESSAGE_CONTENT], pointer: /delta}\n"
    "  end:\n"
    "    - {kind: agent_completed, root: true}\n"
    "    - {kind: error, root: true}\n";

const char *const ar_pf_builtin_names[] = {"native", "netra", "ag-ui", NULL};
const char *const ar_pf_builtin_yaml[] = {native_yaml, netra_yaml, agui_yaml};

/* Building a turn's frame */

static bool whole_var(const char *s, const char *name)
{
    size_t n = strlen(name);
    return s[0] == '$' && s[1] == '{' && !strncmp(s + 2, name, n) && s[2 + n] == '}' &&
           s[3 + n] == '\0';
}

/* ReplaceItemViaPointer does not carry the key over; in an object the
 * replacement must take the old key. */
static void replace_child(cJSON *node, cJSON *old, cJSON *with)
{
    if (cJSON_IsObject(node) && old->string)
        cJSON_ReplaceItemInObjectCaseSensitive(node, old->string, with);
    else
        cJSON_ReplaceItemViaPointer(node, old, with);
}

static ar_err fill(cJSON *node, const ar_vars *vars, const cJSON *context, const cJSON *messages,
                   char *err, size_t err_len)
{
    for (cJSON *c = node->child, *next; c; c = next) {
        next = c->next;
        if (cJSON_IsString(c)) {
            const cJSON *whole = whole_var(c->valuestring, "context")    ? context
                                 : whole_var(c->valuestring, "messages") ? messages
                                                                         : (const cJSON *)1;
            if (whole != (const cJSON *)1) {
                /* A JSON value in place of the string; an absent one drops
                 * the key, so frames carry no "context": null noise. */
                if (!whole || cJSON_IsNull(whole)) {
                    cJSON_DetachItemViaPointer(node, c);
                    cJSON_Delete(c);
                    continue;
                }
                cJSON *dup = cJSON_Duplicate(whole, 1);
                if (!dup) return AR_ENOMEM;
                replace_child(node, c, dup);
                continue;
            }
            char *s;
            ar_err rc = ar_tpl_expand(c->valuestring, vars, AR_TPL_PLAIN, &s, err, err_len);
            if (rc) return rc;
            cJSON *ns = cJSON_CreateString(s);
            free(s);
            if (!ns) return AR_ENOMEM;
            replace_child(node, c, ns);
        } else if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
            ar_err rc = fill(c, vars, context, messages, err, err_len);
            if (rc) return rc;
        }
    }
    return AR_OK;
}

char *ar_pf_build_send(const ar_profile *p, const cJSON *tpl, const ar_vars *vars,
                       const cJSON *context, const cJSON *messages, char *err, size_t err_len)
{
    (void)p;
    cJSON *frame = cJSON_Duplicate(tpl, 1);
    if (!frame) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    if (fill(frame, vars, context, messages, err, err_len) != AR_OK) {
        cJSON_Delete(frame);
        return NULL;
    }
    char *out = cJSON_PrintUnformatted(frame);
    cJSON_Delete(frame);
    return out;
}
