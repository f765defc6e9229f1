#!/usr/bin/env python3
"""The official-account platform, played by an independent implementation of its protocol.

The Rust tests (tests/tests/e2e/chat/) start a zizhi server and hand this script a JSON list of
steps on stdin; it performs each step as the platform would and prints a JSON list of results.
Signing, encryption and the decryption/verification of our replies are wechatpy's
(`WeChatSigner`, `WeChatCrypto`), never zizhi's; the message XML is what the platform sends and
is checked to parse with wechatpy's own parser before it goes out.

Step (all keys but "op" optional):
  {"op": "get", "echostr": "...", "tamper": "signature" | "timestamp"}
  {"op": "post", "mode": "plain" | "aes",
   "message": {"type": "text", "content": "...", "msg_id": 1}
            | {"type": "event", "event": "scancode_waitmsg", "key": "...",
               "scan_type": "qrcode", "scan_result": "..."}
            | {"type": "event", "event": "subscribe" | "CLICK", "key": "..."},
   "from_user": "o...", "create_time": 1700000000,
   "raw_body": "..." (sent as it is instead of a message),
   "tamper": "signature" | "msg_signature" | "timestamp" | "app_id",
   "copies": 3 (the same message delivered that many times at once, as retries racing; each
               copy a call of its own, with a fresh nonce, unless "same_nonce": true),
   "repeat": 2 (the very same call — URL and body — sent that many times, one after the
               other, as an attacker replaying a captured call),
   "replay_message": {...} (after the call, another message posted under the same URL)}
Result: {"status": 200, "body": "...", "elapsed_ms": 12.3, "reply": {...} | null}
  where "reply" is our reply as wechatpy reads it (decrypted and signature-checked in safe
  mode), with "MsgType", "Content" or "Articles".

Exit status 3: wechatpy (or its crypto backend) is not installed.
"""

import json
import random
import sys
import threading
import time
import uuid

try:
    import requests
    import xmltodict
    from wechatpy import parse_message
    from wechatpy.crypto import WeChatCrypto
    from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
    from wechatpy.utils import WeChatSigner
except ImportError as e:  # pragma: no cover - reported to the Rust test
    print(
        f"the chat tests need the Python package wechatpy with cryptography ({e}); "
        "install them with: pip install wechatpy cryptography",
        file=sys.stderr,
    )
    sys.exit(3)

ACCOUNT = "gh_3c884a361561"  # our official account's original id (ToUserName)


def sign(*parts):
    s = WeChatSigner()
    s.add_data(*parts)
    return s.signature


def cdata(v):
    return "<![CDATA[{}]]>".format(str(v).replace("]]>", "]]]]><![CDATA[>"))


def message_xml(m, from_user, create_time):
    """The XML the platform posts for a message or event."""
    head = (
        f"<ToUserName>{cdata(ACCOUNT)}</ToUserName>"
        f"<FromUserName>{cdata(from_user)}</FromUserName>"
        f"<CreateTime>{create_time}</CreateTime>"
    )
    if m["type"] == "text":
        body = (
            f"<MsgType>{cdata('text')}</MsgType><Content>{cdata(m['content'])}</Content>"
            f"<MsgId>{m['msg_id']}</MsgId>"
        )
    elif m["event"] == "scancode_waitmsg":
        body = (
            f"<MsgType>{cdata('event')}</MsgType><Event>{cdata('scancode_waitmsg')}</Event>"
            f"<EventKey>{cdata(m.get('key', 'ZIZHI_SCAN'))}</EventKey>"
            f"<ScanCodeInfo><ScanType>{cdata(m.get('scan_type', 'qrcode'))}</ScanType>"
            f"<ScanResult>{cdata(m['scan_result'])}</ScanResult></ScanCodeInfo>"
        )
    else:
        body = (
            f"<MsgType>{cdata('event')}</MsgType><Event>{cdata(m['event'])}</Event>"
            f"<EventKey>{cdata(m.get('key', ''))}</EventKey>"
        )
    xml = f"<xml>{head}{body}</xml>"
    # What we send must be what the platform sends: wechatpy must read it as that message.
    parsed = parse_message(xml)
    if m["type"] == "text":
        assert parsed.type == "text" and parsed.content == m["content"], parsed
    else:
        assert parsed.type == "event" and parsed.event == m["event"].lower(), parsed
        if m["event"] == "scancode_waitmsg":
            assert parsed.scan_result == m["scan_result"], parsed
    return xml


def read_reply(body, crypto, mode):
    """Our reply as the platform reads it; raises when a safe-mode reply fails its checks."""
    if body == "success" or body == "":
        return None
    if mode == "aes":
        env = xmltodict.parse(body)["xml"]
        xml = crypto.decrypt_message(body, env["MsgSignature"], env["TimeStamp"], env["Nonce"])
    else:
        xml = body
    reply = xmltodict.parse(xml)["xml"]
    out = {k: reply.get(k) for k in ("ToUserName", "FromUserName", "CreateTime", "MsgType")}
    if reply.get("MsgType") == "text":
        out["Content"] = reply.get("Content")
    elif reply.get("MsgType") == "news":
        items = reply["Articles"]["item"]
        out["ArticleCount"] = reply.get("ArticleCount")
        out["Articles"] = items if isinstance(items, list) else [items]
    return out


