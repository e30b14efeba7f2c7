/* The pcapng file of TLSTRACE_PCAP, made inside the traced process.
 *
 * One section per process that opens the file: a Section Header Block
 * and one interface of link type LINKTYPE_RAW (IPv4 and IPv6 packets
 * alike).  Each TLS connection becomes a TCP stream between its real
 * local and peer addresses: a three-way handshake from the side that
 * sent the ClientHello when the connection is first written (its first
 * packet carries a comment naming the process and the connection, as the
 * log lines do), then one data segment per hooked call and at most
 * PKT_MAX bytes of packet, the sequence and acknowledgement numbers
 * following the bytes of each side, the hook's timestamp, and a FIN or a
 * RST where the connection ended so.  IP and TCP checksums are right.
 * Bytes that went past the hooks (io_bypass: splice, sendfile...) move
 * their side's sequence numbers on by their count, so that a reader
 * sees segments that were not captured; where the count is not known
 * (kernel TLS, whose records the kernel makes; a call skipped for
 * another thread's in the same direction, or a signal handler's), that
 * side is not written any more.
 *
 * Secrets go in Decryption Secrets Blocks (NSS key log lines), each
 * before the first packet that needs it: before a connection's packet
 * is written, the secrets the store holds for its client random that
 * were not written yet are.  A packet whose records the decoder holds
 * for keys not here yet is held too (as are packets before the
 * connection's role, or its upgrade from a cleartext protocol, is
 * known), up to HOLD_MAX bytes per connection, and written once the
 * decoder stops waiting: a reader's single pass then finds the secrets
 * first.  Past HOLD_MAX, packets are written as they come.
 *
 * The log's rules: tlstrace's own descriptor, moved high and
 * close-on-exec, kept open when the program closes it and moved aside
 * when it dup2()s onto it (shim/log.c, tt_log_adopt_fd), checked (same
 * file) before the writes of each call and reopened if the program
 * closed it anyway (a raw system call); O_APPEND, and one write() per
 * block, so that each block lands whole even beside other processes'
 * sections, and a program killed at any moment leaves a file that reads
 * up to its last block.  A block that cannot be written is dropped and
 * counted; one that was cut short ends the writing for good (nothing
 * after it would read), as does one that would cross RLIMIT_FSIZE (its
 * SIGXFSZ would kill the program).  A forked child writes to the same file (each
 * block whole): the connections it makes, not those it inherited.
 */
#include "pcap.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "keys.h"
#include "log.h"
#include "real.h"
#include "version.h"

bool tt_pcap_on;

/* pcapng block and option codes, and the link type. */
#define BT_SHB	     0x0A0D0D0Au
#define BT_IDB	     1u
#define BT_EPB	     6u
#define BT_DSB	     10u
#define BYTE_ORDER_M 0x1A2B3C4Du
#define SECRETS_TLS  0x544c534bu /* "TLSK": NSS key log lines */
#define LINKTYPE_RAW 101
#define OPT_END	     0
#define OPT_COMMENT  1
#define OPT_SHB_APPL 4
#define OPT_IF_NAME  2

/* A packet, IP header included, fits the 16-bit length fields. */
#define PKT_MAX	    65535
#define IP4_HDR	    20
#define IP6_HDR	    40
#define TCP_HDR	    20
#define EPB_HDR	    28
#define COMMENT_MAX 200
/* The largest block: an EPB with the largest packet and the comment. */
#define BLOCK_MAX (EPB_HDR + PKT_MAX + 3 + 4 + COMMENT_MAX + 4 + 4 + 4)
/* Bytes a connection holds while it cannot be written: the decoder's
 * own bound on what waits for keys. */
#define HOLD_MAX (TT_KEYQ_MAX + TT_KEYQ_HDRS)

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

/* A packet held, with its hook's time. */
struct held {
	struct held *next;
	long long ts_us;
	uint32_t len;
	uint8_t dir;
	bool gap; /* no data: len bytes of dir that went by unseen */
	uint8_t data[];
};

/* A connection's stream.  Sides are indexed by direction: TT_OUT is
 * this process's side, TT_IN the peer's. */
