/*
 * docgen.h - the man page (agentrig --man) and the shell completions
 * (agentrig --completion bash|zsh), generated from the option tables each
 * mode's --help prints, so none of them can drift from what is parsed.
 */
#ifndef AR_DOCGEN_H
#define AR_DOCGEN_H

/* argv[0] is "--man" or "--completion", argv[1] the shell; usage is the
 * top-level help (its "commands:" block names the modes). Prints to stdout;
 * returns the exit code. */
int ar_docgen_main(int argc, char **argv, const char *usage);

#endif
