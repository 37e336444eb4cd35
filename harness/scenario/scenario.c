/*
 * scenario.c - loads scenario YAML into the ar_scenario model.
 *
 * Everything that can be checked without a service is checked here: keys at
 * every level (with a "did you mean" for typos), types, event kinds, modes,
 * durations, regexes (compiled with PCRE2), JSON pointers and ${...} syntax.
 * A mistake in a scenario is a configuration error with file:line:col, found
 * before any socket is opened, never a red CI run that looks like a service
 * failure. libyaml's document API gives us nodes with marks; we walk them
 * directly instead of building a second tree.
 *
 * Error handling: every parser returns ar_err and the first error wins; the
 * scenario is calloc'ed and filled in place, so on any error ar_scn_free
 * releases whatever was filled so far. *
 * A turn's `expect:` block is parsed in scenario_expect.c, the fault keys in
 * scenario_faults.c and `http:` steps in scenario_http.c.
 */
#include "scenario.h"
#include "template.h"
#include "profile.h"
#include "scenario_faults.h"
#include "scenario_int.h"
#include "yamltree.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

/* Directory recursion bound: symlink loops must not hang the loader. */
#define DIR_MAX_DEPTH 32

static const char *const cap_from_names[] = {"response", "final", "thread_id"};
static const char *const scn_keys[] = {"name",   "tags",       "target",          "protocol",
                                       "thread_id", "timeout", "turns",          "faults",
                                       "proxy",  "thresholds", "fault_directive", "stages"};
static const char *const turn_keys[] = {"send",         "timeout",         "expect", "capture",
                                        "client_fault", "fault_directive", "http"};
static const char *const send_keys[] = {"message", "context", "new_thread"};
static const char *const capture_keys[] = {"from", "regex", "pointer", "group"};

/* capture */

static ar_err parse_capture(ar_yt *l, const yaml_node_t *k, const yaml_node_t *n, ar_capture *c)
{
    const char *name = ar_yt_sval(k);
    bool ok = ar_yt_tpl_name_start(name[0]);
    for (const char *p = name; ok && *p; p++)
        ok = ar_yt_tpl_name_char(*p);
    if (!ok)
        return AR_YT_FAIL(l, k,
                          "capture name '%s' must be letters, digits and '_', not starting with a "
                          "digit",
                          name);
    c->name = ar_strdup(name);
    if (!c->name) return ar_yt_fail_oom(l);
    c->loc = ar_yt_loc_of(l, k);
    if (n->type != YAML_MAPPING_NODE)
        return AR_YT_FAIL(l, n, "capture '%s' must be a mapping with 'from'", name);
    AR_YT_TRY(ar_yt_check_map(l, n, "capture", capture_keys, AR_ARRAY_LEN(capture_keys)));
    yaml_node_t *from = ar_yt_map_get(l, n, "from"), *rx = ar_yt_map_get(l, n, "regex");
    yaml_node_t *ptr = ar_yt_map_get(l, n, "pointer"), *grp = ar_yt_map_get(l, n, "group");
    if (!from) return AR_YT_FAIL(l, n, "capture '%s' has no 'from'", name);
    char buf[80], list[128];
    int f = ar_yt_is_scalar(from)
                ? ar_yt_name_index(cap_from_names, AR_ARRAY_LEN(cap_from_names), ar_yt_sval(from))
                : -1;
    if (f < 0) {
        ar_yt_join_names(cap_from_names, AR_ARRAY_LEN(cap_from_names), list, sizeof(list));
        return AR_YT_FAIL(l, from, "unknown capture source %s (valid: %s)",
                          ar_yt_got(from, buf, sizeof(buf)), list);
    }
    c->from = (ar_cap_from)f;
    if (c->from == AR_CAP_RESPONSE && !rx)
        return AR_YT_FAIL(l, n, "capture '%s' from response needs a 'regex'", name);
    if (c->from == AR_CAP_FINAL && !ptr)
        return AR_YT_FAIL(l, n, "capture '%s' from final needs a 'pointer'", name);
    if (c->from == AR_CAP_THREAD_ID && rx)
        return AR_YT_FAIL(l, rx, "capture '%s': 'regex' cannot be used with from: thread_id", name);
    if (c->from != AR_CAP_FINAL && ptr)
        return AR_YT_FAIL(l, ptr, "capture '%s': 'pointer' is only used with from: final", name);
    if (c->from == AR_CAP_THREAD_ID && grp)
        return AR_YT_FAIL(l, grp, "capture '%s': 'group' is only used with a 'regex'", name);
    if (ptr) {
        AR_YT_TRY(ar_yt_get_string(l, ptr, "pointer", true, &c->pointer));
        AR_YT_TRY(ar_yt_check_pointer(l, ptr, c->pointer));
    }
    uint32_t groups = 0;
    if (rx) {
        AR_YT_TRY(ar_yt_get_string(l, rx, "regex", false, &c->regex));
        AR_YT_TRY(ar_yt_check_tpl(l, rx, "regex", c->regex));
        /* The session applies only the compiled form: a capture regex is not a
         * template, and a ${...} in it is refused rather than silently unused. */
        if (ar_tpl_has_vars(c->regex))
            return AR_YT_FAIL(l, rx, "capture '%s': 'regex' cannot use ${...} variables", name);
        AR_YT_TRY(ar_yt_compile_regex(l, rx, c->regex, &c->compiled, &groups));
    }
    c->group = groups > 0 ? 1 : 0;
    if (grp) {
        if (!rx)
            return AR_YT_FAIL(l, grp, "capture '%s': 'group' is only used with a 'regex'", name);
        AR_YT_TRY(ar_yt_get_count(l, grp, "'group'", &c->group));
        if ((uint32_t)c->group > groups)
            return AR_YT_FAIL(l, grp, "capture '%s': 'group' is %d but the regex has %u group(s)",
                              name, c->group, (unsigned)groups);
    }
    return AR_OK;
}