struct pconn {
	struct held *head, **tail;
	size_t held;
	uint32_t next[2];  /* each side's next sequence number */
	uint32_t keys;	   /* labels written for cr (bit per label) */
	uint8_t cr[32];	   /* the client random they were written for */
	uint8_t ip[2][16]; /* IPv4 in the first four bytes */
	uint16_t port[2];
	uint16_t ip_id;
	bool v6;
	bool started;	/* the handshake is written */
	bool nohold;	/* HOLD_MAX was reached: no more holding */
	bool off;	/* never written (not TLS, or inherited) */
	bool closed[2]; /* a FIN or RST went from that side */
	/* bytes of that side went by uncounted: nothing more of it is
	 * written (its sequence numbers would hide the gap) */
	bool lost[2];
	/* the handshake was complete at the end of a call already */
	bool was_done;
};

/* The connections' entries, by struct tt_tconn.pcap_slot (from 1): a
 * chunk of CHUNK entries made when first needed, never moved. */
#define CHUNK  1024
#define CHUNKS 1024
static struct pconn **chunks[CHUNKS];
static uint32_t next_slot;
static pthread_mutex_t slot_lock = PTHREAD_MUTEX_INITIALIZER;

static int pfd = -1;
static dev_t pdev;
static ino_t pino;
static char path[PATH_MAX];
static char comm[64]; /* the process's name, printable */
static long pid;
static bool broken, warned;
static uint64_t dropped;
static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;

/* This thread's block buffer (BLOCK_MAX bytes), made on first use. */
static __thread uint8_t *tbuf;
static pthread_key_t tbuf_key;

/* At thread exit; a destructor that runs later (another key's, closing
 * a TLS socket) makes a new one. */
static void tbuf_free(void *p)
{
	tbuf = NULL;
	free(p);
}

static uint8_t *block_buf(void)
{
	if (!tbuf) {
		tbuf = malloc(BLOCK_MAX);
		if (tbuf)
			pthread_setspecific(tbuf_key, tbuf);
	}
	return tbuf;
}

static long long now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void say(const char *what, const char *detail)
{
	if (__atomic_exchange_n(&warned, true, __ATOMIC_RELAXED))
		return;
	tt_log_stderrf("tlstrace: TLSTRACE_PCAP: '%s': %s%s%s\n", path, what,
		       detail ? ": " : "", detail ? detail : "");
}

/* ---- blocks ---- */

/* Little builder over a block buffer, in host byte order (pcapng's is
 * the writer's, told by the section's byte-order magic). */
struct bb {
	uint8_t *p;
	size_t n;
};

static void put32(struct bb *b, uint32_t v)
{
	memcpy(b->p + b->n, &v, 4);
	b->n += 4;
}

static void put16(struct bb *b, uint16_t v)
{
	memcpy(b->p + b->n, &v, 2);
	b->n += 2;
}

static void pad4(struct bb *b)
{
	while (b->n & 3)
		b->p[b->n++] = 0;
}

static void put_opt(struct bb *b, uint16_t code, const void *v, size_t len)
{
	put16(b, code);
	put16(b, (uint16_t)len);
	memcpy(b->p + b->n, v, len);
	b->n += len;
	pad4(b);
}

/* Closes a block begun at 0 with its type and a length to fill in. */
static void block_end(struct bb *b)
{
	uint32_t total = (uint32_t)b->n + 4;
	memcpy(b->p + 4, &total, 4);
	put32(b, total);
}

/* Writes a whole block in one write(); whether it was.  A write that
 * took part of it leaves a cut block at the end of the file: nothing
 * more is written. */
