/*
 * model.c - deterministic completions: routing, reasoning text, answers.
 *
 * Routing lives here, not in the agents, on purpose: Triage must ask the
 * model which agents to use, so a failing or slow model endpoint really
 * changes the outcome of a turn, which is what fault injection tests need.
 */
#include "model.h"
#include "memory.h"
#include "util.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RA_TEXT_MAX_BYTES (64u * 1024u)

unsigned ra_model_intents(const char *input)
{
    static const char *const cost[] = {"cost", "spend", "optimi", "reduc", "budget", "saving"};
    static const char *const comp[] = {"complian", "pci",   "soc 2", "soc2",
                                       "gdpr",     "hipaa", "audit"};
    unsigned bits = 0;
    for (size_t i = 0; i < sizeof(cost) / sizeof(cost[0]); i++) {
        if (ra_contains_ci(input, cost[i])) bits |= RA_INTENT_COST;
    }
    for (size_t i = 0; i < sizeof(comp) / sizeof(comp[0]); i++) {
        if (ra_contains_ci(input, comp[i])) bits |= RA_INTENT_COMPLIANCE;
    }
    if (ra_contains_ci(input, "migrat")) bits |= RA_INTENT_MIGRATION;
    return bits;
}

void ra_model_route(unsigned bits, cJSON *route, cJSON *intents)
{
    if (bits & RA_INTENT_COST) cJSON_AddItemToArray(route, cJSON_CreateString("Data"));
    if (bits & (RA_INTENT_COST | RA_INTENT_MIGRATION))
        cJSON_AddItemToArray(route, cJSON_CreateString("Optimization"));
    if (bits & RA_INTENT_COMPLIANCE) cJSON_AddItemToArray(route, cJSON_CreateString("Compliance"));
    if (bits & RA_INTENT_COST) cJSON_AddItemToArray(intents, cJSON_CreateString("cost"));
    if (bits & RA_INTENT_COMPLIANCE)
        cJSON_AddItemToArray(intents, cJSON_CreateString("compliance"));
    if (bits & RA_INTENT_MIGRATION) cJSON_AddItemToArray(intents, cJSON_CreateString("migration"));
}