static ar_err parse_captures(ar_yt *l, const yaml_node_t *n, ar_turn *t)
{
    if (n->type != YAML_MAPPING_NODE)
        return AR_YT_FAIL(l, n, "'capture' must be a mapping of name to {from, regex, pointer}");
    size_t cnt = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    if (cnt) {
        t->captures = calloc(cnt, sizeof(*t->captures));
        if (!t->captures) return ar_yt_fail_oom(l);
    }
    for (size_t i = 0; i < cnt; i++) {
        t->n_captures++;
        AR_YT_TRY(parse_capture(l, ar_yt_nd(l, n->data.mapping.pairs.start[i].key),
                                ar_yt_nd(l, n->data.mapping.pairs.start[i].value),
                                &t->captures[i]));
    }
    return AR_OK;
}

/* turn and scenario */

static ar_err parse_send(ar_yt *l, const yaml_node_t *n, ar_turn *t)
{
    if (ar_yt_is_scalar(n)) {
        AR_YT_TRY(ar_yt_get_string(l, n, "send", false, &t->message_tpl));
        return ar_yt_check_tpl(l, n, "send", t->message_tpl);
    }
    if (n->type != YAML_MAPPING_NODE)
        return AR_YT_FAIL(l, n, "'send' must be a message or a mapping with 'message'");
    AR_YT_TRY(ar_yt_check_map(l, n, "send", send_keys, AR_ARRAY_LEN(send_keys)));
    yaml_node_t *v = ar_yt_map_get(l, n, "message");
    if (!v) return AR_YT_FAIL(l, n, "'send' has no 'message'");
    AR_YT_TRY(ar_yt_get_string(l, v, "message", false, &t->message_tpl));
    AR_YT_TRY(ar_yt_check_tpl(l, v, "message", t->message_tpl));
    if ((v = ar_yt_map_get(l, n, "context"))) {
        if (v->type != YAML_MAPPING_NODE) return AR_YT_FAIL(l, v, "'context' must be a mapping");
        l->ctx_values = 0;
        AR_YT_TRY(ar_yt_node_json(l, v, "context", true, 0, &t->context));
    }
    if ((v = ar_yt_map_get(l, n, "new_thread")))
        AR_YT_TRY(ar_yt_get_bool(l, v, "new_thread", &t->new_thread));
    return AR_OK;
}

