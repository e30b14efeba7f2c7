/* The pcapng file of TLSTRACE_PCAP: each traced TLS connection as one
 * TCP stream of packets made up from the bytes its hooked calls moved,
 * and the secrets that decrypt it in Decryption Secrets Blocks written
 * before the packets that need them, so that Wireshark and tshark read
 * it in one pass with no key file and no capture rights.
 *
 * Every function but tt_pcap_init and the fork ones is called with the
 * connection's lock (mu) held. */
#ifndef TT_PCAP_H
#define TT_PCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

#include "config.h"
#include "tconn.h"

/* Whether the file is written: the one branch the hooks take. */
extern bool tt_pcap_on;

/* Opens cfg->pcap (if set) as the log file is opened, and writes the
 * section's header there; on failure one stderr line, and no file. */
void tt_pcap_init(const struct tt_config *cfg);
/* The n bytes a hooked call moved in dir on c (in iov), after the
 * decoder was fed them: written now, or held while c cannot be written
 * yet (its records wait for keys, its role or its upgrade to TLS is not
 * known). */
void tt_pcap_data(struct tt_tconn *c, enum tt_dir dir, const struct iovec *iov,
		  size_t iovcnt, size_t n);
/* n bytes of dir on c went past the hooks (0: how many is not known):
 * the stream shows the gap, or (0) stops writing that side. */
void tt_pcap_gap(struct tt_tconn *c, enum tt_dir dir, uint32_t n);
/* The decoder's waiting may have ended (keys came): what c holds goes
 * out, after the secrets that decrypt it. */
void tt_pcap_sync(struct tt_tconn *c);
/* The connection ended (how, errname as the decoder was told): what it
 * holds goes out, then a FIN or a RST where one was seen. */
void tt_pcap_end(struct tt_tconn *c, enum tt_end_how how, const char *errname);
/* c is given back to the pool: its state is freed. */
void tt_pcap_release(struct tt_tconn *c);
/* In the child after fork(): c, inherited, is its parent's to write
 * (what it holds is dropped); then the process's own state. */
void tt_pcap_fork_conn(struct tt_tconn *c);
void tt_pcap_fork_child(void);

#endif
