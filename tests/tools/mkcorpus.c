/* Seed corpora for the fuzz targets, from real OpenSSL exchanges.
 *
 *   mkcorpus DIR
 *
 * writes, for each scenario below:
 *   DIR/records/SCEN.c2s, SCEN.s2c     each direction's whole byte stream
 *   DIR/handshake/SCEN.DIR.NN           body of each plaintext handshake
 *                                       record on the wire
 *   DIR/client_hello/SCEN.NN            whole handshake messages (4-byte
 *   DIR/certificate/SCEN.DIR.NN         header + body), as the sender wrote
 *   DIR/certificate_request/SCEN.NN     them before encryption
 *
 * Handshake record bodies come from the wire, so only the plaintext ones
 * are kept (TLS 1.2 before a direction's ChangeCipherSpec; in TLS 1.3 the
 * type-22 records, since encrypted ones travel as type 23).  Messages come
 * from OpenSSL's message callback, so the TLS 1.3 Certificate and
 * CertificateRequest, and those of a TLS 1.2 renegotiation, are there
 * too, in their version's format: the scenario name says which.
 * Randoms and signatures differ from run to run; the structure does not.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tlsgen.h"

struct scenario {
	const char *name;
	struct tlsgen_opts o;
};

static const struct scenario scenarios[] = {
	{"tls12_mtls_ca",
	 {.version = TLSGEN_TLS12,
	  .mtls = 1,
	  .client_sends_cert = 1,
	  .ca_names = TLSGEN_CA_LIST,
	  .sni = "localhost",
	  .alpn = "h2,http/1.1",
	  .app_bytes = 64,
	  .close_notify = 1}},
	/* s_server -no_ca_names: an empty DN list. */
	{"tls12_mtls_noca",
	 {.version = TLSGEN_TLS12,
	  .mtls = 1,
	  .client_sends_cert = 1,
	  .ca_names = TLSGEN_CA_DISABLED,
	  .sni = "localhost",
	  .app_bytes = 64,
	  .close_notify = 1}},
	{"tls12_mtls_nocert",
	 {.version = TLSGEN_TLS12,
	  .mtls = 1,
	  .ca_names = TLSGEN_CA_LIST,
	  .sni = "localhost"}},
	{"tls12_cbc",
	 {.version = TLSGEN_TLS12,
	  .cipher = "ECDHE-ECDSA-AES128-SHA",
	  .sni = "localhost",
	  .app_bytes = 64,
	  .close_notify = 1}},
	{"tls13_mtls_ca",
	 {.version = TLSGEN_TLS13,
	  .mtls = 1,
	  .client_sends_cert = 1,
	  .ca_names = TLSGEN_CA_LIST,
	  .sni = "localhost",
	  .alpn = "h2,http/1.1",
	  .app_bytes = 64,
	  .close_notify = 1}},
	/* The certificate_authorities extension present and empty. */
	{"tls13_mtls_noca",
	 {.version = TLSGEN_TLS13,
	  .mtls = 1,
	  .client_sends_cert = 1,
	  .ca_names = TLSGEN_CA_DISABLED,
	  .sni = "localhost",
	  .app_bytes = 64,
	  .close_notify = 1}},
	{"tls13_mtls_nocert",
	 {.version = TLSGEN_TLS13,
	  .mtls = 1,
	  .ca_names = TLSGEN_CA_LIST,
	  .sni = "localhost"}},
	{"tls13_hrr",
	 {.version = TLSGEN_TLS13,
	  .server_groups = "P-256",
	  .client_groups = "X25519:P-256",
	  .sni = "localhost",
	  .app_bytes = 64,
	  .close_notify = 1}},
	{"tls13_chacha",
	 {.version = TLSGEN_TLS13,
	  .ciphersuites = "TLS_CHACHA20_POLY1305_SHA256",
	  .sni = "localhost",
	  .app_bytes = 64,
	  .close_notify = 1}},
	{"tls12_reneg",
	 {.version = TLSGEN_TLS12,
	  .client_sends_cert = 1,
	  .ca_names = TLSGEN_CA_LIST,
	  .sni = "localhost",
	  .renegotiate = 1,
	  .app_bytes = 64,
	  .close_notify = 1}},
	{"tls12_reneg_refused",
	 {.version = TLSGEN_TLS12,
	  .client_sends_cert = 1,
	  .ca_names = TLSGEN_CA_LIST,
	  .sni = "localhost",
	  .renegotiate = 1,
	  .client_refuses_reneg = 1,
	  .app_bytes = 64}},
	/* The IIS incident: the capture ends with the client's alert. */
	{"tls12_reneg_reset",
	 {.version = TLSGEN_TLS12,
	  .client_sends_cert = 1,
	  .ca_names = TLSGEN_CA_LIST,
	  .sni = "localhost",
	  .renegotiate = 1,
	  .client_refuses_reneg = 1,
	  .server_resets_on_refusal = 1,
	  .app_bytes = 64}},
};