static ar_err parse_turn(ar_yt *l, const yaml_node_t *n, size_t idx, ar_turn *t)
{
    t->timeout_us = -1;
    t->expect.latency.first_event_us = t->expect.latency.first_tool_us = -1;
    t->expect.latency.turn_us = -1;
    t->loc = ar_yt_loc_of(l, n);
    if (n->type != YAML_MAPPING_NODE)
        return AR_YT_FAIL(l, n, "turn %zu must be a mapping with 'send' and 'expect'", idx + 1);
    AR_YT_TRY(ar_yt_check_map(l, n, "turn", turn_keys, AR_ARRAY_LEN(turn_keys)));
    yaml_node_t *v = ar_yt_map_get(l, n, "http");
    if (v) {
        /* An HTTP step stands alone: it sends no message and expects its own way. */
        if (n->data.mapping.pairs.top - n->data.mapping.pairs.start != 1)
            return AR_YT_FAIL(l, n, "turn %zu: an 'http' step is a turn of its own (its keys go "
                                    "inside 'http:')",
                              idx + 1);
        return ar_scnh_parse_step(l, v, &t->http);
    }
    v = ar_yt_map_get(l, n, "send");
    if (!v) return AR_YT_FAIL(l, n, "turn %zu has no 'send' (or 'http')", idx + 1);
    AR_YT_TRY(parse_send(l, v, t));
    if ((v = ar_yt_map_get(l, n, "timeout")))
        AR_YT_TRY(ar_yt_get_duration(l, v, "timeout", &t->timeout_us));
    if ((v = ar_yt_map_get(l, n, "expect"))) AR_YT_TRY(ar_scn_parse_expect(l, v, idx, &t->expect));
    if ((v = ar_yt_map_get(l, n, "capture"))) AR_YT_TRY(parse_captures(l, v, t));
    if ((v = ar_yt_map_get(l, n, "client_fault")))
        AR_YT_TRY(ar_scnf_parse_client_fault(l, v, &t->client_fault));
    if ((v = ar_yt_map_get(l, n, "fault_directive")))
        AR_YT_TRY(ar_scnf_parse_directive(l, v, false, &t->directive));
    return AR_OK;
}

