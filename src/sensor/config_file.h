/*
 * The YAML configuration file (--config): every setting a flag can make,
 * under the flag's long name with dashes or underscores. Flags given on
 * the command line win over the file.
 */
#ifndef MAILTAP_CONFIG_FILE_H
#define MAILTAP_CONFIG_FILE_H

#include <stdbool.h>
#include <stddef.h>

/* Called for each setting as if it were the long option NAME with VALUE (NULL for a bare flag). */
typedef int (*config_file_setting_fn)(void *ctx, const char *name, const char *value);

/* The parsed file; the strings passed to the callback live as long as it does. */
struct config_file;

/*
 * Reads the top-level mapping of path and calls on_setting for each key; a
 * sequence value calls it once per item, a mapping value (ports) once per
 * "key=value" pair. Returns the parsed file, or NULL after printing
 * "FILE:LINE:COLUMN: reason" to stderr.
 */
struct config_file *config_file_load(const char *path, config_file_setting_fn on_setting, void *ctx);
void config_file_free(struct config_file *cf);

#endif