static void fmt_usd(double usd, char *out, size_t out_len)
{
    long long v = (long long)(usd + 0.5);
    char digits[32];
    snprintf(digits, sizeof(digits), "%lld", v);
    size_t n = strlen(digits), o = 0;
    out[o++] = '$';
    for (size_t i = 0; i < n && o + 2 < out_len; i++) {
        if (i > 0 && (n - i) % 3 == 0) out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
}

static double num_field(const cJSON *obj, const char *key, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static void add_facts_line(ra_sb *sb, const ra_facts *f)
{
    if (f->spend_usd <= 0 && f->gpu_instances < 0 && f->training_jobs < 0 && !f->platform[0] &&
        f->n_frameworks == 0)
        return;
    ra_sb_puts(sb, " On record for this conversation:");
    const char *sep = " ";
    if (f->spend_usd > 0) {
        ra_sb_printf(sb, "%sspend %s", sep, f->spend);
        sep = ", ";
    }
    if (f->platform[0]) {
        ra_sb_printf(sb, "%splatform %s", sep, f->platform);
        sep = ", ";
    }
    if (f->gpu_instances >= 0) {
        ra_sb_printf(sb, "%s%d GPU instances", sep, f->gpu_instances);
        sep = ", ";
    }
    if (f->training_jobs >= 0) {
        ra_sb_printf(sb, "%s%d training jobs", sep, f->training_jobs);
        sep = ", ";
    }
    for (int i = 0; i < f->n_frameworks; i++) {
        ra_sb_printf(sb, "%s%s%s", sep, i == 0 ? "compliance " : "", f->frameworks[i]);
        sep = i == 0 ? " and " : ", ";
    }
    ra_sb_puts(sb, ".");
}

/* The first "<n>%" in the user's words is read as their reduction target. */
static int target_pct(const char *input)
{
    for (const char *p = input; p && *p; p++) {
        if (!isdigit((unsigned char)*p) || (p > input && isdigit((unsigned char)p[-1]))) continue;
        char *end = NULL;
        long v = strtol(p, &end, 10);
        while (*end == ' ')
            end++;
        if (*end == '%' && v > 0 && v < 100) return (int)v;
    }
    return -1;
}

static void compose_cost(ra_sb *sb, const char *input, const cJSON *results)
{
    const cJSON *cost = cJSON_GetObjectItemCaseSensitive(results, "cost_db");
    const cJSON *inv = cJSON_GetObjectItemCaseSensitive(results, "gpu_inventory");
    const cJSON *pr = cJSON_GetObjectItemCaseSensitive(results, "pricing");
    char a[32], b[32];
    if (cost) {
        double spend = num_field(cost, "monthly_spend_usd", -1);
        if (spend > 0) {
            fmt_usd(spend, a, sizeof(a));
            ra_sb_printf(sb, " Current spend is %s per month:", a);
            const cJSON *row;
            const char *sep = " ";
            cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(cost, "breakdown"))
            {
                const cJSON *cat = cJSON_GetObjectItemCaseSensitive(row, "category");
                fmt_usd(num_field(row, "usd", 0), b, sizeof(b));
                ra_sb_printf(sb, "%s%s %s (%d%%)", sep,
                             cJSON_IsString(cat) ? cat->valuestring : "?", b,
                             (int)num_field(row, "pct", 0));
                sep = ", ";
            }
            ra_sb_puts(sb, ".");
        } else {
            ra_sb_puts(sb, " No current spend is on record for this conversation, so there is "
                           "no dollar breakdown.");
        }
    }
    if (inv) {
        int n = (int)num_field(inv, "instances", 0);
        ra_sb_printf(sb, " The fleet has %d GPU instances at %d%% average utilisation", n,
                     (int)num_field(inv, "avg_utilisation_pct", 0));
        int jobs = (int)num_field(inv, "training_jobs", -1);
        if (jobs >= 0) ra_sb_printf(sb, " running %d training jobs", jobs);
        int idle = (int)num_field(inv, "idle_instances", 0);
        ra_sb_printf(sb, "; %d %s mostly idle.", idle, idle == 1 ? "instance is" : "instances are");
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(inv, "gpu_instances_assumed")))
            ra_sb_puts(sb, " (No GPU count is on record, so the fleet size is the inventory's "
                           "default.)");
    }
    if (pr) {
        int pct = (int)num_field(pr, "savings_pct", 0);
        ra_sb_puts(sb, " Recommended:");
        const cJSON *opt;
        const char *sep = " ";
        cJSON_ArrayForEach(opt, cJSON_GetObjectItemCaseSensitive(pr, "options"))
        {
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(opt, "option");
            const cJSON *to = cJSON_GetObjectItemCaseSensitive(opt, "applies_to");
            ra_sb_printf(
                sb, "%s%s for %s (%d%%)", sep, cJSON_IsString(name) ? name->valuestring : "?",
                cJSON_IsString(to) ? to->valuestring : "?", (int)num_field(opt, "savings_pct", 0));
            sep = ", ";
        }
        double cur = num_field(pr, "current_spend_usd", -1);
        double proj = num_field(pr, "projected_spend_usd", -1);
        if (cur > 0 && proj >= 0) {
            fmt_usd(cur, a, sizeof(a));
            fmt_usd(proj, b, sizeof(b));
            ra_sb_printf(sb, ": a %d%% reduction, from %s to %s per month.", pct, a, b);
        } else {
            ra_sb_printf(sb, ": a %d%% reduction.", pct);
        }
        int target = target_pct(input);
        if (target > 0)
            ra_sb_printf(sb, " That %s your %d%% reduction target.",
                         pct >= target ? "meets" : "falls short of", target);
    }
}