static bool put_block(const uint8_t *p, size_t n)
{
	/* read once: another thread may move it (tt_log_step_aside) */
	int fd = __atomic_load_n(&pfd, __ATOMIC_ACQUIRE);
	if (fd < 0 || __atomic_load_n(&broken, __ATOMIC_RELAXED)) {
		__atomic_add_fetch(&dropped, 1, __ATOMIC_RELAXED);
		return false;
	}
	/* a write at the size limit would raise SIGXFSZ: the file ends at
	 * its last whole block */
	if (!tt_fsize_room(fd, n)) {
		__atomic_add_fetch(&dropped, 1, __ATOMIC_RELAXED);
		__atomic_store_n(&broken, true, __ATOMIC_RELAXED);
		say("the file size limit (ulimit -f) is reached",
		    "nothing more is written");
		return false;
	}
	ssize_t w;
	do
		w = REAL(write)(fd, p, n);
	while (w < 0 && errno == EINTR);
	if (w == (ssize_t)n)
		return true;
	__atomic_add_fetch(&dropped, 1, __ATOMIC_RELAXED);
	if (w > 0) {
		__atomic_store_n(&broken, true, __ATOMIC_RELAXED);
		say("a block was cut short", "nothing more is written");
	} else {
		say("a block could not be written (it is dropped, and the "
		    "file's streams miss its bytes)",
		    strerror(errno));
	}
	return false;
}

/* The section header and the one interface, in one write. */
static void put_header(void)
{
	uint8_t buf[256];
	struct bb b = {buf, 0};
	static const char appl[] = "tlstrace " TT_VERSION;
	put32(&b, BT_SHB);
	put32(&b, 0);
	put32(&b, BYTE_ORDER_M);
	put16(&b, 1);
	put16(&b, 0);
	put32(&b, 0xffffffffu); /* section length: not given */
	put32(&b, 0xffffffffu);
	put_opt(&b, OPT_SHB_APPL, appl, sizeof(appl) - 1);
	put_opt(&b, OPT_END, NULL, 0);
	block_end(&b);
	size_t idb = b.n;
	struct bb i = {buf + idb, 0};
	put32(&i, BT_IDB);
	put32(&i, 0);
	put16(&i, LINKTYPE_RAW);
	put16(&i, 0);
	put32(&i, PKT_MAX); /* snap length: every packet whole */
	put_opt(&i, OPT_IF_NAME, "tlstrace", 8);
	put_opt(&i, OPT_END, NULL, 0);
	block_end(&i);
	put_block(buf, idb + i.n);
}

static bool open_file(void)
{
	char why[256];
	int fd = tt_open_private(path, false, why, sizeof(why));
	if (fd < 0) {
		say(why[0] ? "refused" : "cannot open",
		    why[0] ? why : strerror(errno));
		return false;
	}
	fd = tt_fd_move_high(fd);
	struct stat st;
	if (fstat(fd, &st) != 0) {
		REAL(close)(fd);
		return false;
	}
	pdev = st.st_dev;
	pino = st.st_ino;
	__atomic_store_n(&pfd, fd, __ATOMIC_RELEASE);
	put_header();
	return true;
}

/* Before the writes of a call: the descriptor must still be our file
 * (the program may have closed it, and the number been reused); if not,
 * the file is opened again (a new section).  The number is then the
 * program's, and left alone. */
