/*
 * tools.c - tool results for the reference agents.
 *
 * The numbers are made up but consistent: cost_db's GPU share feeds the
 * pricing tool's options, and pricing's savings_pct is what the Supervisor
 * reports. Every figure is derived from the args, never from time or
 * randomness, so a scenario can assert on it.
 */
#include "tools.h"
#include "memory.h"

#include <stdio.h>
#include <string.h>

/* Share of monthly spend per category, in percent; sums to 100. */
static const struct {
    const char *category;
    int pct;
} k_breakdown[] = {
    {"gpu_compute", 62}, {"storage", 14}, {"networking", 9}, {"data_transfer", 8}, {"other", 7},
};

static int arg_int(const cJSON *args, const char *key, int dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, key);
    if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e9)
        return (int)v->valuedouble;
    return dflt;
}

static double arg_spend(const cJSON *args)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, "spend_usd");
    if (cJSON_IsNumber(v) && v->valuedouble > 0) return v->valuedouble;
    v = cJSON_GetObjectItemCaseSensitive(args, "spend");
    if (cJSON_IsString(v)) {
        int64_t usd = ra_parse_spend(v->valuestring);
        if (usd > 0) return (double)usd;
    }
    return -1;
}

static cJSON *tool_cost_db(const cJSON *args)
{
    cJSON *r = cJSON_CreateObject();
    double spend = arg_spend(args);
    if (spend <= 0) {
        cJSON_AddNullToObject(r, "monthly_spend_usd");
        cJSON_AddStringToObject(r, "note", "no spend on record");
        cJSON_AddArrayToObject(r, "breakdown");
        return r;
    }
    cJSON_AddNumberToObject(r, "monthly_spend_usd", spend);
    cJSON *arr = cJSON_AddArrayToObject(r, "breakdown");
    for (size_t i = 0; i < sizeof(k_breakdown) / sizeof(k_breakdown[0]); i++) {
        cJSON *row = cJSON_CreateObject();
        cJSON_AddStringToObject(row, "category", k_breakdown[i].category);
        cJSON_AddNumberToObject(row, "pct", k_breakdown[i].pct);
        cJSON_AddNumberToObject(row, "usd", spend * k_breakdown[i].pct / 100.0);
        cJSON_AddItemToArray(arr, row);
    }
    cJSON_AddNumberToObject(r, "gpu_compute_usd", spend * k_breakdown[0].pct / 100.0);
    return r;
}

/* Utilisation falls as the fleet grows: big fleets are the ones left idle. */
static int utilisation_pct(int instances)
{
    int u = 70 - instances * 8 / 5;
    return u < 25 ? 25 : u;
}

static cJSON *tool_gpu_inventory(const cJSON *args)
{
    int n = arg_int(args, "gpu_instances", 8);
    int jobs = arg_int(args, "training_jobs", -1);
    int util = utilisation_pct(n);
    cJSON *r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "instances", n);
    cJSON_AddStringToObject(r, "gpu_type", "A100-80GB");
    cJSON_AddNumberToObject(r, "avg_utilisation_pct", util);
    cJSON_AddNumberToObject(r, "idle_instances", n * (100 - util) / 200);
    if (jobs >= 0) {
        cJSON_AddNumberToObject(r, "training_jobs", jobs);
        cJSON_AddNumberToObject(r, "interruptible_jobs", jobs * 7 / 10);
    } else {
        cJSON_AddNullToObject(r, "training_jobs");
    }
    cJSON_AddBoolToObject(r, "gpu_instances_assumed",
                          !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(args, "gpu_instances")));
    return r;
}

int ra_tools_savings_pct(int gpu_instances)
{
    if (gpu_instances < 0) return 30;
    int extra = gpu_instances / 8;
    return 40 + (extra > 5 ? 5 : extra);
}

static void add_option(cJSON *arr, const char *name, const char *applies, int pct, double spend)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "option", name);
    cJSON_AddStringToObject(o, "applies_to", applies);
    cJSON_AddNumberToObject(o, "savings_pct", pct);
    if (spend > 0) cJSON_AddNumberToObject(o, "monthly_savings_usd", spend * pct / 100.0);
    cJSON_AddItemToArray(arr, o);
}

static cJSON *tool_pricing(const cJSON *args)
{
    double spend = arg_spend(args);
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(args, "gpu_instances");
    int gpus = cJSON_IsNumber(g) ? (int)g->valuedouble : -1;
    int total = ra_tools_savings_pct(gpus);
    int spot = total * 4 / 7;
    int reserved = total * 2 / 7;
    int rightsizing = total - spot - reserved;
    cJSON *r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "savings_pct", total);
    cJSON *opts = cJSON_AddArrayToObject(r, "options");
    add_option(opts, "spot", "interruptible training jobs", spot, spend);
    add_option(opts, "reserved_1yr", "baseline inference and serving", reserved, spend);
    add_option(opts, "rightsizing", "idle GPU instances", rightsizing, spend);
    if (spend > 0) {
        cJSON_AddNumberToObject(r, "current_spend_usd", spend);
        cJSON_AddNumberToObject(r, "projected_spend_usd", spend * (100 - total) / 100.0);
    } else {
        cJSON_AddNullToObject(r, "current_spend_usd");
        cJSON_AddNullToObject(r, "projected_spend_usd");
    }
    return r;
}

