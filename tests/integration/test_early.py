"""0-RTT early data with openssl s_server -early_data and s_client
-sess_in -early_data, the client and the server both traced, keys
captured inside each: the offer in the ClientHello, the server's answer in
its EncryptedExtensions, the early records counted, EndOfEarlyData
decrypted with the client early traffic secret, the rest of the handshake
decrypted as usual; and early data a server turns down (a session it
cannot resume), passed over without a decode_error."""
import os

from tlslib import *

EARLY = b"GET /early HTTP/1.0\r\n\r\n"
SERVER = ["-tls1_3", "-cert", cert("server.pem"), "-key", cert("server.key"),
          "-cert_chain", cert("inter.pem"), "-early_data"]


def server(log, naccept):
    """A traced s_server reading its stdin from a FIFO that stays open
    (s_server ends its session at EOF on stdin)."""
    fd, path = tempfile.mkstemp(dir=tmpdir(), suffix=".fifo")
    os.close(fd)
    os.unlink(path)
    os.mkfifo(path)
    fdin = os.open(path, os.O_RDWR)
    p, port, out = s_server(SERVER + ["-naccept", str(naccept)], stdin=fdin,
                            traced={"log": log})
    return p, port, out, fdin


def client(port, args, log=None):
    """s_client until its handshake is over and the session saved or the
    early data settled; then its stdin closes and it exits."""
    cmd = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-tls1_3"] + args
    if log:
        cmd = launcher_cmd({"log": log}) + cmd
    p, out = spawn(cmd, stdin=subprocess.PIPE)
    m = wait_for(out, r"Early data was (accepted|rejected)|Verify return code",
                 timeout=10, proc=p)
    time.sleep(0.3)  # the session tickets after the handshake
    end_on_eof(p)
    return m.group(0) if m else None, read_log(out)


def accepted_end(who, objs, all_objs):
    """The end of the early data, as an accepting exchange shows it: the
    EndOfEarlyData decrypted after the one early record, the summary's
    verdict; no decode_error in all_objs."""
    eo = events(objs, "end_of_early_data")
    ok("%s, accepted: EndOfEarlyData decrypted after 1 early record" % who,
       len(eo) == 1 and eo[0].get("early_data_records") == 1 and eo[0].get("decrypted") is True, eo)
    sm = events(objs, "summary")
    ok("%s, accepted: summary: early data accepted, 1 record, keys used, no decode_error" % who,
       len(sm) == 1 and sm[0].get("early_data") == "accepted"
       and sm[0].get("early_data_records") == 1 and sm[0].get("keys") == "used"
       and events(all_objs, "decode_error") == [], (sm, events(all_objs, "decode_error")))


def seq(objs):
    return ["%s %s" % (o["dir"], o["event"]) for o in objs
            if o["event"] not in ("change_cipher_spec",)]


d = tmpdir()
sess = os.path.join(d, "sess.pem")
early = os.path.join(d, "early.txt")
with open(early, "wb") as f:
    f.write(EARLY)

# --- 1. accepted
slog, clog = new_log(), new_log()
srv, port, sout, fdin = server(slog, 2)
said1, _ = client(port, ["-sess_out", sess])
ok("a first connection saved a session that allows early data",
   os.path.exists(sess) and "Max Early Data: 16384" in run(
       ["openssl", "sess_id", "-in", sess, "-text", "-noout"]).stdout.decode(), said1)
said2, text = client(port, ["-sess_in", sess, "-early_data", early], log=clog)
wait_for(sout, r"End of early data", timeout=5)
stop(srv)
os.close(fdin)
ok("s_client: early data accepted", said2 == "Early data was accepted", (said2, text[-500:]))
with open(sout, "rb") as f:
    served = f.read()
ok("s_server read the early data", b"Early data received:" in served and EARLY.strip() in served,
   served[-300:])

objs = parse_json_log(read_log(clog), "client, accepted")
want = ["out client_hello", "in server_hello", "in encrypted_extensions", "in finished",
        "out end_of_early_data", "out finished"]
ok("client, accepted: the handshake in order, EndOfEarlyData between the Finished messages",
   seq(objs)[:6] == want, seq(objs))
ch = events(objs, "client_hello")
ok("client, accepted: the ClientHello offers early data",
   len(ch) == 1 and ch[0].get("early_data") is True, ch)
ee = events(objs, "encrypted_extensions")
ok("client, accepted: the EncryptedExtensions accept it, decrypted",
   len(ee) == 1 and ee[0].get("early_data_accepted") is True and ee[0].get("decrypted") is True,
   ee)
accepted_end("client", objs, objs)

sobjs = parse_json_log(read_log(slog), "server")
conns = sorted({o["conn"] for o in sobjs})
ok("server: two connections", len(conns) == 2, conns)
first = [o for o in sobjs if o["conn"] == conns[0]]
second = [o for o in sobjs if o["conn"] == conns[-1]]
nst = [o.get("max_early_data") for o in events(first, "new_session_ticket")]
ok("server: its tickets allow 16384 bytes of early data",
   len(nst) >= 1 and set(nst) == {16384}, nst)
want = ["in client_hello", "out server_hello", "out encrypted_extensions", "out finished",
        "in end_of_early_data", "in finished"]
ok("server, accepted: the same order from its side", seq(second)[:6] == want, seq(second))
accepted_end("server", second, sobjs)

# --- 2. turned down: a new server cannot resume the session
slog, clog = new_log(), new_log()
srv, port, sout, fdin = server(slog, 1)
said, text = client(port, ["-sess_in", sess, "-early_data", early], log=clog)
time.sleep(0.2)
stop(srv)
os.close(fdin)
ok("s_client: early data rejected", said == "Early data was rejected", (said, text[-500:]))
for side, log in (("client", clog), ("server", slog)):
    objs = parse_json_log(read_log(log), side + ", rejected")
    s2c = "in" if side == "client" else "out"
    ee = events(objs, "encrypted_extensions")
    ok("%s, rejected: the EncryptedExtensions turn it down" % side,
       len(ee) == 1 and ee[0].get("early_data_accepted") is False and ee[0]["dir"] == s2c, ee)
    ok("%s, rejected: a full handshake decrypted (certificate), no EndOfEarlyData" % side,
       len(events(objs, "certificate")) == 1
       and events(objs, "certificate")[0].get("decrypted") is True
       and events(objs, "end_of_early_data") == [], seq(objs))
    sm = events(objs, "summary")
    ok("%s, rejected: summary: early data rejected, 1 record passed over, keys used, "
       "no decode_error" % side,
       len(sm) == 1 and sm[0].get("early_data") == "rejected"
       and sm[0].get("early_data_records") == 1 and sm[0].get("keys") == "used"
       and events(objs, "decode_error") == [], (sm, events(objs, "decode_error")))
finish()