static void check_file(void)
{
	struct stat st;
	int fd = __atomic_load_n(&pfd, __ATOMIC_ACQUIRE);
	if (fd < 0 ||
	    (fstat(fd, &st) == 0 && st.st_dev == pdev && st.st_ino == pino))
		return;
	/* off (tlstrace -p detached, the file is the null device now):
	 * never opened again */
	if (!__atomic_load_n(&tt_pcap_on, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&open_lock);
	if (__atomic_load_n(&pfd, __ATOMIC_ACQUIRE) == fd) {
		__atomic_store_n(&pfd, -1, __ATOMIC_RELEASE);
		open_file();
	}
	pthread_mutex_unlock(&open_lock);
}

/* ---- packets ---- */

static uint64_t sum16(uint64_t s, const uint8_t *p, size_t n)
{
	for (; n > 1; p += 2, n -= 2)
		s += (uint32_t)p[0] << 8 | p[1];
	if (n)
		s += (uint32_t)p[0] << 8;
	return s;
}

static uint16_t fold(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Where the payload starts in an EPB of this stream. */
static size_t payload_at(const struct pconn *p)
{
	return EPB_HDR + (p->v6 ? IP6_HDR : IP4_HDR) + TCP_HDR;
}

/* Writes the EPB of one segment sent by side dir, whose len payload
 * bytes are already at payload_at(p) in buf; advances that side's
 * sequence number. */
static void put_segment(struct pconn *p, uint8_t *buf, enum tt_dir dir,
			uint8_t flags, size_t len, long long ts_us,
			const char *comment)
{
	const int src = dir, dst = !dir;
	size_t iph = p->v6 ? IP6_HDR : IP4_HDR;
	uint8_t *ip = buf + EPB_HDR, *tcp = ip + iph;
	size_t plen = iph + TCP_HDR + len;
	uint32_t seq = p->next[src], ack = p->next[dst];
	/* IP */
	uint64_t pseudo = 0;
	if (p->v6) {
		be32(ip, 0x60000000u);
		be16(ip + 4, (uint16_t)(TCP_HDR + len));
		ip[6] = IPPROTO_TCP;
		ip[7] = 64;
		memcpy(ip + 8, p->ip[src], 16);
		memcpy(ip + 24, p->ip[dst], 16);
		pseudo = sum16(pseudo, ip + 8, 32);
	} else {
		ip[0] = 0x45;
		ip[1] = 0;
		be16(ip + 2, (uint16_t)plen);
		be16(ip + 4, p->ip_id++);
		be16(ip + 6, 0x4000); /* don't fragment */
		ip[8] = 64;
		ip[9] = IPPROTO_TCP;
		be16(ip + 10, 0);
		memcpy(ip + 12, p->ip[src], 4);
		memcpy(ip + 16, p->ip[dst], 4);
		be16(ip + 10, fold(sum16(0, ip, IP4_HDR)));
		pseudo = sum16(pseudo, ip + 12, 8);
	}
	pseudo += IPPROTO_TCP + TCP_HDR + len;
	/* TCP */
	be16(tcp, p->port[src]);
	be16(tcp + 2, p->port[dst]);
	be32(tcp + 4, seq);
	be32(tcp + 8, (flags & TCP_ACK) ? ack : 0);
	tcp[12] = (TCP_HDR / 4) << 4;
	tcp[13] = flags;
	be16(tcp + 14, 65535);
	be16(tcp + 16, 0);
	be16(tcp + 18, 0);
	be16(tcp + 16, fold(sum16(pseudo, tcp, TCP_HDR + len)));
	p->next[src] += (uint32_t)len + ((flags & (TCP_SYN | TCP_FIN)) ? 1 : 0);
	/* the block around it */
	struct bb b = {buf, 0};
	put32(&b, BT_EPB);
	put32(&b, 0);
	put32(&b, 0); /* interface 0 */
	put32(&b, (uint32_t)((unsigned long long)ts_us >> 32));
	put32(&b, (uint32_t)ts_us);
	put32(&b, (uint32_t)plen);
	put32(&b, (uint32_t)plen);
	b.n += plen;
	pad4(&b);
	if (comment) {
		put_opt(&b, OPT_COMMENT, comment, strlen(comment));
		put_opt(&b, OPT_END, NULL, 0);
	}
	block_end(&b);
	put_block(buf, b.n);
}

/* The side that sent the ClientHello is the client; with the role still
 * unknown, the side whose bytes came first (first). */
static void start(struct tt_tconn *c, struct pconn *p, enum tt_dir first,
		  long long ts_us)
{
	uint8_t *buf = block_buf();
	if (!buf)
		return;
	enum tt_role r = (enum tt_role)tt_conn_role(&c->dec);
	enum tt_dir cl = r == TT_ROLE_CLIENT   ? TT_OUT
			 : r == TT_ROLE_SERVER ? TT_IN
					       : first;
	enum tt_dir sv = cl == TT_OUT ? TT_IN : TT_OUT;
	/* initial sequence numbers: fixed per connection, apart between
	 * processes (a reused port pair is still two streams) */
	uint32_t h = (uint32_t)(c->id * 2654435761u) ^ (uint32_t)pid * 40503u;
	/* until now next[] counted the bytes that went by unseen (skip):
	 * they follow the handshake */
	const uint32_t gap[2] = {p->next[0], p->next[1]};
	p->next[cl] = h;
	p->next[sv] = h ^ 0x5bd1e995u;
	char comment[COMMENT_MAX];
	snprintf(comment, sizeof(comment), "tlstrace pid=%ld comm=%s conn=%llu",
		 pid, comm, (unsigned long long)c->id);
	put_segment(p, buf, cl, TCP_SYN, 0, ts_us, comment);
	put_segment(p, buf, sv, TCP_SYN | TCP_ACK, 0, ts_us, NULL);
	put_segment(p, buf, cl, TCP_ACK, 0, ts_us, NULL);
	p->next[0] += gap[0];
	p->next[1] += gap[1];
	p->started = true;
}

/* n bytes of side dir went by unseen: its next segment comes that much
 * later, where a reader sees that the bytes between were not captured
 * (n 0: how many is not known, and nothing more of the side is
 * written). */
static void skip(struct pconn *p, enum tt_dir dir, uint32_t n)
{
	if (n == 0)
		p->lost[dir] = true;
	p->next[dir] += n;
}

/* Writes n bytes from iov as data segments of side dir. */
static void put_data(struct tt_tconn *c, struct pconn *p, enum tt_dir dir,
		     const struct iovec *iov, size_t iovcnt, size_t n,
		     long long ts_us)
{
	uint8_t *buf = block_buf();
	if (!buf)
		return;
	if (!p->started)
		start(c, p, dir, ts_us);
	size_t at = payload_at(p);
	size_t mss = PKT_MAX - (at - EPB_HDR);
	size_t i = 0, off = 0; /* the iov cursor */
	while (n > 0) {
		size_t len = n < mss ? n : mss, got = 0;
		while (got < len && i < iovcnt) {
			size_t take = iov[i].iov_len - off;
			if (take > len - got)
				take = len - got;
			memcpy(buf + at + got,
			       (const uint8_t *)iov[i].iov_base + off, take);
			got += take;
			off += take;
			if (off == iov[i].iov_len) {
				i++;
				off = 0;
			}
		}
		put_segment(p, buf, dir, TCP_PSH | TCP_ACK, len, ts_us, NULL);
		n -= len;
	}
}

/* ---- secrets ---- */

/* Whether the secrets in keys are all a reader needs for the rest of
 * the connection: TLS 1.2's master secret, or TLS 1.3's application
 * traffic secrets (a later handshake, renegotiation, has another client
 * random). */
static bool keys_done(uint32_t keys)
{
	const uint32_t app = 1u << TT_KL_CLIENT_TRAFFIC_SECRET_0 |
			     1u << TT_KL_SERVER_TRAFFIC_SECRET_0;
	return (keys & 1u << TT_KL_CLIENT_RANDOM) || (keys & app) == app;
}

/* One Decryption Secrets Block with the secrets held for c's client
 * random that were not written yet. */
static void put_secrets(struct tt_tconn *c, struct pconn *p)
{
	const struct tt_conn *d = &c->dec;
	if (!d->ch_seen || !d->ks)
		return;
	if (memcmp(p->cr, d->crandom, sizeof(p->cr)) != 0) {
		memcpy(p->cr, d->crandom, sizeof(p->cr));
		p->keys = 0;
	}
	if (keys_done(p->keys))
		return;
	uint8_t *buf = block_buf();
	if (!buf)
		return;
	const size_t at = 16;
	const uint32_t had = p->keys;
	size_t n = tt_keys_lines(p->cr, &p->keys, (char *)buf + at,
				 TT_KEYS_LINES_MAX);
	if (n == 0)
		return;
	struct bb b = {buf, 0};
	put32(&b, BT_DSB);
	put32(&b, 0);
	put32(&b, SECRETS_TLS);
	put32(&b, (uint32_t)n);
	b.n += n;
	pad4(&b);
	block_end(&b);
	/* secrets whose block was dropped are still to be written */
	if (!put_block(buf, b.n))
		p->keys = had;
	tt_wipe(buf, b.n);
}

/* ---- connections ---- */

static struct pconn **entry(struct tt_tconn *c, bool make)
{
	uint32_t s = c->pcap_slot;
	if (!s) {
		if (!make)
			return NULL;
		s = __atomic_add_fetch(&next_slot, 1, __ATOMIC_RELAXED);
		if (s > (uint32_t)CHUNK * CHUNKS)
			return NULL;
		c->pcap_slot = s;
	}
	size_t k = (s - 1) / CHUNK;
	struct pconn **ch = __atomic_load_n(&chunks[k], __ATOMIC_ACQUIRE);
	if (!ch) {
		if (!make)
			return NULL;
		pthread_mutex_lock(&slot_lock);
		ch = chunks[k];
		if (!ch) {
			ch = calloc(CHUNK, sizeof(*ch));
			__atomic_store_n(&chunks[k], ch, __ATOMIC_RELEASE);
		}
		pthread_mutex_unlock(&slot_lock);
		if (!ch)
			return NULL;
	}
	return &ch[(s - 1) % CHUNK];
}

static void addr_side(struct pconn *p, int side, const struct tt_addr *a)
{
	p->port[side] = a->port;
	if (a->family == AF_INET6 && !p->v6)
		memcpy(p->ip[side], a->ip + 12, 4); /* v4-mapped */
	else if (a->family == AF_INET6 || a->family == AF_INET)
		memcpy(p->ip[side], a->ip, a->family == AF_INET ? 4 : 16);
}

/* An IPv4-mapped IPv6 address (or an unknown one) reads as IPv4. */
static bool v4ish(const struct tt_addr *a)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0,    0,
					   0, 0, 0, 0, 0xff, 0xff};
	return a->family != AF_INET6 || memcmp(a->ip, mapped, 12) == 0;
}