static ar_err parse_scenario(ar_yt *l, const yaml_node_t *root, ar_scenario *s)
{
    s->loc = ar_yt_loc_of(l, root);
    if (root->type != YAML_MAPPING_NODE)
        return AR_YT_FAIL(l, root, "a scenario must be a mapping with 'name' and 'turns' (got %s)",
                          root->type == YAML_SEQUENCE_NODE ? "a list" : "a string");
    AR_YT_TRY(ar_yt_check_map(l, root, "scenario", scn_keys, AR_ARRAY_LEN(scn_keys)));
    yaml_node_t *v = ar_yt_map_get(l, root, "name");
    if (!v) return AR_YT_FAIL(l, root, "scenario has no 'name'");
    AR_YT_TRY(ar_yt_get_string(l, v, "name", false, &s->name));
    if ((v = ar_yt_map_get(l, root, "tags")))
        AR_YT_TRY(ar_yt_get_str_list(l, v, "tags", &s->tags, &s->n_tags));
    if ((v = ar_yt_map_get(l, root, "target"))) {
        AR_YT_TRY(ar_yt_get_string(l, v, "target", false, &s->target_tpl));
        AR_YT_TRY(ar_yt_check_tpl(l, v, "target", s->target_tpl));
    }
    /* The protocol profile is loaded now, so a bad one is a load error too.
     * A relative path is relative to the scenario file. */
    v = ar_yt_map_get(l, root, "protocol");
    const char *proto = "native";
    char *resolved = NULL;
    if (v) {
        AR_YT_TRY(ar_yt_get_string(l, v, "protocol", false, &s->protocol));
        proto = s->protocol;
        const char *slash = strrchr(l->file, '/');
        if (strchr(proto, '/') && proto[0] != '/' && slash)
            proto = resolved = ar_asprintf("%.*s/%s", (int)(slash - l->file), l->file, proto);
    } else {
        s->protocol = ar_strdup("native");
        if (!s->protocol) return ar_yt_fail_oom(l);
    }
    char perr[512];
    ar_err prc = ar_pf_load(proto, &s->profile, perr, sizeof perr);
    free(resolved);
    if (prc) {
        /* A profile file's own errors already say file:line:col. */
        if (v && (prc == AR_EINVAL && !strncmp(perr, "unknown protocol", 16)))
            return AR_YT_FAIL(l, v, "%s", perr);
        if (v && prc == AR_EIO) return AR_YT_FAIL(l, v, "%s", perr);
        if (l->err && l->err_len) snprintf(l->err, l->err_len, "%s", perr);
        return prc;
    }
    if ((v = ar_yt_map_get(l, root, "thread_id"))) {
        AR_YT_TRY(ar_yt_get_string(l, v, "thread_id", false, &s->thread_id_tpl));
        AR_YT_TRY(ar_yt_check_tpl(l, v, "thread_id", s->thread_id_tpl));
    }
    s->timeout_us = 60 * INT64_C(1000000);
    if ((v = ar_yt_map_get(l, root, "timeout")))
        AR_YT_TRY(ar_yt_get_duration(l, v, "timeout", &s->timeout_us));
    v = ar_yt_map_get(l, root, "turns");
    if (!v) return AR_YT_FAIL(l, root, "scenario has no 'turns'");
    if (v->type != YAML_SEQUENCE_NODE) return AR_YT_FAIL(l, v, "'turns' must be a list");
    size_t cnt = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (cnt == 0) return AR_YT_FAIL(l, v, "'turns' is empty");
    s->turns = calloc(cnt, sizeof(*s->turns));
    if (!s->turns) return ar_yt_fail_oom(l);
    for (size_t i = 0; i < cnt; i++) {
        s->n_turns++;
        AR_YT_TRY(parse_turn(l, ar_yt_nd(l, v->data.sequence.items.start[i]), i, &s->turns[i]));
    }
    if ((v = ar_yt_map_get(l, root, "faults")))
        AR_YT_TRY(ar_scnf_parse_faults(l, v, &s->faults, &s->n_faults));
    if ((v = ar_yt_map_get(l, root, "proxy"))) AR_YT_TRY(ar_scnf_parse_proxy(l, v, s));
    if ((v = ar_yt_map_get(l, root, "thresholds"))) AR_YT_TRY(ar_scnf_parse_thresholds(l, v, s));
    if ((v = ar_yt_map_get(l, root, "stages"))) AR_YT_TRY(ar_scnf_parse_stages(l, v, s));
    if ((v = ar_yt_map_get(l, root, "fault_directive")))
        AR_YT_TRY(ar_scnf_parse_directive(l, v, true, &s->directive));
    return AR_OK;
}

/* Reader errors carry a byte offset instead of a mark. */
static void offset_to_linecol(const char *text, size_t len, size_t off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            (*col)++;
        }
    }
}

static ar_err yaml_fail(ar_yt *l, yaml_parser_t *p, const char *text, size_t len)
{
    const char *problem = p->problem ? p->problem : "malformed YAML";
    if (p->error == YAML_MEMORY_ERROR) return ar_yt_fail_oom(l);
    if (p->error == YAML_READER_ERROR) {
        int line, col;
        offset_to_linecol(text, len, p->problem_offset, &line, &col);
        return ar_yt_fail_at(l, AR_EPARSE, line, col, "%s", problem);
    }
    int line = (int)p->problem_mark.line + 1, col = (int)p->problem_mark.column + 1;
    if (p->context)
        return ar_yt_fail_at(l, AR_EPARSE, line, col, "%s (%s started at line %d, column %d)",
                             problem, p->context, (int)p->context_mark.line + 1,
                             (int)p->context_mark.column + 1);
    return ar_yt_fail_at(l, AR_EPARSE, line, col, "%s", problem);
}