static const char *const subdirs[] = {
	"records",     "handshake",	      "client_hello",
	"certificate", "certificate_request",
};

static const char *out_dir;
static size_t nfiles;

static int make_dir(const char *path)
{
	if (mkdir(path, 0777) == 0 || errno == EEXIST)
		return 0;
	fprintf(stderr, "mkcorpus: %s: %s\n", path, strerror(errno));
	return -1;
}

__attribute__((format(printf, 3, 4))) static int put(const uint8_t *p, size_t n,
						     const char *fmt, ...)
{
	char name[256], path[4096];
	va_list ap;
	FILE *f;
	int ok;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/%s", out_dir, name);
	f = fopen(path, "wb");
	if (f == NULL) {
		fprintf(stderr, "mkcorpus: %s: %s\n", path, strerror(errno));
		return -1;
	}
	ok = fwrite(p, 1, n, f) == n;
	if (fclose(f) != 0 || !ok) {
		fprintf(stderr, "mkcorpus: %s: write failed\n", path);
		return -1;
	}
	nfiles++;
	return 0;
}

static int put_handshake_records(const char *scen,
				 const struct tlsgen_result *r, int from_server)
{
	const struct tlsgen_stream *s = tlsgen_stream_of(r, from_server);
	const char *dir = from_server ? "s2c" : "c2s";
	struct tlsgen_record rec;
	size_t off = 0;
	int idx = 0, rc;

	while ((rc = tlsgen_next_record(s, &off, &rec)) == 1) {
		/* TLS 1.2 encrypts everything after ChangeCipherSpec;
		 * TLS 1.3's CCS is only for middleboxes. */
		if (rec.type == 20 && r->version != TLSGEN_TLS13)
			break;
		if (rec.type != 22)
			continue;
		if (put(rec.body, rec.len, "handshake/%s.%s.%02d", scen, dir,
			idx++) != 0)
			return -1;
	}
	return rc < 0 ? -1 : 0;
}

static int put_messages(const char *scen, const struct tlsgen_result *r)
{
	int n_ch = 0, n_cert = 0, n_cr = 0;

	for (size_t i = 0; i < r->nmsgs; i++) {
		const struct tlsgen_msg *m = &r->msgs[i];
		const uint8_t *p = r->plain + m->off;
		const char *dir = m->from_server ? "s2c" : "c2s";
		int rc = 0;

		if (m->content_type != 22 || m->len < 4)
			continue;
		switch (p[0]) {
		case 1:
			rc = put(p, m->len, "client_hello/%s.%02d", scen,
				 n_ch++);
			break;
		case 11:
			rc = put(p, m->len, "certificate/%s.%s.%02d", scen, dir,
				 n_cert++);
			break;
		case 13:
			rc = put(p, m->len, "certificate_request/%s.%02d", scen,
				 n_cr++);
			break;
		}
		if (rc != 0)
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char path[4096];
	int failed = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	out_dir = argv[1];
	if (make_dir(out_dir) != 0)
		return 1;
	for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", out_dir, subdirs[i]);
		if (make_dir(path) != 0)
			return 1;
	}

	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		const struct scenario *sc = &scenarios[i];
		struct tlsgen_result r;

		if (tlsgen_run(&sc->o, &r) != 0) {
			fprintf(stderr, "mkcorpus: %s: %s\n", sc->name,
				r.error);
			failed = 1;
		} else if (put(r.c2s.data, r.c2s.len, "records/%s.c2s",
			       sc->name) != 0 ||
			   put(r.s2c.data, r.s2c.len, "records/%s.s2c",
			       sc->name) != 0 ||
			   put_handshake_records(sc->name, &r, 0) != 0 ||
			   put_handshake_records(sc->name, &r, 1) != 0 ||
			   put_messages(sc->name, &r) != 0) {
			failed = 1;
		}
		tlsgen_free(&r);
	}
	tlsgen_cleanup();
	printf("mkcorpus: %zu files in %s\n", nfiles, out_dir);
	return failed;
}
