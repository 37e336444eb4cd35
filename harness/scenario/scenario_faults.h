/*
 * scenario_faults.h - internal to the scenario loader: parsers for the
 * fault-injection keys (scenario_faults.c). Each reports the first problem
 * with file:line:col through the loader context.
 */
#ifndef AR_SCENARIO_FAULTS_H
#define AR_SCENARIO_FAULTS_H

#include "proxy.h"
#include "scenario.h"
#include "threshold.h"
#include "yamltree.h"

/* `faults:` -> *out (owned array of n_out faults, each with compiled rules). */
ar_err ar_scnf_parse_faults(ar_yt *l, const yaml_node_t *n, ar_fault **out, size_t *n_out);
ar_err ar_scnf_parse_proxy(ar_yt *l, const yaml_node_t *n, ar_scenario *s);
ar_err ar_scnf_parse_thresholds(ar_yt *l, const yaml_node_t *n, ar_scenario *s);
/* `stages: [{duration: 30s, target: 100}, ...]` for agentrig bench. */
ar_err ar_scnf_parse_stages(ar_yt *l, const yaml_node_t *n, ar_scenario *s);
/* scenario_level: a header directive is allowed (sent with the handshake). */
ar_err ar_scnf_parse_directive(ar_yt *l, const yaml_node_t *n, bool scenario_level,
                               ar_directive *d);
ar_err ar_scnf_parse_client_fault(ar_yt *l, const yaml_node_t *n, ar_client_fault *cf);
/* A standalone rules file's root -> compiled rules (owned). */
ar_err ar_scnf_parse_rules_file(ar_yt *l, const yaml_node_t *root, ar_px_rule **out, size_t *n_out);

/* `http:` steps (scenario_http.c). *out is owned by the turn. */
struct ar_http_step;
ar_err ar_scnh_parse_step(ar_yt *l, const yaml_node_t *n, struct ar_http_step **out);
void ar_scnh_free_step(struct ar_http_step *st); /* NULL-safe */

void ar_scnf_fault_clear(ar_fault *f);
void ar_scnf_directive_clear(ar_directive *d);
void ar_scnf_client_fault_clear(ar_client_fault *cf);
void ar_scnf_threshold_clear(ar_scn_threshold *t);

#endif
