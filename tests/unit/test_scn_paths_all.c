/*
 * test_scn_paths_all.c - ar_scn_load_paths_all: every file is loaded and
 * every error kept (a CI log shows all that is wrong at once), in path order,
 * while ar_scn_load_paths still stops at the first.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "scenario.h"

static char root[256];

static void write_file(const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    snprintf(root, sizeof(root), "%s/ar_scn_all_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(root)) return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_every_error_of_every_file(void **state)
{
    (void)state;
    char dir[512], missing[512];
    snprintf(dir, sizeof(dir), "%s/suite", root);
    snprintf(missing, sizeof(missing), "%s/missing.yaml", root);
    assert_int_equal(mkdir(dir, 0700), 0);
    write_file("suite/a_good.yaml", "name: good\nturns: [{send: hi}]\n");
    write_file("suite/b_bad.yaml", "name: b\nturns:\n  - send: hi\n    expcet: {}\n");
    write_file("suite/c_bad.yaml", "name: c\nturns: [{send: hi, expect: {response: [{matches: '('}]}}]\n");
    write_file("suite/d_good.yaml", "name: also good\nturns: [{send: hi}]\n");

    const char *paths[] = {dir, missing};
    ar_scn_list list = {0};
    ar_scn_file *files = NULL;
    size_t n = 0;
    assert_int_not_equal(ar_scn_load_paths_all(paths, 2, &list, &files, &n), AR_OK);
    /* Both good files loaded, in path order, despite the bad ones between. */
    assert_int_equal(list.n, 2);
    assert_string_equal(list.items[0]->name, "good");
    assert_string_equal(list.items[1]->name, "also good");
    /* Every file looked at is listed, each with its own error or none. */
    assert_int_equal(n, 5);
    assert_null(files[0].error);
    assert_int_equal(files[0].n_scenarios, 1);
    assert_non_null(strstr(files[1].path, "b_bad.yaml"));
    assert_non_null(strstr(files[1].error, "b_bad.yaml:4:5: unknown key 'expcet'"));
    assert_int_equal(files[1].n_scenarios, 0);
    assert_non_null(strstr(files[2].error, "c_bad.yaml:"));
    assert_non_null(strstr(files[2].error, "invalid regex"));
    assert_null(files[3].error);
    assert_string_equal(files[4].path, missing);
    assert_non_null(strstr(files[4].error, "No such file or directory"));
    ar_scn_files_free(files, n);
    ar_scn_list_free(&list);

    /* The old loader keeps stopping at the first error. */
    char err[512] = "";
    assert_int_not_equal(ar_scn_load_paths(paths, 2, &list, err, sizeof(err)), AR_OK);
    assert_non_null(strstr(err, "b_bad.yaml:4:5"));
    assert_int_equal(list.n, 0);

    /* All good: AR_OK, and nothing to report. */
    const char *one[] = {dir};
    write_file("suite/b_bad.yaml", "name: b\nturns: [{send: hi}]\n");
    write_file("suite/c_bad.yaml", "name: c\nturns: [{send: hi}]\n");
    assert_int_equal(ar_scn_load_paths_all(one, 1, &list, &files, &n), AR_OK);
    assert_int_equal(list.n, 4);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++)
        assert_null(files[i].error);
    ar_scn_files_free(files, n);
    ar_scn_list_free(&list);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_error_of_every_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
