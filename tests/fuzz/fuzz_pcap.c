/*
 * Fuzz target: the whole capture path. The input is written to a file and
 * read as a capture by the full pipeline (decoder, flows, reassembly,
 * analyzers, outputs to /dev/null), as `mailtap -r` would. One sensor
 * serves every input (nDPI takes about 20 ms to set up); each input ends by
 * flushing its flows.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "capture/capture.h"
#include "sensor/sensor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sensor *fuzz_sensor_get(void)
{
	static struct sensor *sensor;
	static struct sensor_options opt;
	char err[512];

	if (sensor != NULL)
		return sensor;
	config_set_defaults(&opt.cfg);
	output_config_init(&opt.output);
	opt.output.json_path = "/dev/null";
	opt.use_ndpi = true;
	sensor = sensor_new(&opt, err, sizeof(err));
	if (sensor == NULL)
		abort();
	return sensor;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static volatile sig_atomic_t no_signal;
	struct sensor_signals sig = {&no_signal, &no_signal};
	struct sensor *s = fuzz_sensor_get();
	char path[] = "/tmp/mailtap-fuzz-XXXXXX";
	char err[512];
	struct capture *c;
	int fd = mkstemp(path);

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		unlink(path);
		return 0;
	}
	close(fd);
	c = capture_open_file(path, err, sizeof(err));
	if (c != NULL) {
		sensor_run(s, c, &sig);
		capture_close(c);
	}
	sensor_finish(s);
	unlink(path);
	return 0;
}