static void compose_migration(ra_sb *sb, const cJSON *results, const ra_facts *f)
{
    const cJSON *plan = cJSON_GetObjectItemCaseSensitive(results, "migration_planner");
    const cJSON *pr = cJSON_GetObjectItemCaseSensitive(results, "pricing");
    if (plan) {
        const cJSON *src = cJSON_GetObjectItemCaseSensitive(plan, "source_platform");
        ra_sb_printf(sb, " Migration plan for %s", cJSON_IsString(src) ? src->valuestring : "?");
        if (f->spend_usd > 0) ra_sb_printf(sb, " (baseline %s)", f->spend);
        ra_sb_puts(sb, ":");
        const cJSON *ph;
        cJSON_ArrayForEach(ph, cJSON_GetObjectItemCaseSensitive(plan, "phases"))
        {
            const cJSON *step = cJSON_GetObjectItemCaseSensitive(ph, "step");
            ra_sb_printf(sb, " %d) %s (%d weeks);", (int)num_field(ph, "phase", 0),
                         cJSON_IsString(step) ? step->valuestring : "?",
                         (int)num_field(ph, "weeks", 0));
        }
        ra_sb_printf(sb, " about %d weeks in total.", (int)num_field(plan, "duration_weeks", 0));
        if (f->n_frameworks > 0) {
            ra_sb_puts(sb, " Every phase keeps the");
            for (int i = 0; i < f->n_frameworks; i++)
                ra_sb_printf(sb, "%s %s", i ? "," : "", f->frameworks[i]);
            ra_sb_puts(sb, " constraints.");
        }
    }
    if (pr) {
        int pct = (int)num_field(pr, "savings_pct", 0);
        double proj = num_field(pr, "projected_spend_usd", -1);
        if (f->spend_usd > 0 && proj >= 0) {
            char b[32];
            fmt_usd(proj, b, sizeof(b));
            ra_sb_printf(sb, " Expected result: %d%% lower spend, from %s to %s per month.", pct,
                         f->spend, b);
        } else {
            ra_sb_printf(sb, " Expected result: about %d%% lower spend.", pct);
        }
    }
    if (f->spend_usd <= 0)
        ra_sb_puts(sb, " No current spend is on record for this conversation, so savings are "
                       "given as percentages only.");
}

static void compose_compliance(ra_sb *sb, const cJSON *results)
{
    const cJSON *cc = cJSON_GetObjectItemCaseSensitive(results, "compliance_check");
    if (!cc) return;
    const cJSON *cons = cJSON_GetObjectItemCaseSensitive(cc, "constraints");
    if (cJSON_GetArraySize(cons) == 0) {
        ra_sb_puts(sb, " No compliance framework is on record; name one (PCI-DSS, SOC 2, GDPR "
                       "or HIPAA) to get its constraints.");
        return;
    }
    const char *last_fw = "";
    const cJSON *c;
    cJSON_ArrayForEach(c, cons)
    {
        const cJSON *fw = cJSON_GetObjectItemCaseSensitive(c, "framework");
        const cJSON *txt = cJSON_GetObjectItemCaseSensitive(c, "constraint");
        const char *fws = cJSON_IsString(fw) ? fw->valuestring : "?";
        if (strcmp(fws, last_fw) != 0) {
            ra_sb_printf(sb, "%s %s constraints: ", last_fw[0] ? "." : "", fws);
            last_fw = fws;
        } else {
            ra_sb_puts(sb, "; ");
        }
        ra_sb_puts(sb, cJSON_IsString(txt) ? txt->valuestring : "?");
    }
    ra_sb_puts(sb, ".");
}

/* The fallback note of `agent` (the stand-in's own text), or NULL. */
static const cJSON *fallback_note(const cJSON *findings, const char *agent)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(findings, "fallback_notes"))
    {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(it, "agent");
        if (cJSON_IsString(a) && strcmp(a->valuestring, agent) == 0) return it;
    }
    return NULL;
}

/* The error of a failed fallback that stood in for `agent`, or NULL. */
static const char *fallback_error(const cJSON *findings, const char *fallback)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(findings, "failed_agents"))
    {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(it, "agent");
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(it, "error");
        if (cJSON_IsString(a) && strcmp(a->valuestring, fallback) == 0 && cJSON_IsString(e))
            return e->valuestring;
    }
    return NULL;
}

