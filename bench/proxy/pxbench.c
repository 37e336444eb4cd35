/*
 * pxbench.c - how much latency the fault proxy adds to a forwarded request.
 *
 * Sends N sequential requests over one keep-alive connection straight to an
 * upstream, then N through an ar_proxy (no rules) started in this process in
 * front of the same upstream, and prints the median and p99 of each and the
 * added median. Sequential and keep-alive on purpose: that is how an agent
 * service's libcurl client talks to its tools, and it isolates the per-request
 * cost of the extra hop from connection setup. Each phase has a warm-up that
 * is not measured.
 */
#include "proxy.h"

#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t discard(char *p, size_t sz, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return sz * n;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int64_t pct(const int64_t *sorted, int n, double q)
{
    int i = (int)(q * (n - 1) + 0.5);
    return sorted[i];
}

/* Runs warmup + n requests on one handle; fills lat_us (sorted). Returns 0 or -1. */
static int run(const char *url, const char *body, int warmup, int n, int64_t *lat_us)
{
    CURL *c = curl_easy_init();
    if (!c) return -1;
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    int rc = 0;
    for (int i = 0; i < warmup + n && rc == 0; i++) {
        int64_t t0 = ar_now_us();
        CURLcode e = curl_easy_perform(c);
        int64_t took = ar_now_us() - t0;
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (e != CURLE_OK || status != 200) {
            fprintf(stderr, "pxbench: %s: %s (status %ld)\n", url, curl_easy_strerror(e), status);
            rc = -1;
        }
        if (i >= warmup) lat_us[i - warmup] = took;
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    qsort(lat_us, (size_t)n, sizeof(*lat_us), cmp_i64);
    return rc;
}

static void usage(void)
{
    fprintf(stderr, "usage: pxbench --upstream http://127.0.0.1:PORT [--path /tools/cost_db]\n"
                    "               [--body JSON] [-n 2000] [--warmup 200]\n");
}

int main(int argc, char **argv)
{
    const char *upstream = NULL, *path = "/tools/cost_db",
               *body = "{\"spend\":\"$50K/month\",\"gpu_instances\":20}";
    int n = 2000, warmup = 200;
    static const struct option opts[] = {
        {"upstream", required_argument, NULL, 'u'}, {"path", required_argument, NULL, 'p'},
        {"body", required_argument, NULL, 'b'},     {"warmup", required_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "n:u:p:b:w:h", opts, NULL)) != -1) {
        switch (o) {
        case 'n':
            n = atoi(optarg);
            break;
        case 'u':
            upstream = optarg;
            break;
        case 'p':
            path = optarg;
            break;
        case 'b':
            body = optarg;
            break;
        case 'w':
            warmup = atoi(optarg);
            break;
        default:
            usage();
            return o == 'h' ? 0 : 2;
        }
    }
    if (!upstream || n < 1 || warmup < 0) {
        usage();
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    ar_px_cfg cfg = {.upstream = upstream};
    ar_proxy *px = NULL;
    char err[256];
    if (ar_px_start(&cfg, &px, err, sizeof(err))) {
        fprintf(stderr, "pxbench: %s\n", err);
        return 3;
    }
    char direct[512], proxied[512];
    snprintf(direct, sizeof(direct), "%s%s", upstream, path);
    snprintf(proxied, sizeof(proxied), "%s%s", ar_px_url(px), path);
    int64_t *a = calloc((size_t)n, sizeof(int64_t)), *b = calloc((size_t)n, sizeof(int64_t));
    int rc = 3;
    if (a && b && run(direct, body, warmup, n, a) == 0 && run(proxied, body, warmup, n, b) == 0) {
        int64_t am = pct(a, n, 0.5), a99 = pct(a, n, 0.99);
        int64_t bm = pct(b, n, 0.5), b99 = pct(b, n, 0.99);
        printf("requests      %d sequential, keep-alive, POST %s (warm-up %d)\n", n, path, warmup);
        printf("direct        median %6lld us   p99 %6lld us\n", (long long)am, (long long)a99);
        printf("through proxy median %6lld us   p99 %6lld us\n", (long long)bm, (long long)b99);
        printf("added         median %6lld us   p99 %6lld us\n", (long long)(bm - am),
               (long long)(b99 - a99));
        printf("proxy requests seen: %llu\n", (unsigned long long)ar_px_requests(px));
        rc = (bm - am) <= 1000 ? 0 : 1;
        printf("target (added median <= 1000 us): %s\n", rc == 0 ? "met" : "NOT met");
    }
    free(a);
    free(b);
    ar_px_stop(px);
    curl_global_cleanup();
    return rc;
}