ar_err ar_scn_load_string(const char *yaml, size_t len, const char *name, ar_scenario **out,
                          char *err, size_t err_len)
{
    if (!out) return AR_EINVAL;
    *out = NULL;
    if (err && err_len) err[0] = '\0';
    if (!name) name = "<string>";
    if (!yaml) len = 0;
    ar_yt l = {.file = name, .err = err, .err_len = err_len};

    ar_scenario *s = calloc(1, sizeof(*s));
    if (!s || !(s->file = ar_strdup(name))) {
        free(s);
        return ar_yt_fail_oom(&l);
    }
    l.scn = s;
    l.loc_file = s->file;
    if (ar_yt_check_caps(&l, yaml ? yaml : "", len)) {
        ar_scn_free(s);
        return AR_EINVAL;
    }

    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) {
        ar_scn_free(s);
        return ar_yt_fail_oom(&l);
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)(yaml ? yaml : ""), len);
    if (!yaml_parser_load(&parser, &doc)) {
        ar_err rc = yaml_fail(&l, &parser, yaml, len);
        yaml_parser_delete(&parser);
        ar_scn_free(s);
        return rc;
    }
    l.doc = &doc;
    ar_err rc = AR_OK;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root || ar_yt_is_empty_plain(root))
        rc = ar_yt_fail_at(
            &l, AR_EINVAL, 1, 1,
            "empty scenario: a scenario is a mapping with at least 'name' and 'turns'");
    if (!rc) rc = ar_yt_check_all_keys(&l);
    if (!rc) rc = parse_scenario(&l, root, s);
    if (!rc) {
        /* One scenario per file: a second document would be silently ignored. */
        yaml_document_t next;
        if (!yaml_parser_load(&parser, &next)) {
            rc = yaml_fail(&l, &parser, yaml, len);
        } else {
            yaml_node_t *r2 = yaml_document_get_root_node(&next);
            if (r2)
                rc = ar_yt_fail_at(
                    &l, AR_EINVAL, (int)r2->start_mark.line + 1, (int)r2->start_mark.column + 1,
                    "a file holds one scenario, but a second YAML document starts here");
            yaml_document_delete(&next);
        }
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (rc) {
        ar_scn_free(s);
        return rc;
    }
    *out = s;
    return AR_OK;
}

static ar_err read_file(const char *path, char **out, size_t *len, char *err, size_t err_len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        return AR_EIO;
    }
    ar_buf b;
    ar_buf_init(&b, AR_YT_FILE_MAX_BYTES);
    char chunk[16384];
    ar_err rc = AR_OK;
    for (;;) {
        size_t n = fread(chunk, 1, sizeof(chunk), f);
        if (n) rc = ar_buf_append(&b, chunk, n);
        if (rc || n < sizeof(chunk)) break;
    }
    int read_errno = ferror(f) ? errno : 0;
    fclose(f);
    if (read_errno) {
        snprintf(err, err_len, "%s: %s", path, strerror(read_errno));
        rc = AR_EIO;
    } else if (rc == AR_ETOOBIG) {
        snprintf(err, err_len, "%s: larger than the " AR_YT_FILE_MAX_TEXT " cap", path);
        rc = AR_EINVAL;
    } else if (rc) {
        snprintf(err, err_len, "%s: out of memory", path);
    }
    if (rc) {
        ar_buf_free(&b);
        return rc;
    }
    *len = b.len;
    *out = ar_buf_take(&b);
    if (!*out) {
        snprintf(err, err_len, "%s: out of memory", path);
        return AR_ENOMEM;
    }
    return AR_OK;
}

ar_err ar_scn_load_file(const char *path, ar_scenario **out, char *err, size_t err_len)
{
    if (!path || !out) return AR_EINVAL;
    *out = NULL;
    char *text = NULL;
    size_t len = 0;
    char dummy[1];
    if (!err || !err_len) {
        err = dummy;
        err_len = sizeof(dummy);
    }
    ar_err rc = read_file(path, &text, &len, err, err_len);
    if (rc) return rc;
    rc = ar_scn_load_string(text, len, path, out, err, err_len);
    free(text);
    return rc;
}