/* Says honestly what failed, what stood in for it, and what is missing. */
static void compose_problems(ra_sb *sb, const cJSON *findings)
{
    const cJSON *it;
    const cJSON *failed = cJSON_GetObjectItemCaseSensitive(findings, "failed_agents");
    bool used_fallback = false;
    cJSON_ArrayForEach(it, failed)
    {
        if (cJSON_GetObjectItemCaseSensitive(it, "fallback_for"))
            continue; /* told with its primary */
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(it, "agent");
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(it, "error");
        const cJSON *fb = cJSON_GetObjectItemCaseSensitive(it, "fallback");
        const char *as = cJSON_IsString(a) ? a->valuestring : "?";
        const char *es = cJSON_IsString(e) ? e->valuestring : "?";
        if (strcmp(as, "Triage") == 0) {
            ra_sb_printf(sb, " The Triage agent failed (%s), so the request was routed by keyword.",
                         es);
        } else if (strcmp(as, "Supervisor") == 0) {
            ra_sb_printf(sb, " The Supervisor's planning step failed (%s).", es);
        } else if (!cJSON_IsString(fb)) {
            ra_sb_printf(sb, " The %s agent failed (%s), so its part is missing.", as, es);
        } else {
            const cJSON *note = fallback_note(findings, fb->valuestring);
            const char *fb_err = fallback_error(findings, fb->valuestring);
            if (note) {
                const cJSON *txt = cJSON_GetObjectItemCaseSensitive(note, "text");
                ra_sb_printf(sb, " The %s agent failed (%s); the %s agent was used instead: %s", as,
                             es, fb->valuestring, cJSON_IsString(txt) ? txt->valuestring : "");
                used_fallback = true;
            } else if (fb_err) {
                ra_sb_printf(sb,
                             " The %s agent failed (%s) and its fallback %s failed too (%s), so "
                             "this part of the analysis could not be completed.",
                             as, es, fb->valuestring, fb_err);
            } else {
                ra_sb_printf(sb, " The %s agent failed (%s), so its part is missing.", as, es);
            }
        }
    }
    const cJSON *skipped = cJSON_GetObjectItemCaseSensitive(findings, "skipped");
    if (cJSON_GetArraySize(skipped) > 0) {
        ra_sb_printf(sb, " The turn deadline (%d ms) was reached before",
                     (int)num_field(findings, "deadline_ms", 0));
        const char *sep = " ";
        cJSON_ArrayForEach(it, skipped)
        {
            ra_sb_printf(sb, "%s%s", sep, cJSON_IsString(it) ? it->valuestring : "?");
            sep = ", ";
        }
        ra_sb_puts(sb, " could run, so that part is missing.");
    }
    const cJSON *un = cJSON_GetObjectItemCaseSensitive(findings, "unavailable");
    if (cJSON_GetArraySize(un) > 0) {
        ra_sb_puts(sb, " Some data was unavailable:");
        const char *sep = " ";
        cJSON_ArrayForEach(it, un)
        {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(it, "tool");
            const cJSON *e = cJSON_GetObjectItemCaseSensitive(it, "error");
            ra_sb_printf(sb, "%s%s (%s)", sep, cJSON_IsString(t) ? t->valuestring : "?",
                         cJSON_IsString(e) ? e->valuestring : "?");
            sep = ", ";
        }
        ra_sb_puts(sb, "; this answer is partial.");
    } else if (used_fallback || cJSON_GetArraySize(skipped) > 0) {
        ra_sb_puts(sb, " These are partial results.");
    }
}

