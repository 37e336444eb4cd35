/*
 * jsonptr.c - RFC 6901 JSON pointers over cJSON, shared by the validators,
 * captures, the fault proxy's JSON match and the protocol profiles, with one
 * agentrig extension: a negative array index counts from the end, because
 * services append (LangGraph's "the last message" is /messages/-1).
 */
#include "jsonptr.h"

#include <limits.h>
#include <stdbool.h>
#include <string.h>

/* Does the escaped reference token tok[0..len) name key? (~0 is '~', ~1 is
 * '/'; a '~' followed by anything else never matches.) */
static bool token_equals(const char *tok, size_t len, const char *key)
{
    size_t i = 0;
    while (i < len) {
        char c = tok[i];
        if (c == '~') {
            if (i + 1 >= len) return false;
            if (tok[i + 1] == '0')
                c = '~';
            else if (tok[i + 1] == '1')
                c = '/';
            else
                return false;
            i += 2;
        } else {
            i++;
        }
        if (*key != c) return false;
        key++;
    }
    return *key == '\0';
}

static bool token_valid(const char *tok, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (tok[i] == '~' && (i + 1 >= len || (tok[i + 1] != '0' && tok[i + 1] != '1')))
            return false;
    return true;
}

/* Array index per RFC 6901: "0" or a digit string without a leading zero. */
static bool token_index(const char *tok, size_t len, size_t *out)
{
    if (len == 0 || len > 18) return false;
    if (len > 1 && tok[0] == '0') return false;
    size_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (tok[i] < '0' || tok[i] > '9') return false;
        v = v * 10 + (size_t)(tok[i] - '0');
    }
    *out = v;
    return true;
}

/* agentrig's extension: "-N" (N canonical, at least 1) is the Nth element
 * from the end. "-0", "-" and "-01" are no index. */
static bool token_neg_index(const char *tok, size_t len, size_t *out)
{
    if (len < 2 || tok[0] != '-' || tok[1] == '0') return false;
    return token_index(tok + 1, len - 1, out);
}

static const cJSON *array_step(const cJSON *arr, const char *tok, size_t len)
{
    size_t idx;
    if (token_index(tok, len, &idx)) {
        if (idx > (size_t)INT_MAX) return NULL;
        return cJSON_GetArrayItem(arr, (int)idx);
    }
    if (token_neg_index(tok, len, &idx)) {
        size_t n = (size_t)cJSON_GetArraySize(arr);
        if (idx > n) return NULL;
        return cJSON_GetArrayItem(arr, (int)(n - idx));
    }
    return NULL; /* "-" (RFC 6901: past the end) and anything else */
}

const cJSON *ar_json_pointer_get(const cJSON *root, const char *ptr)
{
    if (!root || !ptr) return NULL;
    if (*ptr == '\0') return root;
    if (*ptr != '/') return NULL;
    const cJSON *cur = root;
    const char *p = ptr;
    while (*p == '/') {
        const char *tok = p + 1;
        const char *end = strchr(tok, '/');
        size_t len = end ? (size_t)(end - tok) : strlen(tok);
        if (!token_valid(tok, len)) return NULL;
        const cJSON *next = NULL;
        if (cJSON_IsObject(cur)) {
            for (const cJSON *c = cur->child; c; c = c->next)
                if (c->string && token_equals(tok, len, c->string)) {
                    next = c;
                    break;
                }
            /* "*": the first member, whatever its name (a member literally
             * named "*" wins). LangGraph's {"<node>": {...}} updates. */
            if (!next && len == 1 && tok[0] == '*') next = cur->child;
        } else if (cJSON_IsArray(cur)) {
            next = array_step(cur, tok, len);
        }
        if (!next) return NULL;
        cur = next;
        p = tok + len;
    }
    return cur;
}
