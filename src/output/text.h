/*
 * Terminal text: one readable line per alert and a short summary line per
 * session. Wire strings are escaped (\xHH), so they can neither start a
 * line nor send an escape sequence to the terminal.
 */
#ifndef MAILTAP_OUTPUT_TEXT_H
#define MAILTAP_OUTPUT_TEXT_H

#include <stdbool.h>
#include <stdio.h>

struct alert_info;
struct event;
struct format_line;
struct session;

/*
 * Returns true when colour may be used on stream: allowed is set, the
 * stream is a terminal, and NO_COLOR is unset or empty (no-color.org).
 */
bool text_use_color(FILE *stream, bool allowed);
/* Writes the alert line for ev into line (reset first), without the newline. */
void text_format_alert(const struct event *ev, const struct alert_info *a, bool color, struct format_line *line);
/* Writes the session summary line into line (reset first), without the newline. */
void text_format_session(const struct session *s, bool color, struct format_line *line);

#endif