ar_err ar_scn_load_rules_file(const char *path, ar_px_rule **out, size_t *n_out, char *err,
                              size_t err_len)
{
    *out = NULL;
    *n_out = 0;
    char *text = NULL;
    size_t len = 0;
    ar_err rc = read_file(path, &text, &len, err, err_len);
    if (rc) return rc;
    ar_yt l = {.file = path, .err = err, .err_len = err_len};
    yaml_parser_t parser;
    yaml_document_t doc;
    if (ar_yt_check_caps(&l, text, len)) {
        free(text);
        return AR_EINVAL;
    }
    if (!yaml_parser_initialize(&parser)) {
        free(text);
        return ar_yt_fail_oom(&l);
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = yaml_fail(&l, &parser, text, len);
        yaml_parser_delete(&parser);
        free(text);
        return rc;
    }
    l.doc = &doc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root || ar_yt_is_empty_plain(root))
        rc = ar_yt_fail_at(&l, AR_EINVAL, 1, 1, "empty rules file: expected 'rules' or 'faults'");
    if (!rc) rc = ar_yt_check_all_keys(&l);
    if (!rc) rc = ar_scnf_parse_rules_file(&l, root, out, n_out);
    if (rc) {
        for (size_t i = 0; i < *n_out; i++)
            ar_px_rule_clear(&(*out)[i]);
        free(*out);
        *out = NULL;
        *n_out = 0;
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    free(text);
    return rc;
}

/* Directory loading */

typedef struct {
    char **paths;
    size_t n;
    size_t cap;
} path_list;

static void path_list_free(path_list *pl)
{
    for (size_t i = 0; i < pl->n; i++)
        free(pl->paths[i]);
    free(pl->paths);
    pl->paths = NULL;
    pl->n = pl->cap = 0;
}

static bool has_scenario_ext(const char *name)
{
    size_t n = strlen(name);
    return (n > 5 && !strcmp(name + n - 5, ".yaml")) || (n > 4 && !strcmp(name + n - 4, ".yml"));
}

static ar_err collect(const char *dir, int depth, path_list *pl, char *err, size_t err_len)
{
    if (depth > DIR_MAX_DEPTH) {
        snprintf(err, err_len, "%s: directories nested more than %d deep (a symlink loop?)", dir,
                 DIR_MAX_DEPTH);
        return AR_EINVAL;
    }
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, err_len, "%s: %s", dir, strerror(errno));
        return AR_EIO;
    }
    ar_err rc = AR_OK;
    struct dirent *de;
    size_t dlen = strlen(dir);
    bool slash = dlen > 0 && dir[dlen - 1] == '/';
    while (!rc && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        char *full = ar_asprintf("%s%s%s", dir, slash ? "" : "/", de->d_name);
        if (!full) {
            rc = AR_ENOMEM;
            snprintf(err, err_len, "%s: out of memory", dir);
            break;
        }
        struct stat st;
        if (stat(full, &st) != 0) {
            /* A dangling symlink is not a scenario; skip it like any other non-file. */
            free(full);
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            rc = collect(full, depth + 1, pl, err, err_len);
            free(full);
        } else if (S_ISREG(st.st_mode) && has_scenario_ext(de->d_name)) {
            if (pl->n == pl->cap) {
                size_t cap = pl->cap ? pl->cap * 2 : 16;
                char **grown = realloc(pl->paths, cap * sizeof(*grown));
                if (!grown) {
                    free(full);
                    snprintf(err, err_len, "%s: out of memory", dir);
                    rc = AR_ENOMEM;
                    break;
                }
                pl->paths = grown;
                pl->cap = cap;
            }
            pl->paths[pl->n++] = full;
        } else {
            free(full);
        }
    }
    closedir(d);
    return rc;
}

static int path_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static ar_err list_push(ar_scn_list *out, ar_scenario *s)
{
    ar_scenario **grown = realloc(out->items, (out->n + 1) * sizeof(*grown));
    if (!grown) return AR_ENOMEM;
    out->items = grown;
    out->items[out->n++] = s;
    return AR_OK;
}

