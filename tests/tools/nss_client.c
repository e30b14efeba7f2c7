/* An NSS TLS client, optionally with a secret callback of its own, to
 * show that tlstrace's (shim/nss.c) captures the client's TLS 1.3 secrets
 * and leaves the program's callback as it was.
 *
 *   nss_client PORT [-own]
 *
 * No database (NSS_NoDB_Init), no client certificate, the server's not
 * verified; TLS 1.2 to 1.3.  Connects to 127.0.0.1:PORT, names
 * "localhost", sends an HTTP request and reads to the end.  -own: sets
 * a secret callback of its own through SSL_GetExperimentalAPI before the
 * handshake, with an argument of its own, and prints one line:
 *
 *   own secret callback: calls=N epochs=2r,2w,3r,3w arg=intact|changed
 *
 * (epochs: each (epoch, direction) it was called for, in order of epoch,
 * read before write).  Exit status 0 when the exchange went through.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nspr.h>
#include <private/pprio.h>
#include <nss/nss.h>
#include <nss/ssl.h>
#include <nss/sslexp.h>
#include <nss/sslproto.h>

#define MAX_EPOCH 8

static int calls, bad_arg;
static int seen[MAX_EPOCH + 1][2]; /* [epoch][write] */
static int token;

static void on_secret(PRFileDesc *fd, PRUint16 epoch, SSLSecretDirection dir,
		      PK11SymKey *secret, void *arg)
{
	(void)fd;
	(void)secret;
	if (arg != &token)
		bad_arg++;
	calls++;
	seen[epoch < MAX_EPOCH ? epoch : MAX_EPOCH][dir == ssl_secret_write]++;
}

static SECStatus accept_any(void *arg, PRFileDesc *fd, PRBool sig,
			    PRBool server)
{
	(void)arg;
	(void)fd;
	(void)sig;
	(void)server;
	return SECSuccess;
}

static int fail(const char *what)
{
	PRErrorCode e = PR_GetError();
	const char *name = PR_ErrorToName(e);
	fprintf(stderr, "%s: %s (%d)\n", what, name ? name : "?", (int)e);
	return 1;
}

static void print_own(void)
{
	printf("own secret callback: calls=%d epochs=", calls);
	const char *sep = "";
	for (int e = 0; e <= MAX_EPOCH; e++)
		for (int w = 0; w < 2; w++)
			if (seen[e][w]) {
				printf("%s%d%c", sep, e, w ? 'w' : 'r');
				sep = ",";
			}
	printf(" arg=%s\n", bad_arg ? "changed" : "intact");
}

int main(int argc, char **argv)
{
	if ((argc != 2 && argc != 3) ||
	    (argc == 3 && strcmp(argv[2], "-own"))) {
		fprintf(stderr, "usage: nss_client PORT [-own]\n");
		return 2;
	}
	int own = argc == 3;
	if (NSS_NoDB_Init(NULL) != SECSuccess)
		return fail("NSS_NoDB_Init");
	if (NSS_SetDomesticPolicy() != SECSuccess)
		return fail("NSS_SetDomesticPolicy");

	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)atoi(argv[1])),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror("connect");
		return 1;
	}
	PRFileDesc *tcp = PR_ImportTCPSocket(s);
	if (!tcp)
		return fail("PR_ImportTCPSocket");
	PRFileDesc *fd = SSL_ImportFD(NULL, tcp);
	if (!fd)
		return fail("SSL_ImportFD");
	SSLVersionRange range = {SSL_LIBRARY_VERSION_TLS_1_2,
				 SSL_LIBRARY_VERSION_TLS_1_3};
	if (SSL_OptionSet(fd, SSL_SECURITY, PR_TRUE) != SECSuccess ||
	    SSL_OptionSet(fd, SSL_HANDSHAKE_AS_CLIENT, PR_TRUE) != SECSuccess ||
	    SSL_VersionRangeSet(fd, &range) != SECSuccess)
		return fail("SSL_OptionSet");
	if (SSL_AuthCertificateHook(fd, accept_any, NULL) != SECSuccess)
		return fail("SSL_AuthCertificateHook");
	if (SSL_SetURL(fd, "localhost") != SECSuccess)
		return fail("SSL_SetURL");
	if (own && SSL_SecretCallback(fd, on_secret, &token) != SECSuccess)
		return fail("SSL_SecretCallback");
	if (SSL_ResetHandshake(fd, PR_FALSE) != SECSuccess)
		return fail("SSL_ResetHandshake");
	if (SSL_ForceHandshake(fd) != SECSuccess)
		return fail("SSL_ForceHandshake");

	static const char req[] = "GET / HTTP/1.0\r\n\r\n";
	if (PR_Write(fd, req, (PRInt32)strlen(req)) != (PRInt32)strlen(req))
		return fail("PR_Write");
	char buf[4096];
	size_t got = 0;
	PRInt32 n;
	while ((n = PR_Read(fd, buf, sizeof(buf))) > 0)
		got += (size_t)n;
	if (n < 0)
		return fail("PR_Read");
	if (own)
		print_own();
	if (PR_Close(fd) != PR_SUCCESS)
		return fail("PR_Close");
	/* the client session cache holds the server's certificate */
	SSL_ClearSessionCache();
	if (NSS_Shutdown() != SECSuccess)
		return fail("NSS_Shutdown");
	return got ? 0 : 1;
}
