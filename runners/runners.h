/*
 * runners.h - the modes of agentrig. Each takes the arguments after its
 * command name and returns the process exit code (ar.h's AR_EXIT_*).
 */
#ifndef AR_RUNNERS_H
#define AR_RUNNERS_H

int ar_run_main(int argc, char **argv);
int ar_chaos_main(int argc, char **argv);
int ar_proxy_main(int argc, char **argv);
int ar_bench_main(int argc, char **argv);
int ar_validate_main(int argc, char **argv);
int ar_list_main(int argc, char **argv);

#endif
