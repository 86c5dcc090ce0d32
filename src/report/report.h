/*
 * `mailtap report`: reads mailtap's JSON lines output and summarizes it for
 * an operator, on the terminal and optionally as a self-contained HTML page.
 */
#ifndef MAILTAP_REPORT_H
#define MAILTAP_REPORT_H

#include <stdio.h>

/*
 * Runs "report [--html FILE] JSONFILE..." (argv[0] is "report"). Writes the
 * terminal summary to out and errors to err. Returns 0, 1 when a file could
 * not be read or written, or 2 on a usage error.
 */
int report_main(int argc, char **argv, FILE *out, FILE *err);

#endif
