/*
 * yamltree.h - walking a libyaml document with line:col diagnostics: the
 * helpers shared by the loaders of scenarios (harness/scenario/), profiles
 * (harness/protocol/) and fault rules. It knows nothing of what it loads.
 *
 * Every helper reports the first problem through ar_yt_fail_at, which writes
 * "file:line:col: message" into the loader's error buffer and returns the
 * error code, so parsers can simply `AR_YT_TRY(...)` their way down.
 */
#ifndef AR_YAMLTREE_H
#define AR_YAMLTREE_H

#include <cjson/cJSON.h>
#include <yaml.h>

#include "event.h"

struct ar_scenario;

#define AR_YT_TRY(expr)                                                                            \
    do {                                                                                           \
        ar_err try_rc_ = (expr);                                                                   \
        if (try_rc_ != AR_OK) return try_rc_;                                                      \
    } while (0)

typedef struct {
    const char *file;
    yaml_document_t *doc;
    char *err;
    size_t err_len;
    size_t ctx_values;
    /* The scenario being loaded (scenario loader only; opaque here) and the
     * path its locations borrow, which outlives the loader. */
    struct ar_scenario *scn;
    const char *loc_file;
} ar_yt;

#define AR_YT_FAIL(l, node, ...)                                                                   \
    ar_yt_fail_at((l), AR_EINVAL, (int)(node)->start_mark.line + 1,                                \
                  (int)(node)->start_mark.column + 1, __VA_ARGS__)

int ar_yt_name_index(const char *const *names, size_t n, const char *s);
void ar_yt_join_names(const char *const *names, size_t n, char *out, size_t out_len);
ar_err ar_yt_fail_at(ar_yt *l, ar_err code, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
ar_err ar_yt_fail_oom(ar_yt *l);
yaml_node_t *ar_yt_nd(ar_yt *l, int id);
const char *ar_yt_sval(const yaml_node_t *n);
bool ar_yt_is_scalar(const yaml_node_t *n);
bool ar_yt_is_empty_plain(const yaml_node_t *n);
const char *ar_yt_got(const yaml_node_t *n, char *buf, size_t len);
yaml_node_t *ar_yt_map_get(ar_yt *l, const yaml_node_t *map, const char *key);
ar_err ar_yt_check_map_later(ar_yt *l, const yaml_node_t *n, const char *field,
                             const char *const *valid, size_t n_valid, const char *const *later,
                             size_t n_later);
ar_err ar_yt_check_map(ar_yt *l, const yaml_node_t *n, const char *field, const char *const *valid,
                       size_t n_valid);
ar_err ar_yt_check_all_keys(ar_yt *l);
ar_err ar_yt_get_string(ar_yt *l, const yaml_node_t *n, const char *field, bool allow_empty,
                        char **out);
ar_err ar_yt_get_bool(ar_yt *l, const yaml_node_t *n, const char *field, bool *out);
ar_err ar_yt_get_duration(ar_yt *l, const yaml_node_t *n, const char *field, int64_t *out_us);
ar_err ar_yt_get_count(ar_yt *l, const yaml_node_t *n, const char *what, int *out);
bool ar_yt_parse_number_text(const char *v, double *out);
bool ar_yt_tpl_name_start(char c);
bool ar_yt_tpl_name_char(char c);
ar_err ar_yt_check_tpl(ar_yt *l, const yaml_node_t *n, const char *field, const char *s);
ar_err ar_yt_check_pointer(ar_yt *l, const yaml_node_t *n, const char *p);
ar_err ar_yt_compile_regex(ar_yt *l, const yaml_node_t *n, const char *pat, void **out,
                           uint32_t *groups);
ar_err ar_yt_node_json(ar_yt *l, const yaml_node_t *n, const char *field, bool tpl, int depth,
                       cJSON **out);
ar_err ar_yt_get_str_list(ar_yt *l, const yaml_node_t *n, const char *field, char ***out,
                          size_t *n_out);
ar_err ar_yt_get_kind(ar_yt *l, const yaml_node_t *n, ar_ev_kind *out);
ar_err ar_yt_get_kind_list(ar_yt *l, const yaml_node_t *n, const char *field, ar_ev_kind **out,
                           size_t *n_out);
ar_err ar_yt_get_mode(ar_yt *l, const yaml_node_t *n, const char *what, const char *const *names,
                      size_t n_names, int *out);
ar_srcloc ar_yt_loc_of(ar_yt *l, const yaml_node_t *n);

/*
 * Caps on a scenario, profile or rules file, checked before libyaml sees a
 * byte: libyaml's time grows with the square of the nesting depth (a 200 KB
 * file nested 100,000 levels deep took 23 s) and its loader recurses. Real
 * files are a few KiB and under 10 levels deep.
 */
#define AR_YT_FILE_MAX_BYTES (4u * 1024u * 1024u)
#define AR_YT_FILE_MAX_TEXT "4 MiB"
#define AR_YT_MAX_DEPTH 64
/*
 * AR_OK, or AR_EINVAL with l->err set: "FILE: larger than the 4 MiB cap"
 * when len is over AR_YT_FILE_MAX_BYTES, "FILE:LINE:COL: nested deeper than
 * 64 levels" where a linear pre-scan of the bytes (block indentation, `- `
 * entries and flow brackets, outside quotes, comments and block scalars)
 * first counts 65 open levels. The count errs on the high side (a scalar
 * after `- ` counts as a level), never the low one.
 */
ar_err ar_yt_check_caps(ar_yt *l, const char *yaml, size_t len);

#endif
