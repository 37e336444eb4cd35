/*
 * jsonptr.c - RFC 6901 JSON pointers over cJSON, shared by the validators,
 * captures and the fault proxy's JSON match.
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
        } else if (cJSON_IsArray(cur)) {
            size_t idx;
            if (token_index(tok, len, &idx) && idx <= (size_t)INT_MAX)
                next = cJSON_GetArrayItem(cur, (int)idx);
        }
        if (!next) return NULL;
        cur = next;
        p = tok + len;
    }
    return cur;
}
