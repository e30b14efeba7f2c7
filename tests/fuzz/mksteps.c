/* mkcorpus, plus each scenario's writes in the order they happened.
 *
 *   mksteps DIR
 *
 * does what tests/tools/mkcorpus does, then runs every scenario again and
 * writes DIR/steps/SCEN: each write one side made, in the real order
 * across both directions, as the segments fuzz_record reads:
 *   u8 from_server, u16 length (big-endian), that many bytes
 * (a write over 65535 bytes becomes several segments).  The whole-stream
 * files of records/ lose that order, and with it what one direction's
 * decoding learns from the other (version, role) at the right time.
 *
 * mkcorpus.c is included rather than copied so that the scenario list
 * stays in one place.  Built and run by tests/fuzz/mkseeds.py.
 */
#define main mkcorpus_main
#include "../tools/mkcorpus.c"
#undef main

static int put_steps(const char *scen, const struct tlsgen_result *r)
{
	char path[4096];
	FILE *f;
	int ok = 1;

	snprintf(path, sizeof(path), "%s/steps/%s", out_dir, scen);
	f = fopen(path, "wb");
	if (f == NULL) {
		fprintf(stderr, "mksteps: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < r->nsteps && ok; i++) {
		const struct tlsgen_step *s = &r->steps[i];
		const uint8_t *p =
		    tlsgen_stream_of(r, s->from_server)->data + s->off;
		size_t left = s->len;
		while (left > 0 && ok) {
			size_t n = left > 0xffff ? 0xffff : left;
			uint8_t h[3] = {(uint8_t)s->from_server,
					(uint8_t)(n >> 8), (uint8_t)n};
			ok = fwrite(h, 1, 3, f) == 3 && fwrite(p, 1, n, f) == n;
			p += n;
			left -= n;
		}
	}
	if (fclose(f) != 0 || !ok) {
		fprintf(stderr, "mksteps: %s: write failed\n", path);
		return -1;
	}
	nfiles++;
	return 0;
}

int main(int argc, char **argv)
{
	char path[4096];
	int failed;

	failed = mkcorpus_main(argc, argv);
	if (argc != 2)
		return failed;
	snprintf(path, sizeof(path), "%s/steps", out_dir);
	if (make_dir(path) != 0)
		return 1;
	nfiles = 0;
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		const struct scenario *sc = &scenarios[i];
		struct tlsgen_result r;

		if (tlsgen_run(&sc->o, &r) != 0) {
			fprintf(stderr, "mksteps: %s: %s\n", sc->name, r.error);
			failed = 1;
		} else if (put_steps(sc->name, &r) != 0) {
			failed = 1;
		}
		tlsgen_free(&r);
	}
	tlsgen_cleanup();
	printf("mksteps: %zu files in %s/steps\n", nfiles, out_dir);
	return failed;
}
