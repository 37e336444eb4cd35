/*
 * test_scn_profile_fixture.h - loading profiles and decoding frames in the
 * profile tests (test_scn_profile.c, test_scn_builtin.c).
 */
#ifndef TEST_SCN_PROFILE_FIXTURE_H
#define TEST_SCN_PROFILE_FIXTURE_H

static inline ar_profile *builtin(const char *name)
{
    ar_profile *p = NULL;
    char err[256] = "";
    if (ar_pf_load(name, &p, err, sizeof err) != AR_OK) fail_msg("%s", err);
    return p;
}

static inline ar_err decode(const ar_profile *p, const char *frame, ar_event *ev, char **delta)
{
    ar_event_init(ev);
    return ar_pf_decode(p, frame, strlen(frame), ev, delta);
}

static inline ar_profile *load(const char *yaml)
{
    ar_profile *p = NULL;
    char err[512] = "";
    if (ar_pf_load_string(yaml, strlen(yaml), "t.yaml", &p, err, sizeof err) != AR_OK)
        fail_msg("%s", err);
    return p;
}

static inline ar_err decode_sse(const ar_profile *p, const char *event, const char *id,
                                const char *frame, ar_event *ev)
{
    ar_pf_meta m = {event, id};
    ar_event_init(ev);
    return ar_pf_decode_meta(p, frame, strlen(frame), &m, ev, NULL);
}

#endif