char *ra_model_compose(const char *input, const cJSON *memory, const cJSON *findings)
{
    ra_sb sb;
    ra_sb_init(&sb, RA_TEXT_MAX_BYTES);
    ra_facts f;
    ra_facts_from_json(&f, memory);
    const cJSON *results = cJSON_GetObjectItemCaseSensitive(findings, "results");
    const cJSON *route = cJSON_GetObjectItemCaseSensitive(findings, "route");
    unsigned bits = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(findings, "intents"))
    {
        if (cJSON_IsString(it)) {
            bits |= strcmp(it->valuestring, "cost") == 0         ? RA_INTENT_COST
                    : strcmp(it->valuestring, "compliance") == 0 ? RA_INTENT_COMPLIANCE
                    : strcmp(it->valuestring, "migration") == 0  ? RA_INTENT_MIGRATION
                                                                 : 0;
        }
    }
    if (cJSON_GetArraySize(route) == 0) {
        ra_sb_puts(&sb, "Your request did not need a specialist, so I am answering directly: I "
                        "can analyse infrastructure spend (Data), plan cost reductions and "
                        "migrations (Optimization) and list compliance constraints "
                        "(Compliance). Ask about costs, a migration plan, or a framework such "
                        "as PCI-DSS.");
    } else {
        ra_sb_puts(&sb, "Summary from");
        const char *sep = " ";
        cJSON_ArrayForEach(it, route)
        {
            if (cJSON_IsString(it)) {
                ra_sb_printf(&sb, "%s%s", sep, it->valuestring);
                sep = ", ";
            }
        }
        ra_sb_puts(&sb, ".");
        if (bits & RA_INTENT_MIGRATION)
            compose_migration(&sb, results, &f);
        else
            compose_cost(&sb, input, results);
        compose_compliance(&sb, results);
    }
    compose_problems(&sb, findings);
    add_facts_line(&sb, &f);
    return ra_sb_take(&sb);
}

static const char *reason_text(const char *agent, unsigned bits, const ra_facts *f, char *buf,
                               size_t len)
{
    if (strcmp(agent, "Supervisor") == 0) {
        snprintf(buf, len, "Reading the request and asking Triage which specialists to involve%s.",
                 f->spend_usd > 0 ? " (spend on record)" : "");
    } else if (strcmp(agent, "Data") == 0) {
        snprintf(buf, len, "Pulling the monthly spend breakdown%s and the GPU fleet inventory.",
                 f->spend_usd > 0 ? " for the spend on record" : "");
    } else if (strcmp(agent, "Optimization") == 0) {
        snprintf(buf, len, "%s",
                 (bits & RA_INTENT_MIGRATION)
                     ? "Drafting a phased migration plan and pricing the target capacity."
                     : "Comparing spot, reserved and right-sizing options against current spend.");
    } else if (strcmp(agent, "Compliance") == 0) {
        snprintf(buf, len, "Checking which constraints %s imposes on the platform.",
                 f->n_frameworks > 0 ? f->frameworks[0] : "the requested framework");
    } else if (strcmp(agent, "Estimator") == 0) {
        if (f->spend_usd <= 0 && f->gpu_instances < 0 && f->training_jobs < 0) {
            snprintf(buf, len,
                     "Estimating without live data, but no spend, GPU count or job "
                     "count is on record, so there is little to estimate from.");
        } else {
            int n = snprintf(buf, len,
                             "Estimating from the facts on record instead of live "
                             "data:");
            const char *sep = " ";
            if (f->spend_usd > 0 && n > 0 && (size_t)n < len) {
                n += snprintf(buf + n, len - (size_t)n, "%sspend %s", sep, f->spend);
                sep = ", ";
            }
            if (f->gpu_instances >= 0 && n > 0 && (size_t)n < len) {
                n +=
                    snprintf(buf + n, len - (size_t)n, "%s%d GPU instances", sep, f->gpu_instances);
                sep = ", ";
            }
            if (f->training_jobs >= 0 && n > 0 && (size_t)n < len)
                n +=
                    snprintf(buf + n, len - (size_t)n, "%s%d training jobs", sep, f->training_jobs);
            if (n > 0 && (size_t)n < len)
                snprintf(buf + n, len - (size_t)n, "; no utilisation data.");
        }
    } else if (strcmp(agent, "Planner") == 0) {
        snprintf(buf, len,
                 "A simpler plan without live pricing: run interruptible training jobs on spot "
                 "capacity, reserve the steady baseline, and right-size or release idle GPU "
                 "instances%s; the savings are not priced.",
                 (bits & RA_INTENT_MIGRATION) ? ", migrating one workload group at a time" : "");
    } else if (strcmp(agent, "Auditor") == 0) {
        snprintf(buf, len,
                 "A generic compliance checklist in place of a %s review: encrypt data at rest "
                 "and in transit, enforce least-privilege access, keep audit logs, segment the "
                 "network, and patch on a schedule.",
                 f->n_frameworks > 0 ? f->frameworks[0] : "framework-specific");
    } else {
        snprintf(buf, len, "Thinking about the request as %s.", agent);
    }
    return buf;
}