static const struct {
    const char *framework;
    const char *constraints[4];
} k_frameworks[] = {
    {"PCI-DSS",
     {"cardholder data only in a segmented network (CDE)",
      "encryption in transit (TLS 1.2+) and at rest", "quarterly vulnerability scans",
      "access logs kept for 12 months"}},
    {"SOC 2",
     {"change management with reviewed deploys", "access reviews every quarter",
      "encryption at rest", "incident response runbook"}},
    {"GDPR",
     {"EU personal data stays in EU regions", "data processing agreements with vendors",
      "right-to-erasure workflow", "breach notice within 72 hours"}},
    {"HIPAA",
     {"PHI only on BAA-covered services", "encryption at rest and in transit",
      "audit logs for PHI access", "minimum necessary access"}},
};

static void add_constraints(cJSON *out, const char *framework)
{
    for (size_t i = 0; i < sizeof(k_frameworks) / sizeof(k_frameworks[0]); i++) {
        if (strcmp(k_frameworks[i].framework, framework) != 0) continue;
        for (size_t j = 0; j < 4; j++) {
            cJSON *c = cJSON_CreateObject();
            cJSON_AddStringToObject(c, "framework", framework);
            cJSON_AddStringToObject(c, "constraint", k_frameworks[i].constraints[j]);
            cJSON_AddItemToArray(out, c);
        }
        return;
    }
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "framework", framework);
    cJSON_AddStringToObject(c, "constraint", "unknown framework: review manually");
    cJSON_AddItemToArray(out, c);
}

static cJSON *tool_compliance_check(const cJSON *args)
{
    cJSON *r = cJSON_CreateObject();
    cJSON *fws = cJSON_AddArrayToObject(r, "frameworks");
    cJSON *cons = cJSON_AddArrayToObject(r, "constraints");
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(args, "frameworks");
    const cJSON *it;
    cJSON_ArrayForEach(it, in)
    {
        if (!cJSON_IsString(it)) continue;
        cJSON_AddItemToArray(fws, cJSON_CreateString(it->valuestring));
        add_constraints(cons, it->valuestring);
    }
    if (cJSON_GetArraySize(fws) == 0)
        cJSON_AddStringToObject(r, "note", "no compliance framework on record");
    cJSON_AddBoolToObject(r, "compliant_by_default", 0);
    return r;
}

static cJSON *tool_migration_planner(const cJSON *args)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(args, "platform");
    const char *platform = cJSON_IsString(p) && p->valuestring[0] ? p->valuestring : NULL;
    const cJSON *fws = cJSON_GetObjectItemCaseSensitive(args, "frameworks");
    int n_fw = cJSON_GetArraySize(fws);
    double spend = arg_spend(args);
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "source_platform", platform ? platform : "current platform");
    if (spend > 0)
        cJSON_AddNumberToObject(r, "baseline_spend_usd", spend);
    else
        cJSON_AddNullToObject(r, "baseline_spend_usd");
    cJSON *phases = cJSON_AddArrayToObject(r, "phases");
    const char *steps[] = {
        "baseline: tag every workload and record current spend",
        "move interruptible training jobs to spot capacity with checkpointing",
        "buy 1-year reservations for the steady inference baseline",
        "right-size or retire idle GPU nodes",
    };
    int weeks = 0;
    for (size_t i = 0; i < 4; i++) {
        cJSON *ph = cJSON_CreateObject();
        cJSON_AddNumberToObject(ph, "phase", (double)(i + 1));
        cJSON_AddStringToObject(ph, "step", steps[i]);
        cJSON_AddNumberToObject(ph, "weeks", (double)(i == 1 ? 3 : 2));
        weeks += i == 1 ? 3 : 2;
        cJSON_AddItemToArray(phases, ph);
    }
    if (n_fw > 0) {
        cJSON *ph = cJSON_CreateObject();
        cJSON_AddNumberToObject(ph, "phase", 5);
        cJSON_AddStringToObject(ph, "step", "validate compliance controls before cut-over");
        cJSON_AddNumberToObject(ph, "weeks", 2);
        cJSON_AddItemToObject(ph, "frameworks", cJSON_Duplicate(fws, 1));
        cJSON_AddItemToArray(phases, ph);
        weeks += 2;
    }
    cJSON_AddNumberToObject(r, "duration_weeks", weeks);
    return r;
}

static const struct {
    const char *name;
    cJSON *(*fn)(const cJSON *args);
} k_tools[] = {
    {"cost_db", tool_cost_db},
    {"gpu_inventory", tool_gpu_inventory},
    {"pricing", tool_pricing},
    {"compliance_check", tool_compliance_check},
    {"migration_planner", tool_migration_planner},
};

bool ra_tools_exists(const char *name)
{
    for (size_t i = 0; name && i < sizeof(k_tools) / sizeof(k_tools[0]); i++) {
        if (strcmp(k_tools[i].name, name) == 0) return true;
    }
    return false;
}

cJSON *ra_tools_call(const char *name, const cJSON *args)
{
    for (size_t i = 0; name && i < sizeof(k_tools) / sizeof(k_tools[0]); i++) {
        if (strcmp(k_tools[i].name, name) == 0) return k_tools[i].fn(args);
    }
    return NULL;
}