def run(step, cfg, index):
    url = cfg["url"]
    token = cfg["token"]

    def signed_params():
        timestamp = str(int(time.time()) + step.get("timestamp_offset", 0))
        if step.get("tamper") == "timestamp":
            timestamp = str(int(time.time()) - 600)  # signed correctly, but ten minutes old
        nonce = uuid.uuid4().hex[:10]
        signature = sign(token, timestamp, nonce)
        if step.get("tamper") == "signature":
            signature = sign("not-the-token", timestamp, nonce)
        return timestamp, nonce, signature

    if step["op"] == "get":
        timestamp, nonce, signature = signed_params()
        params = {"signature": signature, "timestamp": timestamp, "nonce": nonce,
                  "echostr": step.get("echostr", "echo")}
        t0 = time.perf_counter()
        r = requests.get(url, params=params, timeout=10)
        return {"status": r.status_code, "body": r.text,
                "elapsed_ms": (time.perf_counter() - t0) * 1000, "reply": None}

    mode = step.get("mode", "plain")
    app_id = cfg["app_id"] if step.get("tamper") != "app_id" else "wx0000000000000000"
    crypto = WeChatCrypto(token, cfg["aes_key"], app_id)
    reader = WeChatCrypto(token, cfg["aes_key"], cfg["app_id"])
    from_user = step.get("from_user", "oZizhiTestFollower01")

    def message_body(message):
        # Events are told apart by sender and CreateTime (whole seconds), and one person
        # cannot scan twice in a second: give each step its own second unless the test fixes
        # one.
        return message_xml(message, from_user, step.get("create_time", cfg["create_base"] + index))

    def call(message=None):
        """One call as the platform makes it: fresh timestamp, nonce and signature."""
        timestamp, nonce, signature = signed_params()
        params = {"signature": signature, "timestamp": timestamp, "nonce": nonce,
                  "openid": from_user}
        if "raw_body" in step and message is None:
            body = step["raw_body"]
        else:
            body = message_body(message or step["message"])
        if mode == "aes":
            params["encrypt_type"] = "aes"
            if "raw_body" not in step or message is not None:
                # wechatpy builds <Encrypt>, <MsgSignature>, <TimeStamp>, <Nonce>; the
                # platform posts the Encrypt field and passes msg_signature in the query.
                env = xmltodict.parse(crypto.encrypt_message(body, nonce, timestamp))["xml"]
                params["msg_signature"] = env["MsgSignature"]
                body = (f"<xml><ToUserName>{cdata(ACCOUNT)}</ToUserName>"
                        f"<Encrypt>{cdata(env['Encrypt'])}</Encrypt></xml>")
            else:
                params["msg_signature"] = sign(token, timestamp, nonce, "")
            if step.get("tamper") == "msg_signature":
                params["msg_signature"] = sign("not-the-token", timestamp, nonce, "x")
        return params, body

    def post(params, body):
        t0 = time.perf_counter()
        r = requests.post(url, params=params, data=body.encode("utf-8"),
                          headers={"Content-Type": "text/xml"}, timeout=10)
        elapsed = (time.perf_counter() - t0) * 1000
        res = {"status": r.status_code, "body": r.text, "elapsed_ms": elapsed, "reply": None}
        if r.status_code == 200:
            try:
                res["reply"] = read_reply(r.text, reader, mode)
            except (InvalidSignatureException, InvalidAppIdException) as e:
                res["reply_error"] = type(e).__name__
        return res

    def several(results):
        return {"status": [r["status"] for r in results], "copies": results}

    params, body = call()
    if "repeat" in step:
        return several([post(params, body) for _ in range(step["repeat"])])
    if "replay_message" in step:
        first = post(params, body)
        _, other_body = call(step["replay_message"])
        return several([first, post(params, other_body)])
    copies = step.get("copies", 1)
    if copies == 1:
        return post(params, body)
    calls = [(params, body) if step.get("same_nonce") or i == 0 else call()
             for i in range(copies)]
    results = [None] * copies
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, post(*calls[i])))
               for i in range(copies)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return several(results)


def main():
    request = json.load(sys.stdin)
    # A base second in the recent past, different for each run of the peer.
    base = int(time.time()) - random.randrange(10_000, 1_000_000)
    out = []
    for i, step in enumerate(request["steps"]):
        cfg = dict(request["config"], create_base=base)
        if "url" in step:
            cfg["url"] = step["url"]
        out.append(run(step, cfg, i))
    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