static struct pconn *state(struct tt_tconn *c, bool make)
{
	struct pconn **e = entry(c, make);
	if (!e)
		return NULL;
	if (*e || !make)
		return *e;
	struct pconn *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->tail = &p->head;
	p->v6 = !v4ish(&c->local) || !v4ish(&c->peer);
	addr_side(p, TT_OUT, &c->local);
	addr_side(p, TT_IN, &c->peer);
	if (p->v6) {
		/* a mapped IPv4 side beside an IPv6 one: as IPv6 */
		for (int s = 0; s < 2; s++) {
			const struct tt_addr *a = s == TT_OUT ? &c->local
							      : &c->peer;
			if (a->family == AF_INET) {
				memset(p->ip[s], 0, 16);
				p->ip[s][10] = p->ip[s][11] = 0xff;
				memcpy(p->ip[s] + 12, a->ip, 4);
			}
		}
	}
	*e = p;
	return p;
}

static void drop_held(struct pconn *p)
{
	for (struct held *h = p->head, *nx; h; h = nx) {
		nx = h->next;
		free(h);
	}
	p->head = NULL;
	p->tail = &p->head;
	p->held = 0;
}

/* Whether a reader still lacks secrets it needs at the packets to come:
 * a handshake past its ServerHello (a reader sets up its keys at the
 * ServerHello in TLS 1.3, at the ChangeCipherSpec in TLS 1.2, and
 * switches at each Finished), while secrets can come, the decoder has
 * not given up on them, and those that cover the rest of the connection
 * (keys_done) are not all in the store.  The call that completes the
 * handshake still waits: a TLS library may log its last secrets just
 * after writing its Finished (OpenSSL's client logs its application
 * secret, GnuTLS's both), and a reader needs them at the Finished.
 * Those secrets, or the program's next call on the connection (call:
 * the question is asked for one), end the wait.  Another secret does
 * not: GnuTLS's client logs its exporter secret first, and packets
 * written then would come before the secrets they need. */
