/*
 * chaos_report.c - reports for `agentrig chaos` (chaos_report.h).
 *
 * JUnit: junit-10.xsd allows properties on a testsuite but not on a
 * testcase, so each fault type is a testsuite carrying trials, recovered,
 * inconclusive, rate and the interval as properties, and each threshold on
 * it is a testcase that fails when the threshold does. Testcase names are
 * unique per suite (a threshold given twice gets " [1]", " [2]": GitLab keeps
 * one testcase per name), and a failing one lists the transcripts of the
 * trials that did not recover as GitLab attachments in <system-out>.
 */
#include "chaos_report.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "text.h"

#define ATTR_MAX 1024

void ar_chaos_result_clear(ar_chaos_result *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n_types; i++) {
        ar_chaos_type *t = &r->types[i];
        free(t->type);
        for (size_t k = 0; k < t->n_scenarios; k++)
            free(t->scenarios[k]);
        free(t->scenarios);
        for (size_t k = 0; k < t->n_verdicts; k++) {
            free(t->verdicts[k].source);
            free(t->verdicts[k].metric);
            free(t->verdicts[k].verdict);
        }
        free(t->verdicts);
        for (size_t k = 0; k < t->n_failed_transcripts; k++) {
            free(t->failed_transcripts[k]);
            free(t->failed_reasons[k]);
        }
        free(t->failed_transcripts);
        free(t->failed_reasons);
        for (size_t k = 0; k < t->n_interrupted_trials; k++)
            free(t->interrupted_trials[k]);
        free(t->interrupted_trials);
    }
    free(r->types);
    memset(r, 0, sizeof *r);
}

static void fmt_rate(const ar_chaos_type *t, char *out, size_t len)
{
    if (isnan(t->rate))
        snprintf(out, len, "n/a");
    else
        snprintf(out, len, "%.2f [%.2f, %.2f]", t->rate, t->ci_lo, t->ci_hi);
}

static void prop(FILE *f, const char *name, const char *value)
{
    fprintf(f, "      <property name=\"%s\" value=\"", name);
    ar_text_xml_put(f, value, ATTR_MAX, true);
    fputs("\"/>\n", f);
}

static void prop_num(FILE *f, const char *name, double v, const char *fmt)
{
    char b[64];
    if (isnan(v))
        snprintf(b, sizeof b, "n/a");
    else
        snprintf(b, sizeof b, fmt, v);
    prop(f, name, b);
}

/* 1-based position of verdict k among the verdicts with its name; 0 if alone. */
static size_t verdict_ordinal(const ar_chaos_type *t, size_t k)
{
    const ar_chaos_verdict *v = &t->verdicts[k];
    size_t same = 0, ord = 0;
    for (size_t j = 0; j < t->n_verdicts; j++) {
        const ar_chaos_verdict *w = &t->verdicts[j];
        if (strcmp(w->metric, v->metric) != 0 || strcmp(w->source, v->source) != 0) continue;
        same++;
        if (j <= k) ord++;
    }
    return same > 1 ? ord : 0;
}

/* GitLab shows the first attachment; the others are there for the rest. */
static void put_attachments(FILE *f, const ar_chaos_type *t)
{
    if (!t->n_failed_transcripts) return;
    fputs("      <system-out>", f);
    for (size_t m = 0; m < t->n_failed_transcripts; m++) {
        /* GitLab's pattern does not take '[', ']' or '|' in a path. */
        bool plain = strpbrk(t->failed_transcripts[m], "[]|") != NULL;
        fputs(plain ? "transcript: " : "[[ATTACHMENT|", f);
        ar_text_xml_put(f, t->failed_transcripts[m], 4096, false);
        fputs(plain ? "\n" : "]]\n", f);
    }
    fputs("</system-out>\n", f);
}

/* The fault type's figures; an interrupted run says so on every suite. */
static void put_properties(FILE *f, const ar_chaos_result *r, const ar_chaos_type *t)
{
    fputs("    <properties>\n", f);
    prop(f, "fault_type", t->type);
    prop_num(f, "trials", (double)t->trials, "%.0f");
    prop_num(f, "recovered", (double)t->recovered, "%.0f");
    prop_num(f, "inconclusive", (double)t->inconclusive, "%.0f");
    prop_num(f, "errors", (double)t->errors, "%.0f");
    prop_num(f, "rate", t->rate, "%.4f");
    prop_num(f, "ci95_low", t->ci_lo, "%.4f");
    prop_num(f, "ci95_high", t->ci_hi, "%.4f");
    prop_num(f, "ttr_p50_ms", t->ttr_p50_us < 0 ? NAN : (double)t->ttr_p50_us / 1e3, "%.3f");
    prop_num(f, "ttr_p95_ms", t->ttr_p95_us < 0 ? NAN : (double)t->ttr_p95_us / 1e3, "%.3f");
    prop_num(f, "seed", (double)r->seed, "%.0f");
    for (size_t k = 0; k < t->n_scenarios; k++)
        prop(f, "scenario", t->scenarios[k]);
    if (r->interrupted) {
        prop(f, "interrupted", "true");
        prop_num(f, "interrupted_trials", (double)t->interrupted, "%.0f");
        prop_num(f, "not_run", (double)t->not_run, "%.0f");
    }
    fputs("    </properties>\n", f);
}