static ar_err load_one_into(const char *path, ar_scn_list *out, char *err, size_t err_len)
{
    ar_scenario *s = NULL;
    ar_err rc = ar_scn_load_file(path, &s, err, err_len);
    if (rc) return rc;
    if (list_push(out, s) != AR_OK) {
        ar_scn_free(s);
        snprintf(err, err_len, "%s: out of memory", path);
        return AR_ENOMEM;
    }
    return AR_OK;
}

ar_err ar_scn_load_paths(const char *const *paths, size_t n_paths, ar_scn_list *out, char *err,
                         size_t err_len)
{
    if (!out) return AR_EINVAL;
    out->items = NULL;
    out->n = 0;
    char dummy[1];
    if (!err || !err_len) {
        err = dummy;
        err_len = sizeof(dummy);
    }
    err[0] = '\0';
    ar_err rc = AR_OK;
    for (size_t i = 0; !rc && i < n_paths; i++) {
        struct stat st;
        if (stat(paths[i], &st) != 0) {
            snprintf(err, err_len, "%s: %s", paths[i], strerror(errno));
            rc = AR_EIO;
            break;
        }
        if (!S_ISDIR(st.st_mode)) {
            rc = load_one_into(paths[i], out, err, err_len);
            continue;
        }
        path_list pl = {0};
        rc = collect(paths[i], 0, &pl, err, err_len);
        if (!rc && pl.n == 0) {
            snprintf(err, err_len, "%s: no scenario files (*.yaml, *.yml) found", paths[i]);
            rc = AR_EINVAL;
        }
        if (!rc) qsort(pl.paths, pl.n, sizeof(*pl.paths), path_cmp);
        for (size_t j = 0; !rc && j < pl.n; j++)
            rc = load_one_into(pl.paths[j], out, err, err_len);
        path_list_free(&pl);
    }
    if (rc) ar_scn_list_free(out);
    return rc;
}

static ar_err file_push(ar_scn_file **files, size_t *n, const char *path, const char *error,
                        size_t n_scenarios)
{
    ar_scn_file *grown = realloc(*files, (*n + 1) * sizeof *grown);
    if (!grown) return AR_ENOMEM;
    *files = grown;
    grown[*n] = (ar_scn_file){.path = ar_strdup(path),
                              .error = error ? ar_strdup(error) : NULL,
                              .n_scenarios = n_scenarios};
    (*n)++;
    return AR_OK;
}

/* Loads one file into out and notes it in files; returns its error code. */
static ar_err load_one_noted(const char *path, ar_scn_list *out, ar_scn_file **files, size_t *n)
{
    char err[1024] = "";
    size_t before = out->n;
    ar_err rc = load_one_into(path, out, err, sizeof err);
    if (file_push(files, n, path, rc ? err : NULL, out->n - before) != AR_OK) return AR_ENOMEM;
    return rc;
}

ar_err ar_scn_load_paths_all(const char *const *paths, size_t n_paths, ar_scn_list *out,
                             ar_scn_file **files, size_t *n_files)
{
    if (!out || !files || !n_files) return AR_EINVAL;
    *out = (ar_scn_list){0};
    *files = NULL;
    *n_files = 0;
    ar_err first = AR_OK, rc;
    char err[1024];
    for (size_t i = 0; i < n_paths; i++) {
        struct stat st;
        path_list pl = {0};
        err[0] = '\0';
        if (stat(paths[i], &st) != 0) {
            snprintf(err, sizeof err, "%s: %s", paths[i], strerror(errno));
            rc = AR_EIO;
        } else if (!S_ISDIR(st.st_mode)) {
            rc = load_one_noted(paths[i], out, files, n_files);
            if (rc && !first) first = rc;
            continue;
        } else if ((rc = collect(paths[i], 0, &pl, err, sizeof err)) == AR_OK && pl.n == 0) {
            snprintf(err, sizeof err, "%s: no scenario files (*.yaml, *.yml) found", paths[i]);
            rc = AR_EINVAL;
        }
        if (rc) { /* the path itself is the problem: it is the entry */
            path_list_free(&pl);
            if (!first) first = rc;
            if (file_push(files, n_files, paths[i], err, 0) != AR_OK) return AR_ENOMEM;
            continue;
        }
        qsort(pl.paths, pl.n, sizeof(*pl.paths), path_cmp);
        for (size_t j = 0; j < pl.n; j++) {
            rc = load_one_noted(pl.paths[j], out, files, n_files);
            if (rc && !first) first = rc;
        }
        path_list_free(&pl);
    }
    return first;
}