static bool keys_pending(const struct tt_tconn *c, const struct pconn *p,
			 bool call)
{
	const struct tt_conn *d = &c->dec;
	if (!d->ch_seen || !d->ks ||
	    (d->phase == TT_PHASE_DONE && p->was_done && call) ||
	    (d->phase == TT_PHASE_FIRST && !tt_conn_version(d)))
		return false;
	if (d->d[0].kstate == TT_K_OFF || d->d[1].kstate == TT_K_OFF ||
	    d->d[0].dead || d->d[1].dead)
		return false;
	if (memcmp(p->cr, d->crandom, sizeof(p->cr)) == 0 && keys_done(p->keys))
		return false;
	if (d->ks->expect && !d->ks->expect(d->ks->ctx))
		return false;
	return !keys_done(tt_keys_held(d->crandom));
}

/* Whether c's packets must wait: its role (hence the handshake's
 * direction) not known yet, its cleartext protocol not upgraded to TLS
 * yet (it may never be: then nothing is written), records waiting in
 * the decoder for keys (or for the other direction), or secrets a
 * reader needs first not here yet.  call: asked for a call of the
 * program's, not for a secret that came. */
static bool must_hold(const struct tt_tconn *c, const struct pconn *p,
		      bool call)
{
	const struct tt_conn *d = &c->dec;
	if (p->nohold)
		return false;
	if (d->stls && !d->starttls)
		return true;
	if (tt_conn_role(d) == TT_ROLE_UNKNOWN && !d->d[0].dead &&
	    !d->d[1].dead)
		return true;
	return tt_conn_waiting(d) || keys_pending(c, p, call);
}