/* An interrupt before any trial of t finished leaves its thresholds with
 * nothing to judge: skipped, not failed - nothing was measured. */
static bool no_data(const ar_chaos_result *r, const ar_chaos_type *t)
{
    return r->interrupted && t->trials == t->inconclusive;
}

/* A skipped testcase, so a CI reader that ignores properties still sees that
 * the rates above come from part of the trials. */
static void put_interrupted_case(FILE *f, const ar_chaos_type *t)
{
    fputs("    <testcase classname=\"chaos.", f);
    ar_text_xml_put(f, t->type, ATTR_MAX, true);
    fprintf(f,
            "\" name=\"run interrupted\" time=\"0\">\n      <skipped message=\"not run: interrupted; "
            "%zu trials cut off and %zu not started are not counted\"/>\n    </testcase>\n",
            t->interrupted, t->not_run);
}

ar_err ar_report_chaos_junit(const ar_chaos_result *r, const char *path, char *err, size_t err_len)
{
    ar_fsutil_file af;
    ar_err rc = ar_fsutil_open(&af, path, err, err_len);
    if (rc) return rc;
    FILE *f = af.f;
    size_t tests = 0, failures = 0;
    for (size_t i = 0; i < r->n_types; i++) {
        tests += r->types[i].n_verdicts + (r->interrupted ? 1 : 0);
        for (size_t k = 0; k < r->types[i].n_verdicts; k++)
            failures += !r->types[i].verdicts[k].passed && !no_data(r, &r->types[i]);
    }
    char host[256] = "localhost", ts[32];
    gethostname(host, sizeof host - 1);
    ar_wall_iso8601(r->start_wall_us, ts, sizeof ts);
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
    fprintf(f,
            "<testsuites name=\"agentrig chaos\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
            "time=\"%.3f\">\n",
            tests, failures, (double)r->duration_us / 1e6);
    for (size_t i = 0; i < r->n_types; i++) {
        const ar_chaos_type *t = &r->types[i];
        size_t tf = 0;
        for (size_t k = 0; k < t->n_verdicts; k++)
            tf += !t->verdicts[k].passed && !no_data(r, t);
        fputs("  <testsuite name=\"chaos: ", f);
        ar_text_xml_put(f, t->type, ATTR_MAX, true);
        fprintf(f,
                "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\" time=\"0\" "
                "timestamp=\"%s\" hostname=\"",
                t->n_verdicts + (r->interrupted ? 1 : 0), tf,
                (r->interrupted ? 1 : 0) + (no_data(r, t) ? t->n_verdicts : 0), ts);
        ar_text_xml_put(f, host, ATTR_MAX, true);
        fputs("\">\n", f);
        put_properties(f, r, t);
        if (r->interrupted) put_interrupted_case(f, t);
        for (size_t k = 0; k < t->n_verdicts; k++) {
            const ar_chaos_verdict *v = &t->verdicts[k];
            fputs("    <testcase classname=\"chaos.", f);
            ar_text_xml_put(f, t->type, ATTR_MAX, true);
            fputs("\" name=\"", f);
            ar_text_xml_put(f, v->metric, ATTR_MAX, true);
            fputs(": ", f);
            ar_text_xml_put(f, v->source, ATTR_MAX, true);
            size_t ord = verdict_ordinal(t, k);
            if (ord) fprintf(f, " [%zu]", ord);
            fputs("\" time=\"0\"", f);
            if (no_data(r, t)) {
                fputs(">\n      <skipped message=\"not run: interrupted before any trial of this "
                      "fault type finished\"/>\n    </testcase>\n",
                      f);
                continue;
            }
            if (v->passed) {
                fputs("/>\n", f);
                continue;
            }
            char rate[64];
            fmt_rate(t, rate, sizeof rate);
            fputs(">\n      <failure type=\"threshold\" message=\"", f);
            ar_text_xml_put(f, t->type, ATTR_MAX, true);
            fputs(": ", f);
            ar_text_xml_put(f, v->verdict, ATTR_MAX, true);
            fputs("\">", f);
            fprintf(f,
                    "recovery rate %s over %zu trials (%zu recovered, %zu inconclusive, %zu "
                    "errors)\n",
                    rate, t->trials, t->recovered, t->inconclusive, t->errors);
            for (size_t m = 0; m < t->n_failed_transcripts; m++) {
                fputs("transcript: ", f);
                ar_text_xml_put(f, t->failed_transcripts[m], 4096, false);
                fputs("\n  ", f);
                ar_text_xml_put(f, t->failed_reasons[m], 4096, false);
                fputc('\n', f);
            }
            fputs("</failure>\n", f);
            put_attachments(f, t);
            fputs("    </testcase>\n", f);
        }
        fputs("  </testsuite>\n", f);
    }
    fputs("</testsuites>\n", f);
    return ar_fsutil_commit(&af, err, err_len);
}