static unsigned intents_from_json(const cJSON *arr)
{
    unsigned bits = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        if (cJSON_IsString(it) && strcmp(it->valuestring, "migration") == 0)
            bits |= RA_INTENT_MIGRATION;
    }
    return bits;
}

cJSON *ra_model_complete(const cJSON *req, char *err, size_t err_len)
{
    const cJSON *agent = cJSON_GetObjectItemCaseSensitive(req, "agent");
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(req, "input");
    const cJSON *step = cJSON_GetObjectItemCaseSensitive(req, "step");
    const cJSON *memory = cJSON_GetObjectItemCaseSensitive(req, "memory");
    if (!cJSON_IsObject(req) || !cJSON_IsString(agent) || !cJSON_IsString(input) ||
        !cJSON_IsString(step)) {
        snprintf(err, err_len, "request needs string fields agent, input and step");
        return NULL;
    }
    ra_facts f;
    ra_facts_from_json(&f, memory);
    cJSON *reply = cJSON_CreateObject();
    char buf[512];
    char *text = NULL;
    if (strcmp(step->valuestring, "route") == 0) {
        unsigned bits = ra_model_intents(input->valuestring);
        cJSON *route = cJSON_CreateArray();
        cJSON *intents = cJSON_CreateArray();
        ra_model_route(bits, route, intents);
        ra_sb sb;
        ra_sb_init(&sb, 1024);
        if (cJSON_GetArraySize(route) == 0) {
            ra_sb_puts(&sb, "No specialist needed; the Supervisor can answer directly.");
        } else {
            ra_sb_puts(&sb, "Routing to");
            const cJSON *it;
            const char *sep = " ";
            cJSON_ArrayForEach(it, route)
            {
                ra_sb_printf(&sb, "%s%s", sep, it->valuestring);
                sep = ", ";
            }
            ra_sb_puts(&sb, ": the request is about");
            sep = " ";
            cJSON_ArrayForEach(it, intents)
            {
                ra_sb_printf(&sb, "%s%s", sep, it->valuestring);
                sep = " and ";
            }
            ra_sb_puts(&sb, ".");
        }
        text = ra_sb_take(&sb);
        cJSON_AddItemToObject(reply, "route", route);
        cJSON_AddItemToObject(reply, "intents", intents);
    } else if (strcmp(step->valuestring, "reason") == 0) {
        unsigned bits = intents_from_json(cJSON_GetObjectItemCaseSensitive(req, "intents"));
        text = strdup(reason_text(agent->valuestring, bits, &f, buf, sizeof(buf)));
    } else if (strcmp(step->valuestring, "answer") == 0) {
        text = ra_model_compose(input->valuestring, memory,
                                cJSON_GetObjectItemCaseSensitive(req, "findings"));
    } else {
        cJSON_Delete(reply);
        snprintf(err, err_len, "unknown step '%.40s' (route, reason or answer)", step->valuestring);
        return NULL;
    }
    char *req_text = cJSON_PrintUnformatted(req);
    size_t in_len = req_text ? strlen(req_text) : 0;
    free(req_text);
    cJSON_AddStringToObject(reply, "text", text ? text : "");
    cJSON *usage = cJSON_AddObjectToObject(reply, "usage");
    cJSON_AddNumberToObject(usage, "input_tokens", (double)(in_len / 4 + 1));
    cJSON_AddNumberToObject(usage, "output_tokens", (double)((text ? strlen(text) : 0) / 4 + 1));
    free(text);
    return reply;
}
