/*
 * list.c - `agentrig list PATH...`: what the scenarios in PATH are, one line
 * each (name, file, tags, turns, faults), or JSON for scripts; with --tag and
 * --grep it is what run, chaos and bench would pick.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"
#include "cli.h"
#include "opts.h"
#include "load.h"
#include "runners.h"

typedef struct {
    bool json;
} list_opts;

enum { OPT_JSON = 1000 };

static const ar_cli_opt own_opts[] = {
    {"json", no_argument, OPT_JSON, NULL,
     "a JSON array instead: {name, file, tags, turns, faults: [{type, subject|turn}]}"},
};

static const ar_opts_help list_help[] = {
    {"tag", "only scenarios with this tag (repeatable: any of them)"},
    {NULL, NULL},
};

static const ar_opts_mode list_mode = {
    .name = "list",
    .usage = "usage: agentrig list [options] PATH...\n"
             "\n"
             "Lists the scenarios in PATH (YAML files, or directories searched for *.yaml and\n"
             "*.yml), one line each: name, file, tags, turns, faults.\n"
             "\n",
    .exit_codes = "\nexit codes: 0 listed (even none), 2 a file has an error (all are reported)\n"
                  "or a usage error.\n",
    .own = own_opts,
    .n_own = AR_ARRAY_LEN(own_opts),
    .takes = AR_OPTS_FILTER,
    .help = list_help,
};

static int own_opt(int c, const char *arg, void *user)
{
    (void)c, (void)arg;
    ((list_opts *)user)->json = true; /* OPT_JSON */
    return 0;
}

/* Dependency faults (type and subject), then client faults (kind and turn). */
static cJSON *faults_json(const ar_scenario *s)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < s->n_faults; i++) {
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "type", s->faults[i].type);
        if (s->faults[i].subject) cJSON_AddStringToObject(f, "subject", s->faults[i].subject);
        cJSON_AddItemToArray(a, f);
    }
    for (size_t i = 0; a && i < s->n_turns; i++) {
        if (s->turns[i].client_fault.kind == AR_CF_NONE) continue;
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "type", ar_cf_kind_name(s->turns[i].client_fault.kind));
        cJSON_AddNumberToObject(f, "turn", (double)(i + 1));
        cJSON_AddItemToArray(a, f);
    }
    return a;
}

static cJSON *scenario_json(const ar_scenario *s)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "name", s->name);
    cJSON_AddStringToObject(o, "file", s->file);
    cJSON *tags = cJSON_AddArrayToObject(o, "tags");
    for (size_t i = 0; tags && i < s->n_tags; i++)
        cJSON_AddItemToArray(tags, cJSON_CreateString(s->tags[i]));
    cJSON_AddNumberToObject(o, "turns", (double)s->n_turns);
    cJSON_AddItemToObject(o, "faults", faults_json(s));
    return o;
}

/* "name  file  tags: a,b  turns: 2  faults: tool_failure(cost_db),disconnect@2" */
static void print_line(const ar_scenario *s)
{
    printf("%s  %s  tags: ", s->name, s->file);
    for (size_t i = 0; i < s->n_tags; i++)
        printf("%s%s", i ? "," : "", s->tags[i]);
    printf("%s  turns: %zu  faults: ", s->n_tags ? "" : "-", s->n_turns);
    size_t shown = 0;
    for (size_t i = 0; i < s->n_faults; i++, shown++)
        printf(s->faults[i].subject ? "%s%s(%s)" : "%s%s", shown ? "," : "", s->faults[i].type,
               s->faults[i].subject);
    for (size_t i = 0; i < s->n_turns; i++)
        if (s->turns[i].client_fault.kind != AR_CF_NONE)
            printf("%s%s@turn%zu", shown++ ? "," : "",
                   ar_cf_kind_name(s->turns[i].client_fault.kind), i + 1);
    printf("%s\n", shown ? "" : "-");
}

int ar_list_main(int argc, char **argv)
{
    ar_opts o = {0};
    list_opts lo = {0};
    int first = 0;
    int rc = ar_opts_parse(&list_mode, argc, argv, &o, own_opt, &lo, &first);
    if (!rc && first >= argc)
        rc = ar_opts_usage(&list_mode, "%s", "no scenario files or directories given");
    if (rc) {
        ar_opts_free(&o);
        return rc < 0 ? AR_EXIT_PASS : rc;
    }
    ar_scn_list all = {0};
    int exit_code = ar_load_scenarios("list", (const char *const *)argv + first,
                                      (size_t)(argc - first), NULL, &all);
    cJSON *arr = lo.json ? cJSON_CreateArray() : NULL;
    for (size_t i = 0; !exit_code && i < all.n; i++) {
        if (!ar_opts_pick(&o, all.items[i])) continue;
        if (arr)
            cJSON_AddItemToArray(arr, scenario_json(all.items[i]));
        else
            print_line(all.items[i]);
    }
    if (arr && !exit_code) {
        char *text = cJSON_Print(arr);
        if (text) puts(text);
        exit_code = text ? AR_EXIT_PASS : AR_EXIT_INFRA;
        free(text);
    }
    cJSON_Delete(arr);
    ar_scn_list_free(&all);
    ar_opts_free(&o);
    return exit_code;
}