static void add_num_or_null(cJSON *o, const char *name, double v)
{
    if (isnan(v))
        cJSON_AddNullToObject(o, name);
    else
        cJSON_AddNumberToObject(o, name, v);
}

ar_err ar_report_chaos_json(const ar_chaos_result *r, const char *path, char *err, size_t err_len)
{
    cJSON *root = cJSON_CreateObject();
    char ts[32];
    ar_wall_iso8601(r->start_wall_us, ts, sizeof ts);
    cJSON_AddNumberToObject(root, "version", 1);
    cJSON_AddStringToObject(root, "tool", "agentrig");
    cJSON_AddStringToObject(root, "tool_version", AR_VERSION);
    cJSON_AddStringToObject(root, "mode", "chaos");
    cJSON_AddStringToObject(root, "started_at", ts);
    cJSON_AddNumberToObject(root, "duration_s", (double)r->duration_us / 1e6);
    cJSON_AddBoolToObject(root, "interrupted", r->interrupted);
    cJSON_AddNumberToObject(root, "seed", (double)r->seed);
    cJSON_AddNumberToObject(root, "trials_per_scenario", (double)r->trials);
    cJSON *types = cJSON_AddArrayToObject(root, "fault_types");
    for (size_t i = 0; i < r->n_types; i++) {
        const ar_chaos_type *t = &r->types[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", t->type);
        cJSON *sc = cJSON_AddArrayToObject(o, "scenarios");
        for (size_t k = 0; k < t->n_scenarios; k++)
            cJSON_AddItemToArray(sc, cJSON_CreateString(t->scenarios[k]));
        cJSON_AddNumberToObject(o, "trials", (double)t->trials);
        cJSON_AddNumberToObject(o, "recovered", (double)t->recovered);
        cJSON_AddNumberToObject(o, "inconclusive", (double)t->inconclusive);
        cJSON_AddNumberToObject(o, "errors", (double)t->errors);
        cJSON_AddNumberToObject(o, "interrupted", (double)t->interrupted);
        cJSON_AddNumberToObject(o, "not_run", (double)t->not_run);
        cJSON *it = cJSON_AddArrayToObject(o, "interrupted_trials");
        for (size_t k = 0; k < t->n_interrupted_trials; k++)
            cJSON_AddItemToArray(it, cJSON_CreateString(t->interrupted_trials[k]));
        add_num_or_null(o, "rate", t->rate);
        add_num_or_null(o, "ci95_low", t->ci_lo);
        add_num_or_null(o, "ci95_high", t->ci_hi);
        add_num_or_null(o, "ttr_p50_ms", t->ttr_p50_us < 0 ? NAN : (double)t->ttr_p50_us / 1e3);
        add_num_or_null(o, "ttr_p95_ms", t->ttr_p95_us < 0 ? NAN : (double)t->ttr_p95_us / 1e3);
        cJSON_AddBoolToObject(o, "passed", t->passed);
        cJSON *vs = cJSON_AddArrayToObject(o, "thresholds");
        for (size_t k = 0; k < t->n_verdicts; k++) {
            cJSON *v = cJSON_CreateObject();
            cJSON_AddStringToObject(v, "metric", t->verdicts[k].metric);
            cJSON_AddStringToObject(v, "threshold", t->verdicts[k].source);
            cJSON_AddStringToObject(v, "verdict", t->verdicts[k].verdict);
            cJSON_AddBoolToObject(v, "passed", t->verdicts[k].passed);
            cJSON_AddItemToArray(vs, v);
        }
        cJSON *ft = cJSON_AddArrayToObject(o, "failed_trials");
        for (size_t k = 0; k < t->n_failed_transcripts; k++) {
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "transcript", t->failed_transcripts[k]);
            cJSON_AddStringToObject(x, "reason", t->failed_reasons[k]);
            cJSON_AddItemToArray(ft, x);
        }
        cJSON_AddItemToArray(types, o);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) return AR_ENOMEM;
    ar_fsutil_file af;
    ar_err rc = ar_fsutil_open(&af, path, err, err_len);
    if (rc == AR_OK) {
        fputs(text, af.f);
        fputc('\n', af.f);
        rc = ar_fsutil_commit(&af, err, err_len);
    }
    free(text);
    return rc;
}

