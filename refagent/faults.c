/*
 * faults.c - parsing and querying fault directives (see faults.h).
 *
 * The parser is strict on purpose: a typo in a test hook must be refused
 * loudly, or a fault scenario would silently test the happy path.
 */
#include "faults.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_sep(char c)
{
    return c == ';' || c == ',' || c == ' ' || c == '\t';
}

static int set_name(char *dst, const char *src, size_t len, const char *what, char *err,
                    size_t err_len)
{
    if (len == 0 || len >= RA_FAULTS_NAME_MAX) {
        snprintf(err, err_len, "fault_directive: %s needs a name of 1 to %d bytes", what,
                 RA_FAULTS_NAME_MAX - 1);
        return -1;
    }
    memcpy(dst, src, len);
    dst[len] = '\0';
    return 0;
}

/* Parses one item [p, p+len). */
static int parse_item(const char *p, size_t len, ra_faults *f, char *err, size_t err_len)
{
    const char *eq = memchr(p, '=', len);
    size_t key_len = eq ? (size_t)(eq - p) : len;
    const char *val = eq ? eq + 1 : p + len;
    size_t val_len = (size_t)(p + len - val);
    if (key_len == 9 && strncmp(p, "fail_tool", 9) == 0 && eq) {
        if (f->n_fail_tools >= RA_FAULTS_MAX) goto too_many;
        return set_name(f->fail_tools[f->n_fail_tools++], val, val_len, "fail_tool", err, err_len);
    }
    if (key_len == 10 && strncmp(p, "fail_agent", 10) == 0 && eq) {
        if (f->n_fail_agents >= RA_FAULTS_MAX) goto too_many;
        return set_name(f->fail_agents[f->n_fail_agents++], val, val_len, "fail_agent", err,
                        err_len);
    }
    if (key_len == 10 && strncmp(p, "slow_agent", 10) == 0 && eq) {
        if (f->n_slow_agents >= RA_FAULTS_MAX) goto too_many;
        const char *colon = memchr(val, ':', val_len);
        char num[16];
        size_t num_len = colon ? (size_t)(val + val_len - colon - 1) : 0;
        char *end = NULL;
        long ms = -1;
        if (colon && num_len > 0 && num_len < sizeof(num)) {
            memcpy(num, colon + 1, num_len);
            num[num_len] = '\0';
            errno = 0;
            ms = strtol(num, &end, 10);
            if (errno || *end || end == num) ms = -1;
        }
        if (ms < 0 || ms > 3600000) {
            snprintf(err, err_len,
                     "fault_directive: slow_agent needs <agent>:<ms> with ms in 0..3600000, "
                     "got '%.*s'",
                     (int)(val_len > 64 ? 64 : val_len), val);
            return -1;
        }
        int i = f->n_slow_agents++;
        f->slow_ms[i] = (int)ms;
        return set_name(f->slow_agents[i], val, (size_t)(colon - val), "slow_agent", err, err_len);
    }
    snprintf(err, err_len,
             "fault_directive: unknown item '%.*s' (use fail_tool=, fail_agent= or slow_agent=)",
             (int)(len > 64 ? 64 : len), p);
    return -1;
too_many:
    snprintf(err, err_len, "fault_directive: at most %d items of each kind", RA_FAULTS_MAX);
    return -1;
}

int ra_faults_parse(const char *directive, ra_faults *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof(*out));
    if (strlen(directive) > RA_FAULTS_DIRECTIVE_MAX_BYTES) {
        snprintf(err, err_len, "fault_directive: longer than %d bytes",
                 RA_FAULTS_DIRECTIVE_MAX_BYTES);
        return -1;
    }
    const char *p = directive;
    for (;;) {
        while (*p && is_sep(*p))
            p++;
        if (!*p) return 0;
        const char *start = p;
        while (*p && !is_sep(*p))
            p++;
        if (parse_item(start, (size_t)(p - start), out, err, err_len) != 0) {
            memset(out, 0, sizeof(*out));
            return -1;
        }
    }
}

static bool name_in(const char (*names)[RA_FAULTS_NAME_MAX], int n, const char *name)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i], "*") == 0 || strcmp(names[i], name) == 0) return true;
    }
    return false;
}

bool ra_faults_tool_fails(const ra_faults *f, const char *tool)
{
    return f && name_in(f->fail_tools, f->n_fail_tools, tool);
}

bool ra_faults_agent_fails(const ra_faults *f, const char *agent)
{
    return f && name_in(f->fail_agents, f->n_fail_agents, agent);
}

int ra_faults_agent_delay_ms(const ra_faults *f, const char *agent)
{
    if (!f) return 0;
    for (int i = 0; i < f->n_slow_agents; i++) {
        if (strcmp(f->slow_agents[i], "*") == 0 || strcmp(f->slow_agents[i], agent) == 0)
            return f->slow_ms[i];
    }
    return 0;
}
