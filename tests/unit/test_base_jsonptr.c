/*
 * JSON pointers: agentrig's extensions to RFC 6901, negative array indexes
 * counting from the end and "*" for an object's first member, and what stays RFC: "-" refers to nothing
 * for a read, objects keep "-1" as an ordinary member name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>

#include "jsonptr.h"

static void negative_indexes_count_from_the_end(void **state)
{
    (void)state;
    cJSON *root = cJSON_Parse("{\"messages\":[{\"c\":\"a\"},{\"c\":\"b\"},{\"c\":\"last\"}],"
                              "\"empty\":[],\"obj\":{\"-1\":\"member\"}}");
    assert_non_null(root);
    assert_string_equal(ar_json_pointer_get(root, "/messages/-1/c")->valuestring, "last");
    assert_string_equal(ar_json_pointer_get(root, "/messages/-2/c")->valuestring, "b");
    assert_string_equal(ar_json_pointer_get(root, "/messages/-3/c")->valuestring, "a");
    assert_null(ar_json_pointer_get(root, "/messages/-4"));  /* out of range */
    assert_null(ar_json_pointer_get(root, "/messages/-0"));  /* no such index */
    assert_null(ar_json_pointer_get(root, "/messages/-01")); /* not canonical */
    assert_null(ar_json_pointer_get(root, "/messages/-"));   /* RFC: past the end */
    assert_null(ar_json_pointer_get(root, "/messages/--1"));
    assert_null(ar_json_pointer_get(root, "/messages/-1x"));
    assert_null(ar_json_pointer_get(root, "/messages/-99999999999999999999"));
    assert_null(ar_json_pointer_get(root, "/empty/-1"));
    /* In an object "-1" is a member name like any other. */
    assert_string_equal(ar_json_pointer_get(root, "/obj/-1")->valuestring, "member");
    cJSON_Delete(root);
}

static void arrays_null_and_scalars_as_the_root(void **state)
{
    (void)state;
    cJSON *arr = cJSON_Parse("[{\"type\":\"a\"},{\"type\":\"b\"}]");
    assert_string_equal(ar_json_pointer_get(arr, "/0/type")->valuestring, "a");
    assert_string_equal(ar_json_pointer_get(arr, "/-1/type")->valuestring, "b");
    cJSON_Delete(arr);
    cJSON *null = cJSON_Parse("null");
    assert_ptr_equal(ar_json_pointer_get(null, ""), null);
    assert_null(ar_json_pointer_get(null, "/type"));
    cJSON_Delete(null);
    cJSON *num = cJSON_Parse("42");
    assert_null(ar_json_pointer_get(num, "/0"));
    cJSON_Delete(num);
}

/* "*": the first member of an object, whatever its name (LangGraph's root
 * updates are {"<node>": {...}}); a member literally named "*" wins. */
static void star_is_the_first_member(void **state)
{
    (void)state;
    cJSON *root = cJSON_Parse("{\"Supervisor\":{\"messages\":[{\"content\":\"a\"},"
                              "{\"content\":\"answer\"}]},\"x\":1,\"lit\":{\"*\":\"star\","
                              "\"b\":2},\"empty\":{},\"arr\":[1]}");
    assert_non_null(root);
    assert_string_equal(ar_json_pointer_get(root, "/*/messages/-1/content")->valuestring,
                        "answer");
    assert_string_equal(ar_json_pointer_get(root, "/lit/*")->valuestring, "star");
    assert_null(ar_json_pointer_get(root, "/empty/*"));
    assert_null(ar_json_pointer_get(root, "/arr/*")); /* arrays: not an index */
    cJSON_Delete(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(negative_indexes_count_from_the_end),
        cmocka_unit_test(star_is_the_first_member),
        cmocka_unit_test(arrays_null_and_scalars_as_the_root),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