/* The trials an interrupt cut off, by name: they are in no column above. */
static void put_interrupted_trials(FILE *out, const ar_chaos_type *t, bool color)
{
    if (!t->interrupted && !t->not_run) return;
    fprintf(out, "    %s%s: %zu trial%s interrupted, %zu not run (not counted)", color ? "\033[33m" : "",
            t->type, t->interrupted, t->interrupted == 1 ? "" : "s", t->not_run);
    for (size_t k = 0; k < t->n_interrupted_trials && k < 5; k++)
        fprintf(out, "%s%s", k ? ", " : ": ", t->interrupted_trials[k]);
    if (t->n_interrupted_trials > 5) fprintf(out, ", +%zu more", t->n_interrupted_trials - 5);
    fprintf(out, "%s\n", color ? "\033[0m" : "");
}

void ar_report_chaos_summary(const ar_chaos_result *r, FILE *out, bool color)
{
    const char *green = color ? "\033[32m" : "", *red = color ? "\033[31m" : "",
               *yellow = color ? "\033[33m" : "",
               *dim = color ? "\033[2m" : "", *reset = color ? "\033[0m" : "";
    fprintf(out, "%-18s %6s %9s %12s  %-20s %9s %9s  %s\n", "fault type", "trials", "recovered",
            "inconclusive", "rate [95% CI]", "TTR p50", "TTR p95", "verdict");
    bool all = true;
    for (size_t i = 0; i < r->n_types; i++) {
        const ar_chaos_type *t = &r->types[i];
        char rate[64], p50[32] = "-", p95[32] = "-";
        fmt_rate(t, rate, sizeof rate);
        if (t->ttr_p50_us >= 0) ar_fmt_duration(t->ttr_p50_us, p50, sizeof p50);
        if (t->ttr_p95_us >= 0) ar_fmt_duration(t->ttr_p95_us, p95, sizeof p95);
        fprintf(out, "%-18s %6zu %9zu %12zu  %-20s %9s %9s  %s%s%s\n", t->type, t->trials,
                t->recovered, t->inconclusive, rate, p50, p95, t->passed ? green : red,
                t->passed ? "PASS" : "FAIL", reset);
        all = all && t->passed;
        for (size_t k = 0; k < t->n_verdicts; k++)
            if (!t->verdicts[k].passed)
                fprintf(out, "    %s%s: %s %s%s\n", red, t->type, t->verdicts[k].metric,
                        t->verdicts[k].verdict, reset);
        if (!t->passed && t->trials && t->inconclusive == t->trials)
            fprintf(out, "    %s%s: the fault did not fire in any trial (check its match)%s\n", red,
                    t->type, reset);
        for (size_t k = 0; k < t->n_failed_transcripts && k < 3; k++)
            fprintf(out, "    %s%.200s\n      transcript: %s%s\n", dim, t->failed_reasons[k],
                    t->failed_transcripts[k], reset);
        if (t->n_failed_transcripts > 3)
            fprintf(out, "    %s(+%zu more transcripts)%s\n", dim, t->n_failed_transcripts - 3,
                    reset);
        put_interrupted_trials(out, t, color);
    }
    char took[32];
    ar_fmt_duration(r->duration_us, took, sizeof took);
    if (r->interrupted) {
        /* Never "all recovered": the rates cover only the trials that ended. */
        size_t cut = 0, not_run = 0;
        for (size_t i = 0; i < r->n_types; i++) {
            cut += r->types[i].interrupted;
            not_run += r->types[i].not_run;
        }
        fprintf(out,
                "\n%zu fault types, %ld trials each, seed %llu: %sinterrupted: %zu trials cut off, "
                "%zu not run; rates count only finished trials%s  (%s)\n",
                r->n_types, r->trials, (unsigned long long)r->seed, yellow, cut, not_run, reset, took);
        return;
    }
    fprintf(out, "\n%zu fault types, %ld trials each, seed %llu: %s%s%s  (%s)\n", r->n_types,
            r->trials, (unsigned long long)r->seed, all ? green : red,
            all ? "all recovered within thresholds" : "some fault types are below threshold", reset,
            took);
}
