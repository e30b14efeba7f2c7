/* An mbedTLS 2.28 TLS 1.2 client with export-keys callbacks of its own,
 * to show that tlstrace's (shim/mbedtls.c) leaves them as they were.
 *
 *   mbedtls_client PORT CERT KEY [both|ext|none]
 *
 * Sets both callbacks of its configuration, mbedtls_ssl_conf_export_keys_cb
 * and mbedtls_ssl_conf_export_keys_ext_cb, with one argument (ext: only
 * the second; none: neither); connects to
 * 127.0.0.1:PORT (the server is not verified), presents CERT and KEY when
 * asked, sends an HTTP request, reads to the end and sends close_notify.
 * Prints one line:
 *
 *   export_keys calls=N export_keys_ext calls=M arg=intact|changed order=ok|wrong response=yes|no
 *
 * (arg: whether every call got the argument given; order: whether each
 * key block call came just before an ext one, as mbedTLS makes them).
 * Exit status 0 when the exchange went through.
 */
#include <stdio.h>
#include <string.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

struct counts {
	int keys, ext;
	int bad_arg, bad_order;
};

static struct counts counts;
static int both; /* the key block callback is set too */

static int on_keys(void *p, const unsigned char *ms, const unsigned char *kb,
		   size_t maclen, size_t keylen, size_t ivlen)
{
	(void)ms, (void)kb, (void)maclen, (void)keylen, (void)ivlen;
	struct counts *c = p;
	if (c != &counts) {
		counts.bad_arg++;
		return 0;
	}
	if (c->keys != c->ext)
		c->bad_order++;
	c->keys++;
	return 0;
}

static int on_keys_ext(void *p, const unsigned char *ms,
		       const unsigned char *kb, size_t maclen, size_t keylen,
		       size_t ivlen, const unsigned char client_random[32],
		       const unsigned char server_random[32],
		       mbedtls_tls_prf_types prf)
{
	(void)ms, (void)kb, (void)maclen, (void)keylen, (void)ivlen;
	(void)client_random, (void)server_random, (void)prf;
	struct counts *c = p;
	if (c != &counts) {
		counts.bad_arg++;
		return 0;
	}
	if (both && c->keys != c->ext + 1)
		c->bad_order++;
	c->ext++;
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc == 5 ? argv[4] : "both";
	if ((argc != 4 && argc != 5) ||
	    (strcmp(mode, "both") && strcmp(mode, "ext") &&
	     strcmp(mode, "none"))) {
		fprintf(stderr,
			"usage: mbedtls_client PORT CERT KEY [both|ext|none]\n");
		return 2;
	}
	mbedtls_net_context net;
	mbedtls_ssl_context ssl;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt crt;
	mbedtls_pk_context key;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	int ret, status = 1;

	mbedtls_net_init(&net);
	mbedtls_ssl_init(&ssl);
	mbedtls_ssl_config_init(&conf);
	mbedtls_x509_crt_init(&crt);
	mbedtls_pk_init(&key);
	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);

	if ((ret = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
					 NULL, 0)) != 0 ||
	    (ret = mbedtls_x509_crt_parse_file(&crt, argv[2])) != 0 ||
	    (ret = mbedtls_pk_parse_keyfile(&key, argv[3], NULL)) != 0 ||
	    (ret = mbedtls_ssl_config_defaults(
		     &conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
		     MBEDTLS_SSL_PRESET_DEFAULT)) != 0 ||
	    (ret = mbedtls_ssl_conf_own_cert(&conf, &crt, &key)) != 0) {
		fprintf(stderr, "setup: -0x%04x\n", (unsigned)-ret);
		goto out;
	}
	mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
	mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_NONE);
	mbedtls_ssl_conf_min_version(&conf, MBEDTLS_SSL_MAJOR_VERSION_3,
				     MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_max_version(&conf, MBEDTLS_SSL_MAJOR_VERSION_3,
				     MBEDTLS_SSL_MINOR_VERSION_3);
	both = strcmp(mode, "both") == 0;
	if (both)
		mbedtls_ssl_conf_export_keys_cb(&conf, on_keys, &counts);
	if (strcmp(mode, "none") != 0)
		mbedtls_ssl_conf_export_keys_ext_cb(&conf, on_keys_ext,
						    &counts);

	if ((ret = mbedtls_ssl_setup(&ssl, &conf)) != 0 ||
	    (ret = mbedtls_ssl_set_hostname(&ssl, "localhost")) != 0 ||
	    (ret = mbedtls_net_connect(&net, "127.0.0.1", argv[1],
				       MBEDTLS_NET_PROTO_TCP)) != 0) {
		fprintf(stderr, "connect: -0x%04x\n", (unsigned)-ret);
		goto out;
	}
	mbedtls_ssl_set_bio(&ssl, &net, mbedtls_net_send, mbedtls_net_recv,
			    NULL);
	while ((ret = mbedtls_ssl_handshake(&ssl)) != 0) {
		if (ret != MBEDTLS_ERR_SSL_WANT_READ &&
		    ret != MBEDTLS_ERR_SSL_WANT_WRITE) {
			fprintf(stderr, "handshake: -0x%04x\n", (unsigned)-ret);
			goto out;
		}
	}
	static const unsigned char req[] = "GET / HTTP/1.0\r\n\r\n";
	size_t off = 0;
	while (off < sizeof(req) - 1) {
		ret = mbedtls_ssl_write(&ssl, req + off, sizeof(req) - 1 - off);
		if (ret == MBEDTLS_ERR_SSL_WANT_READ ||
		    ret == MBEDTLS_ERR_SSL_WANT_WRITE)
			continue;
		if (ret < 0) {
			fprintf(stderr, "write: -0x%04x\n", (unsigned)-ret);
			goto out;
		}
		off += (size_t)ret;
	}
	unsigned char buf[4096];
	size_t got = 0;
	for (;;) {
		ret = mbedtls_ssl_read(&ssl, buf, sizeof(buf));
		if (ret == MBEDTLS_ERR_SSL_WANT_READ ||
		    ret == MBEDTLS_ERR_SSL_WANT_WRITE)
			continue;
		if (ret == 0 || ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
			break;
		if (ret < 0) {
			fprintf(stderr, "read: -0x%04x\n", (unsigned)-ret);
			goto out;
		}
		got += (size_t)ret;
	}
	mbedtls_ssl_close_notify(&ssl);
	printf("export_keys calls=%d export_keys_ext calls=%d arg=%s order=%s "
	       "response=%s\n",
	       counts.keys, counts.ext, counts.bad_arg ? "changed" : "intact",
	       counts.bad_order ? "wrong" : "ok", got ? "yes" : "no");
	status = got ? 0 : 1;
out:
	mbedtls_net_free(&net);
	mbedtls_ssl_free(&ssl);
	mbedtls_ssl_config_free(&conf);
	mbedtls_x509_crt_free(&crt);
	mbedtls_pk_free(&key);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&entropy);
	return status;
}