void ar_scn_files_free(ar_scn_file *files, size_t n)
{
    for (size_t i = 0; files && i < n; i++) {
        free(files[i].path);
        free(files[i].error);
    }
    free(files);
}

/* Freeing */

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void free_expect(ar_expect *x)
{
    free(x->events.order);
    free(x->events.forbidden);
    free(x->events.counts);
    free_strv(x->route.agents, x->route.n_agents);
    free_strv(x->tools.called, x->tools.n_called);
    free_strv(x->tools.not_called, x->tools.n_not_called);
    for (size_t i = 0; i < x->tools.n_status; i++)
        free(x->tools.status[i].tool);
    free(x->tools.status);
    for (size_t i = 0; i < x->tools.n_args; i++) {
        free(x->tools.args[i].tool);
        cJSON_Delete(x->tools.args[i].subset);
        free_strv(x->tools.args[i].absent, x->tools.args[i].n_absent);
    }
    free(x->tools.args);
    free(x->outcome.message);
    pcre2_code_free(x->outcome.compiled);
    for (size_t i = 0; i < x->n_regexes; i++) {
        free(x->regexes[i].pattern_tpl);
        pcre2_code_free(x->regexes[i].compiled);
    }
    free(x->regexes);
    for (size_t i = 0; i < x->n_jsons; i++) {
        free(x->jsons[i].pointer);
        cJSON_Delete(x->jsons[i].value);
        free(x->jsons[i].pattern);
        pcre2_code_free(x->jsons[i].compiled);
    }
    free(x->jsons);
    free_strv(x->context.same, x->context.n_same);
    free_strv(x->context.reappear, x->context.n_reappear);
}

void ar_scn_free(ar_scenario *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n_turns; i++) {
        ar_turn *t = &s->turns[i];
        free(t->message_tpl);
        cJSON_Delete(t->context);
        free_expect(&t->expect);
        for (size_t c = 0; c < t->n_captures; c++) {
            free(t->captures[c].name);
            free(t->captures[c].regex);
            pcre2_code_free(t->captures[c].compiled);
            free(t->captures[c].pointer);
        }
        free(t->captures);
        ar_scnf_client_fault_clear(&t->client_fault);
        ar_scnh_free_step(t->http);
        ar_scnf_directive_clear(&t->directive);
    }
    free(s->turns);
    for (size_t i = 0; i < s->n_faults; i++)
        ar_scnf_fault_clear(&s->faults[i]);
    free(s->faults);
    for (size_t i = 0; i < s->n_thresholds; i++)
        ar_scnf_threshold_clear(&s->thresholds[i]);
    free(s->thresholds);
    ar_scnf_directive_clear(&s->directive);
    free(s->stages);
    free(s->proxy_upstream_tpl);
    free(s->proxy_listen);
    free_strv(s->tags, s->n_tags);
    free(s->file);
    free(s->name);
    free(s->target_tpl);
    free(s->protocol);
    ar_pf_free(s->profile);
    free(s->thread_id_tpl);
    free(s);
}

void ar_scn_list_free(ar_scn_list *l)
{
    if (!l) return;
    for (size_t i = 0; i < l->n; i++)
        ar_scn_free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

int64_t ar_scn_turn_timeout_us(const ar_scenario *s, const ar_turn *t)
{
    if (t && t->timeout_us > 0) return t->timeout_us;
    return s ? s->timeout_us : 60 * INT64_C(1000000);
}

bool ar_scn_has_faults(const ar_scenario *s)
{
    if (s->n_faults) return true;
    for (size_t i = 0; i < s->n_turns; i++)
        if (s->turns[i].client_fault.kind != AR_CF_NONE) return true;
    return false;
}