/* Writes what c holds, after its new secrets. */
static void flush(struct tt_tconn *c, struct pconn *p)
{
	put_secrets(c, p);
	for (struct held *h = p->head; h; h = h->next) {
		struct iovec v = {h->data, h->len};
		if (h->gap)
			skip(p, (enum tt_dir)h->dir, h->len);
		else
			put_data(c, p, (enum tt_dir)h->dir, &v, 1, h->len,
				 h->ts_us);
	}
	drop_held(p);
}

static bool hold(struct pconn *p, enum tt_dir dir, const struct iovec *iov,
		 size_t iovcnt, size_t n, long long ts_us)
{
	if (p->held + n > HOLD_MAX)
		return false;
	struct held *h = malloc(sizeof(*h) + n);
	if (!h)
		return false;
	h->next = NULL;
	h->ts_us = ts_us;
	h->len = (uint32_t)n;
	h->dir = (uint8_t)dir;
	h->gap = false;
	size_t got = 0;
	for (size_t i = 0; i < iovcnt && got < n; i++) {
		size_t take = iov[i].iov_len < n - got ? iov[i].iov_len
						       : n - got;
		memcpy(h->data + got, iov[i].iov_base, take);
		got += take;
	}
	*p->tail = h;
	p->tail = &h->next;
	p->held += n;
	return true;
}

/* Whether c is (still) to be written; a connection found not to be TLS
 * never is. */
static struct pconn *live_state(struct tt_tconn *c, bool make)
{
	struct pconn *p = state(c, make);
	if (!p || p->off)
		return NULL;
	if (c->dec.plain) {
		drop_held(p);
		p->off = true;
		return NULL;
	}
	return p;
}

void tt_pcap_data(struct tt_tconn *c, enum tt_dir dir, const struct iovec *iov,
		  size_t iovcnt, size_t n)
{
	struct pconn *p = live_state(c, true);
	if (!p || n == 0)
		return;
	long long ts = now_us();
	bool done = c->dec.phase == TT_PHASE_DONE;
	if (!done)
		p->was_done = false; /* a renegotiation began */
	/* a call skipped for another thread's in the same direction, or a
	 * signal handler's: how many bytes, and where, is not known */
	if (__atomic_load_n(&c->unsynced[dir], __ATOMIC_RELAXED))
		p->lost[dir] = true;
	/* a lost side's bytes are not written; what the other side holds
	 * may still go now */
	const bool lost = p->lost[dir];
	if (p->head || must_hold(c, p, true)) {
		if (lost || hold(p, dir, iov, iovcnt, n, ts)) {
			if (p->head && !must_hold(c, p, true)) {
				check_file();
				flush(c, p);
			}
			p->was_done = done;
			return;
		}
		/* past HOLD_MAX: what is held goes now, and the rest as it
		 * comes */
		p->nohold = true;
		check_file();
		flush(c, p);
	} else {
		check_file();
	}
	put_secrets(c, p);
	if (!lost)
		put_data(c, p, dir, iov, iovcnt, n, ts);
	p->was_done = done;
}

