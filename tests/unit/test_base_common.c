/* Capped buffers, duration parsing and formatting, error strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ar.h"

static void buf_respects_its_cap_and_stays_unchanged_past_it(void **state)
{
    (void)state;
    ar_buf b;
    ar_buf_init(&b, 8);
    assert_int_equal(ar_buf_puts(&b, "12345"), AR_OK);
    assert_int_equal(ar_buf_puts(&b, "678"), AR_OK);
    assert_int_equal(b.len, 8);
    assert_int_equal(ar_buf_puts(&b, "9"), AR_ETOOBIG);
    assert_string_equal(b.ptr, "12345678");
    assert_int_equal(ar_buf_printf(&b, "%d", 1), AR_ETOOBIG);
    ar_buf_reset(&b);
    assert_int_equal(ar_buf_printf(&b, "%s-%d", "ab", 42), AR_OK);
    assert_string_equal(b.ptr, "ab-42");
    char *taken = ar_buf_take(&b);
    assert_string_equal(taken, "ab-42");
    assert_null(b.ptr);
    free(taken);
    ar_buf_free(&b);
    ar_buf_free(NULL);
}

static void durations_parse_every_unit_and_reject_garbage(void **state)
{
    (void)state;
    int64_t us = 0;
    assert_int_equal(ar_parse_duration("45s", &us), AR_OK);
    assert_int_equal(us, 45000000);
    assert_int_equal(ar_parse_duration("1.5s", &us), AR_OK);
    assert_int_equal(us, 1500000);
    assert_int_equal(ar_parse_duration("200ms", &us), AR_OK);
    assert_int_equal(us, 200000);
    assert_int_equal(ar_parse_duration("250us", &us), AR_OK);
    assert_int_equal(us, 250);
    assert_int_equal(ar_parse_duration("2m", &us), AR_OK);
    assert_int_equal(us, 120000000);
    assert_int_equal(ar_parse_duration("1h", &us), AR_OK);
    assert_int_equal(us, 3600000000LL);
    assert_int_equal(ar_parse_duration("3", &us), AR_OK);
    assert_int_equal(us, 3000000);
    const char *bad[] = {"fast", "", "-1s", "10 parsecs", "1e400", "s", "+5s", "nan"};
    for (size_t i = 0; i < AR_ARRAY_LEN(bad); i++)
        assert_int_equal(ar_parse_duration(bad[i], &us), AR_EINVAL);
    assert_int_equal(ar_parse_duration(NULL, &us), AR_EINVAL);
}

static void durations_format_for_people(void **state)
{
    (void)state;
    char b[32];
    ar_fmt_duration(850, b, sizeof b);
    assert_string_equal(b, "850us");
    ar_fmt_duration(12300, b, sizeof b);
    assert_string_equal(b, "12.3ms");
    ar_fmt_duration(4210000, b, sizeof b);
    assert_string_equal(b, "4.21s");
    ar_fmt_duration(45000000, b, sizeof b);
    assert_string_equal(b, "45.00s");
    ar_fmt_duration(-1500, b, sizeof b);
    assert_string_equal(b, "-1.5ms");
}

static void strerror_never_returns_null(void **state)
{
    (void)state;
    assert_string_equal(ar_strerror(AR_ECONNECT), "could not connect");
    assert_string_equal(ar_strerror((ar_err)999), "unknown error");
    assert_string_equal(ar_strerror((ar_err)-1), "unknown error");
    char iso[32];
    ar_wall_iso8601(0, iso, sizeof iso);
    assert_string_equal(iso, "1970-01-01T00:00:00Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(buf_respects_its_cap_and_stays_unchanged_past_it),
        cmocka_unit_test(durations_parse_every_unit_and_reject_garbage),
        cmocka_unit_test(durations_format_for_people),
        cmocka_unit_test(strerror_never_returns_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
