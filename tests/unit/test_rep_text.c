/*
 * test_rep_text.c - the text helpers every report writer relies on: UTF-8
 * repair (the cases XML and strict JSON parsers reject), base64 vectors from
 * RFC 4648, file-name slugs, and mkdir -p.
 */
#include "test_rep_fixture.h"

#include <errno.h>

static void check_clean(const char *in, size_t len, size_t max, const char *want, int want_cut)
{
    int cut = -1;
    char *out = ar_text_utf8_clean(in, len, max, &cut);

    assert_non_null(out);
    assert_string_equal(out, want);
    assert_int_equal(cut, want_cut);
    free(out);
}

static void test_utf8_clean(void **state)
{
    check_clean("plain", 5, 0, "plain", 0);
    check_clean("\xc3\xa9\xf0\x9f\x98\x80", 6, 0, "\xc3\xa9\xf0\x9f\x98\x80", 0);
    /* Overlong '/', a surrogate, bytes that never start a character. */
    check_clean("\xc0\xaf", 2, 0, "\xef\xbf\xbd\xef\xbf\xbd", 0);
    check_clean("\xed\xa0\x80", 3, 0, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 0);
    check_clean("a\xff"
                "b",
                3, 0,
                "a\xef\xbf\xbd"
                "b",
                0);
    /* Beyond U+10FFFF. */
    check_clean("\xf4\x90\x80\x80", 4, 0, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 0);
    /* A sequence truncated by the end of the input. */
    check_clean("a\xe2\x82", 3, 0, "a\xef\xbf\xbd\xef\xbf\xbd", 0);
    /* NUL inside the data. */
    check_clean("a\0b", 3, 0,
                "a\xef\xbf\xbd"
                "b",
                0);
    /* The cap never splits a character. */
    check_clean("a\xf0\x9f\x98\x80", 5, 3, "a", 1);
    check_clean("abcdef", 6, 4, "abcd", 1);
    check_clean("abcd", 4, 4, "abcd", 0);
}

static void test_base64(void **state)
{
    static const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *want[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};

    for (size_t i = 0; i < AR_ARRAY_LEN(in); i++) {
        char *out = ar_text_base64((const unsigned char *)in[i], strlen(in[i]));
        assert_non_null(out);
        assert_string_equal(out, want[i]);
        free(out);
    }
}

static void test_slug(void **state)
{
    char out[16];

    ar_text_slug("  Hello, World!! ", out, sizeof(out));
    assert_string_equal(out, "hello-world");
    ar_text_slug("", out, sizeof(out));
    assert_string_equal(out, "session");
    ar_text_slug(NULL, out, sizeof(out));
    assert_string_equal(out, "session");
    ar_text_slug("\xc3\x84\xc3\x96", out, sizeof(out));
    assert_string_equal(out, "session");
    ar_text_slug("a very long scenario name indeed", out, sizeof(out));
    assert_string_equal(out, "a-very-long-sce");
    ar_text_slug("../../etc/passwd", out, sizeof(out));
    assert_string_equal(out, "etc-passwd");
}

static void test_mkdirs(void **state)
{
    char dir[64], path[320], file[256];
    struct stat st;
    FILE *f;

    snprintf(dir, sizeof(dir), "/tmp/ar-rep-mk-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/a/b//c/report.json", dir);
    assert_int_equal(ar_mkdirs_for(path), AR_OK);
    snprintf(path, sizeof(path), "%s/a/b/c", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    /* Existing directories and bare file names are fine. */
    snprintf(path, sizeof(path), "%s/a/b/c/x", dir);
    assert_int_equal(ar_mkdirs_for(path), AR_OK);
    assert_int_equal(ar_mkdirs_for("report.json"), AR_OK);
    assert_int_equal(ar_mkdirs_for(NULL), AR_EINVAL);
    /* A file in the way. */
    snprintf(file, sizeof(file), "%s/a/file", dir);
    f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/sub/x.xml", file);
    assert_int_equal(ar_mkdirs_for(path), AR_EIO);
    assert_int_equal(errno, ENOTDIR);
    snprintf(path, sizeof(path), "rm -rf '%s'", dir);
    assert_int_equal(system(path), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_clean),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_slug),
        cmocka_unit_test(test_mkdirs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
