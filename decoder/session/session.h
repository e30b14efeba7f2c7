/* Session facts: what the handshake messages and alerts mean for the
 * connection (handshake completion, renegotiation, client
 * authentication), how it ended, its summary and the diagnoses.  Facts
 * come in from the parsers and the record layer; events go out.  Nothing
 * here decodes bytes or reaches for keys.
 */
#ifndef TT_SESSION_H
#define TT_SESSION_H

#include "conn.h"

/* A handshake message seen (or inferred from an encrypted record). */
void tt_sess_message(struct tt_conn *c, enum tt_dir dir, uint8_t type,
		     bool inferred, const struct tt_emit *em);
/* An alert event, then what it means for the connection; evidence is
 * NULL for an alert read in the clear, else why an encrypted record of
 * len bytes is taken to be this alert. */
void tt_sess_alert_event(struct tt_conn *c, enum tt_dir dir, uint8_t level,
			 uint8_t desc, uint32_t len, const char *evidence,
			 const struct tt_emit *em);
/* A record that stays encrypted: what its type and place tell. */
void tt_sess_encrypted(struct tt_conn *c, enum tt_dir dir, uint8_t type,
		       uint32_t len, const struct tt_emit *em);
void tt_sess_server_hello(struct tt_conn *c, enum tt_dir dir, bool ri,
			  const struct tt_emit *em);
void tt_sess_client_hello(struct tt_conn *c, enum tt_dir dir, bool ri,
			  bool scsv, const struct tt_emit *em);
void tt_sess_cert_request(struct tt_conn *c, long long ca_count,
			  const char *names, size_t names_len);
void tt_sess_certificate(struct tt_conn *c, enum tt_dir dir, long long count,
			 const struct tt_emit *em);
/* A diagnosis event (level warn): code, a sentence, and the fix. */
void tt_emit_diagnosis(const struct tt_emit *em, enum tt_dir dir,
		       const char *code, const char *message, const char *fix);

/* How a connection ended, as the shim saw it. */
enum tt_end_how {
	TT_END_NONE = 0,
	TT_END_PEER_FIN,    /* a read returned 0 */
	TT_END_ERROR,	    /* a call failed: err says why */
	TT_END_LOCAL_CLOSE, /* this process closed the socket */
	TT_END_LOCAL_ABORT, /* closed with SO_LINGER {1, 0}: a reset */
	TT_END_EXIT,	    /* still open at process exit */
	TT_END_DETACH,	    /* still open when tlstrace detached */
};

/* Diagnoses a renegotiation the server asked for and the client
 * refused (once per connection): with the server's fatal alert that
 * followed, else at the end (how: TT_END_EXIT or TT_END_DETACH when the
 * connection was still open then, else TT_END_NONE). */
void tt_sess_reneg_refused(struct tt_conn *c, enum tt_dir dir,
			   enum tt_end_how how, const struct tt_emit *em);

struct tt_end_info {
	enum tt_end_how how;
	enum tt_dir dir;	 /* the call's direction, for errors */
	const char *errname;	 /* ECONNRESET, ... for TT_END_ERROR */
	const char *call;	 /* read, write, close, ... */
	long long since_last_us; /* since the connection's previous event */
	long long duration_us;	 /* since the connection was first seen */
	long long unread;	 /* bytes left unread at a local close */
};

/* Whether ei ends the trace of a connection that is still open (the
 * process exits, or tlstrace detaches from it): its end is not seen. */
static inline bool tt_end_unseen(const struct tt_end_info *ei)
{
	return ei->how == TT_END_EXIT || ei->how == TT_END_DETACH;
}

/* Whether ei ends the connection for good (close, abort, exit), rather
 * than one step of its end (a FIN, an error). */
static inline bool tt_end_final(const struct tt_end_info *ei)
{
	return ei->how == TT_END_LOCAL_CLOSE || ei->how == TT_END_LOCAL_ABORT ||
	       ei->how == TT_END_EXIT || ei->how == TT_END_DETACH;
}

/* Writes connection_closed / connection_reset once, the diagnosis that
 * explains it, and at a final end the summary (session/end.c).  The
 * record layer's tt_conn_end reports what waits for keys first. */
void tt_sess_end(struct tt_conn *c, const struct tt_end_info *ei,
		 const struct tt_emit *em);

#endif
