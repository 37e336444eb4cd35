/*
 * test_val_fixture.h - a turn built by hand for the validator tests: events
 * appended one by one (1 ms apart), the observation the validators read, and
 * the checks they write, with message assertions that print the message.
 */
#ifndef TEST_VAL_FIXTURE_H
#define TEST_VAL_FIXTURE_H

#define FX_MAX_EVENTS 64

typedef struct {
    ar_event ev[FX_MAX_EVENTS];
    const ar_event *p[FX_MAX_EVENTS];
    ar_event prev[FX_MAX_EVENTS];
    const ar_event *pp[FX_MAX_EVENTS];
    size_t n_prev;
    ar_turn_obs obs;
    ar_checks out;
} fx;

static inline fx *fx_new(void)
{
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->obs.events = f->p;
    f->obs.prev_events = f->pp;
    f->obs.start_us = 1000000;
    f->obs.end_us = 1000000;
    ar_checks_init(&f->out);
    return f;
}

static inline void fx_free(fx *f)
{
    ar_checks_free(&f->out);
    free(f);
}

/* Appends an event to the turn; events arrive 1ms apart after start. */
static inline ar_event *fx_ev(fx *f, ar_ev_kind kind, const char *agent, const char *tool,
                              const char *call_id)
{
    assert_true(f->obs.n_events < FX_MAX_EVENTS);
    ar_event *e = &f->ev[f->obs.n_events];
    ar_event_init(e);
    e->kind = kind;
    e->turn = 2;
    e->agent = (char *)agent;
    e->tool = (char *)tool;
    e->call_id = (char *)call_id;
    e->recv_us = f->obs.start_us + 1000 * (int64_t)(f->obs.n_events + 1);
    f->p[f->obs.n_events++] = e;
    f->obs.end_us = e->recv_us;
    return e;
}

static inline const ar_check *fx_check(const fx *f, size_t i)
{
    if (i >= f->out.n) fail_msg("expected at least %zu checks, got %zu", i + 1, f->out.n);
    return &f->out.items[i];
}

/* The message must contain s; prints the whole message when it does not. */
#define assert_has(chk, s)                                                                         \
    do {                                                                                           \
        if (!strstr((chk)->message, (s)))                                                          \
            fail_msg("message \"%s\" lacks \"%s\"", (chk)->message, (s));                          \
    } while (0)
#define assert_lacks(chk, s)                                                                       \
    do {                                                                                           \
        if (strstr((chk)->message, (s)))                                                           \
            fail_msg("message \"%s\" should not contain \"%s\"", (chk)->message, (s));             \
    } while (0)

#endif
