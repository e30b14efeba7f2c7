#!/usr/bin/env python3
"""The hooks never stand in for a TLS library they cannot find.

libtlstrace.so interposes entry points of GnuTLS, NSS, mbedTLS and
wolfSSL; each hook calls the real function, found through
dlsym(RTLD_NEXT), the library's usual sonames, or any loaded object that
defines it.  A library under another soname (a newer version, a copy a
package bundles) loaded RTLD_LOCAL by a module is found by the last of
these alone: were it missed, the hook would fail the program's call.

Built here: libfaketls.so.7, defining gnutls_init, gnutls_deinit,
SSL_ImportFD, DTLS_ImportFD, mbedtls_ssl_config_init, mbedtls_ssl_setup,
mbedtls_ssl_config_free, wolfSSL_CTX_new and wolfSSL_new with results
of its own; mod.so, linked against it, calling each; and a host that
dlopens mod.so RTLD_LOCAL.  The host prints the same results with the
library preloaded as without."""
import subprocess
from tlslib import *

FAKE = r'''
struct cfg { int magic; };
int gnutls_init(void **s, unsigned flags) { *s = (void *)0x51; return (int)flags; }
void gnutls_deinit(void *s) { (void)s; }
void *SSL_ImportFD(void *model, void *fd) { return model ? model : fd; }
void *DTLS_ImportFD(void *model, void *fd) { return model ? model : fd; }
void mbedtls_ssl_config_init(struct cfg *c) { c->magic = 0x1234; }
int mbedtls_ssl_setup(void *ssl, const struct cfg *c) { (void)ssl; return c->magic == 0x1234 ? 0 : -1; }
void mbedtls_ssl_config_free(struct cfg *c) { c->magic = 0x4321; }
void *wolfSSL_CTX_new(void *method) { return method; }
void *wolfSSL_new(void *ctx) { return ctx ? (char *)ctx + 1 : 0; }
'''

MOD = r'''
#include <stdio.h>
struct cfg { int magic; };
int gnutls_init(void **s, unsigned flags);
void gnutls_deinit(void *s);
void *SSL_ImportFD(void *model, void *fd);
void *DTLS_ImportFD(void *model, void *fd);
void mbedtls_ssl_config_init(struct cfg *c);
int mbedtls_ssl_setup(void *ssl, const struct cfg *c);
void mbedtls_ssl_config_free(struct cfg *c);
void *wolfSSL_CTX_new(void *method);
void *wolfSSL_new(void *ctx);
int mod_run(void)
{
	void *s = 0;
	int g = gnutls_init(&s, 3);
	gnutls_deinit(s);
	struct cfg c = {0};
	mbedtls_ssl_config_init(&c);
	int m = mbedtls_ssl_setup(0, &c);
	int magic = c.magic;
	mbedtls_ssl_config_free(&c);
	printf("gnutls_init=%d session=%p ssl_import=%p dtls_import=%p "
	       "mbedtls_magic=%#x setup=%d freed=%#x wolfssl_ctx=%p wolfssl=%p\n",
	       g, s, SSL_ImportFD(0, (void *)0x77), DTLS_ImportFD((void *)0x66, 0),
	       magic, m, c.magic, wolfSSL_CTX_new((void *)0x1000),
	       wolfSSL_new((void *)0x2000));
	return 0;
}
'''

HOST = r'''
#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv)
{
	(void)argc;
	void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!h) { puts(dlerror()); return 2; }
	int (*run)(void) = (int (*)(void))dlsym(h, "mod_run");
	return run ? run() : 3;
}
'''


def build(d):
    for name, text in (("fake.c", FAKE), ("mod.c", MOD), ("host.c", HOST)):
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
    steps = [
        ["cc", "-shared", "-fPIC", "-Wl,-soname,libfaketls.so.7", "-o",
         os.path.join(d, "libfaketls.so.7"), os.path.join(d, "fake.c")],
        ["cc", "-shared", "-fPIC", "-o", os.path.join(d, "mod.so"), os.path.join(d, "mod.c"),
         os.path.join(d, "libfaketls.so.7"), "-Wl,-rpath," + d],
        ["cc", "-o", os.path.join(d, "host"), os.path.join(d, "host.c"), "-ldl"],
    ]
    for cmd in steps:
        r = subprocess.run(cmd, capture_output=True, timeout=60)
        if r.returncode != 0:
            return r.stderr.decode(errors="replace")
    return None


def main():
    if missing("cc"):
        return
    d = os.path.join(tmpdir(), "guestsym")
    os.makedirs(d)
    err = build(d)
    ok("built the fake library, the module and the host", err is None, err)
    if err:
        return
    cmd = [os.path.join(d, "host"), os.path.join(d, "mod.so")]
    plain = run(cmd, timeout=20)
    want = ("gnutls_init=3 session=0x51 ssl_import=0x77 dtls_import=0x66 "
            "mbedtls_magic=0x1234 setup=0 freed=0x4321 wolfssl_ctx=0x1000 wolfssl=0x2001\n")
    ok("untraced: every call reaches the library", plain.returncode == 0
       and plain.stdout.decode() == want, (plain.returncode, plain.stdout, plain.stderr))
    env = dict(os.environ, LD_PRELOAD=LIB, TLSTRACE_LOG=new_log())
    pre = run(cmd, timeout=20, env=env)
    ok("preloaded: the same results (each hook found the library under its other soname)",
       pre.returncode == 0 and pre.stdout == plain.stdout and pre.stderr == b"",
       (pre.returncode, pre.stdout, pre.stderr))


if __name__ == "__main__":
    main()
    finish()