void tt_pcap_gap(struct tt_tconn *c, enum tt_dir dir, uint32_t n)
{
	struct pconn *p = live_state(c, true);
	if (!p)
		return;
	if (!p->head) {
		skip(p, dir, n);
		return;
	}
	/* after the packets held, which came before */
	struct held *h = n ? malloc(sizeof(*h)) : NULL;
	if (!h) {
		p->lost[dir] = true;
		return;
	}
	h->next = NULL;
	h->ts_us = 0;
	h->len = n;
	h->dir = (uint8_t)dir;
	h->gap = true;
	*p->tail = h;
	p->tail = &h->next;
}

void tt_pcap_sync(struct tt_tconn *c)
{
	struct pconn *p = live_state(c, false);
	if (p && p->head && !must_hold(c, p, false)) {
		check_file();
		flush(c, p);
	}
}

static void put_flag(struct pconn *p, enum tt_dir dir, uint8_t flag)
{
	uint8_t *buf = block_buf();
	/* a lost side's FIN would be at a sequence number short of its
	 * end */
	if (!buf || p->closed[dir] || p->lost[dir])
		return;
	put_segment(p, buf, dir, flag | TCP_ACK, 0, now_us(), NULL);
	p->closed[dir] = true;
	if (flag == TCP_RST)
		p->closed[!dir] = true;
}

void tt_pcap_end(struct tt_tconn *c, enum tt_end_how how, const char *errname)
{
	struct pconn *p = live_state(c, false);
	if (!p)
		return;
	check_file();
	flush(c, p);
	if (!p->started)
		return; /* no byte was ever moved: no stream */
	switch (how) {
	case TT_END_PEER_FIN:
		put_flag(p, TT_IN, TCP_FIN);
		break;
	case TT_END_LOCAL_CLOSE:
		put_flag(p, TT_OUT, TCP_FIN);
		break;
	case TT_END_LOCAL_ABORT:
		put_flag(p, TT_OUT, TCP_RST);
		break;
	case TT_END_ERROR:
		if (errname && strcmp(errname, "ECONNRESET") == 0)
			put_flag(p, TT_IN, TCP_RST);
		break;
	default:
		break; /* still open at exit: its stream just stops */
	}
}

void tt_pcap_release(struct tt_tconn *c)
{
	struct pconn **e = entry(c, false);
	if (!e || !*e)
		return;
	drop_held(*e);
	free(*e);
	*e = NULL;
}

void tt_pcap_fork_conn(struct tt_tconn *c)
{
	struct pconn *p = state(c, false);
	if (p) {
		drop_held(p);
		p->off = true;
	}
}

void tt_pcap_fork_child(void)
{
	pid = (long)getpid();
	pthread_mutex_init(&slot_lock, NULL);
	pthread_mutex_init(&open_lock, NULL);
}

/* The process's name, once: its comm, printable. */
static void read_comm(void)
{
	strcpy(comm, "?");
	int fd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	char b[32];
	ssize_t n = REAL(read)(fd, b, sizeof(b) - 1);
	REAL(close)(fd);
	size_t o = 0;
	for (ssize_t i = 0; i < n && b[i] != '\n'; i++)
		comm[o++] = b[i] > 0x20 && b[i] < 0x7f ? b[i] : '?';
	if (o)
		comm[o] = 0;
}

void tt_pcap_init(const struct tt_config *cfg)
{
	if (!cfg->pcap[0])
		return;
	snprintf(path, sizeof(path), "%s", cfg->pcap);
	pid = (long)getpid();
	read_comm();
	pthread_key_create(&tbuf_key, tbuf_free);
	/* kept from the program's close() and dup2() as the log's are */
	tt_log_adopt_fd(&pfd);
	if (open_file())
		tt_pcap_on = true;
}
