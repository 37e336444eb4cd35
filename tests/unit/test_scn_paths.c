/*
 * test_scn_paths.c - loading files and directories: recursion, extensions,
 * hidden entries skipped, a stable order, and the error for each bad path.
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

static void make_dir(const char *rel)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    assert_int_equal(mkdir(path, 0700), 0);
}

static void write_scenario(const char *rel, const char *name)
{
    char text[256];
    snprintf(text, sizeof(text), "name: %s\nturns: [{send: hi}]\n", name);
    write_file(rel, text);
}

static int setup(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    snprintf(root, sizeof(root), "%s/ar_scn_paths_XXXXXX", tmp && *tmp ? tmp : "/tmp");
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

static void test_directory_order_and_filters(void **state)
{
    (void)state;
    make_dir("suite");
    make_dir("suite/sub");
    make_dir("suite/.hidden");
    make_dir("suite/empty");
    write_scenario("suite/b.yaml", "b");
    write_scenario("suite/a.yml", "a");
    write_scenario("suite/sub/c.yaml", "c");
    write_scenario("suite/.skip.yaml", "hidden file");
    write_scenario("suite/.hidden/d.yaml", "hidden dir");
    write_file("suite/notes.txt", "not a scenario");
    write_file("suite/x.yaml.bak", "not a scenario either");
    write_scenario("single.yaml", "single");

    char dir[512], single[512];
    snprintf(dir, sizeof(dir), "%s/suite", root);
    snprintf(single, sizeof(single), "%s/single.yaml", root);
    const char *paths[] = {single, dir};
    ar_scn_list list = {0};
    char err[512] = "";
    assert_int_equal(ar_scn_load_paths(paths, 2, &list, err, sizeof(err)), AR_OK);
    assert_int_equal(list.n, 4);
    assert_string_equal(list.items[0]->name, "single"); /* path order as given */
    assert_string_equal(list.items[1]->name, "a");      /* then sorted by full path */
    assert_string_equal(list.items[2]->name, "b");
    assert_string_equal(list.items[3]->name, "c");
    char want[600];
    snprintf(want, sizeof(want), "%s/sub/c.yaml", dir);
    assert_string_equal(list.items[3]->file, want);
    ar_scn_list_free(&list);
    assert_int_equal(list.n, 0);
    assert_null(list.items);

    /* a trailing slash does not double up in the file names */
    snprintf(dir, sizeof(dir), "%s/suite/sub/", root);
    const char *one[] = {dir};
    assert_int_equal(ar_scn_load_paths(one, 1, &list, err, sizeof(err)), AR_OK);
    assert_int_equal(list.n, 1);
    snprintf(want, sizeof(want), "%s/suite/sub/c.yaml", root);
    assert_string_equal(list.items[0]->file, want);
    ar_scn_list_free(&list);

    /* a directory with nothing loadable */
    snprintf(dir, sizeof(dir), "%s/suite/empty", root);
    assert_int_equal(ar_scn_load_paths(one, 1, &list, err, sizeof(err)), AR_EINVAL);
    snprintf(want, sizeof(want), "%s: no scenario files (*.yaml, *.yml) found", dir);
    assert_string_equal(err, want);
    assert_int_equal(list.n, 0);
}

static void test_missing_path(void **state)
{
    (void)state;
    char missing[512];
    snprintf(missing, sizeof(missing), "%s/nope.yaml", root);
    const char *paths[] = {missing};
    ar_scn_list list = {0};
    char err[512] = "";
    assert_int_equal(ar_scn_load_paths(paths, 1, &list, err, sizeof(err)), AR_EIO);
    char want[600];
    snprintf(want, sizeof(want), "%s: No such file or directory", missing);
    assert_string_equal(err, want);
    assert_int_equal(list.n, 0);

    ar_scenario *s = NULL;
    assert_int_equal(ar_scn_load_file(missing, &s, err, sizeof(err)), AR_EIO);
    assert_string_equal(err, want);
    assert_null(s);
}

/* One bad file stops the load, names that file, and leaves nothing allocated. */
static void test_bad_file_in_directory(void **state)
{
    (void)state;
    make_dir("mixed");
    write_scenario("mixed/a.yaml", "good");
    write_file("mixed/b.yaml", "name: bad\nturns: [{send: hi, expcet: {}}]\n");
    write_scenario("mixed/c.yaml", "never loaded");
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/mixed", root);
    const char *paths[] = {dir};
    ar_scn_list list = {0};
    char err[512] = "";
    assert_int_equal(ar_scn_load_paths(paths, 1, &list, err, sizeof(err)), AR_EINVAL);
    char want[600];
    snprintf(want, sizeof(want), "%s/b.yaml:2:20: unknown key 'expcet' (did you mean 'expect'?)",
             dir);
    assert_string_equal(err, want);
    assert_int_equal(list.n, 0);
    assert_null(list.items);
}

static void test_fixture_file_and_empty_list(void **state)
{
    (void)state;
    const char *paths[] = {AR_SOURCE_DIR "/tests/unit/data/scn/full.yaml"};
    ar_scn_list list = {0};
    char err[512] = "";
    assert_int_equal(ar_scn_load_paths(paths, 1, &list, err, sizeof(err)), AR_OK);
    assert_int_equal(list.n, 1);
    assert_string_equal(list.items[0]->name, "complex multi-agent orchestration");
    ar_scn_list_free(&list);
    assert_int_equal(ar_scn_load_paths(NULL, 0, &list, err, sizeof(err)), AR_OK);
    assert_int_equal(list.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_directory_order_and_filters),
        cmocka_unit_test(test_missing_path),
        cmocka_unit_test(test_bad_file_in_directory),
        cmocka_unit_test(test_fixture_file_and_empty_list),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
