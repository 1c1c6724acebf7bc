"""A local HTTP server that speaks the part of Stripe's protocol we use, for the tests.

- `POST /v1/checkout/sessions` (form-encoded, `Authorization: Bearer sk_…`), as the official client
  sends it: answers a Checkout Session object with a hosted-page `url` on this server.
- `POST /pay/<session id>`: the payer pays on the hosted page; the gateway then posts a signed
  `checkout.session.completed` event to the webhook URL and redirects to the session's success URL.
- `notice(...)`, `refund(...)`: the tests post events (also altered, replayed or forged ones) the way
  Stripe does: `Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.

The signer below is written from Stripe's documentation (docs.stripe.com/webhooks, "Verify webhook
signatures manually": the signed payload is the timestamp, a dot and the raw body; HMAC-SHA256 with
the endpoint's signing secret; hex; scheme v1), not taken from the stripe library, so that the
library's verification on our side checks it independently.
"""
import hashlib
import hmac
import json
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def stripe_signature(*, secret: str, body: bytes, timestamp: int) -> str:
    """The Stripe-Signature header for `body`, by the documented algorithm."""
    signed = str(timestamp).encode() + b"." + body
    return f"t={timestamp},v1={hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()}"


def _form_nested(pairs: list[tuple[str, str]]) -> dict:
    """`a[b][0][c]=v` pairs (Stripe's form encoding) back into nested dicts (lists as dicts keyed "0"…)."""
    root: dict = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return root


class FakeStripe:
    def __init__(self, *, api_key: str, webhook_secret: str):
        self.api_key, self.webhook_secret = api_key, webhook_secret
        self.webhook_url: str | None = None
        self.sessions: dict[str, dict] = {}
        self.requests: list[tuple[str, str, dict]] = []
        self.deliveries: list[tuple[int, str]] = []  # (HTTP status, body) of every notice we posted
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _json(self, status: int, payload: dict):
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                params = _form_nested(urllib.parse.parse_qsl(raw, keep_blank_values=True))
                gateway.requests.append(("POST", self.path, params))
                if self.path == "/v1/checkout/sessions":
                    if self.headers.get("Authorization") != f"Bearer {gateway.api_key}":
                        return self._json(401, {"error": {"type": "invalid_request_error",
                                                          "message": "Invalid API Key provided"}})
                    return self._json(200, gateway._session_create(params))
                if self.path.startswith("/pay/"):
                    session = gateway.sessions.get(self.path.removeprefix("/pay/"))
                    if session is None:
                        return self._json(404, {"error": {"message": "No such checkout session"}})
                    gateway.complete(session["id"])
                    self.send_response(303)
                    self.send_header("Location", session["success_url"])
                    self.end_headers()
                    return None
                return self._json(404, {"error": {"message": f"Unrecognized request URL (POST: {self.path})"}})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def _session_create(self, params: dict) -> dict:
        item = params["line_items"]["0"]
        session_id = "cs_test_" + secrets.token_hex(12)
        session = {
            "id": session_id, "object": "checkout.session", "mode": params["mode"],
            "url": f"{self.base}/pay/{session_id}", "client_reference_id": params.get("client_reference_id"),
            "metadata": params.get("metadata", {}), "success_url": params["success_url"],
            "cancel_url": params["cancel_url"], "currency": item["price_data"]["currency"],
            "amount_total": int(item["price_data"]["unit_amount"]) * int(item["quantity"]),
            "payment_status": "unpaid", "status": "open", "payment_intent": "pi_" + secrets.token_hex(12),
        }
        self.sessions[session_id] = session
        return session

    # --- notices, as Stripe posts them

    def event(self, event_type: str, obj: dict, *, event_id: str | None = None) -> dict:
        return {"id": event_id or "evt_" + secrets.token_hex(12), "object": "event", "api_version": "2025-09-30",
                "created": int(time.time()), "type": event_type, "livemode": False, "data": {"object": obj}}

    def post(self, event: dict, *, secret: str | None = None, timestamp: int | None = None,
             body: bytes | None = None, signature: str | None = None) -> tuple[int, str]:
        body = body if body is not None else json.dumps(event, indent=2).encode()
        header = signature or stripe_signature(secret=secret or self.webhook_secret, body=body,
                                               timestamp=int(time.time()) if timestamp is None else timestamp)
        request = urllib.request.Request(self.webhook_url, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8", "Stripe-Signature": header,
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"})
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                result = answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            result = error.code, error.read().decode()
        self.deliveries.append(result)
        return result

    def completed_event(self, session_id: str, *, amount_total: int | None = None, currency: str | None = None,
                        client_reference_id: str | None = None, event_id: str | None = None) -> dict:
        session = dict(self.sessions[session_id], payment_status="paid", status="complete")
        if amount_total is not None:
            session["amount_total"] = amount_total
        if currency is not None:
            session["currency"] = currency
        if client_reference_id is not None:
            session["client_reference_id"] = client_reference_id
            session["metadata"] = {"order_reference": client_reference_id}
        return self.event("checkout.session.completed", session, event_id=event_id)

    def complete(self, session_id: str, **changes) -> tuple[int, str]:
        self.sessions[session_id].update(payment_status="paid", status="complete")
        return self.post(self.completed_event(session_id, **changes))

    def refund_event(self, session_id: str) -> dict:
        session = self.sessions[session_id]
        charge = {"id": "ch_" + secrets.token_hex(12), "object": "charge", "amount": session["amount_total"],
                  "amount_refunded": session["amount_total"], "currency": session["currency"], "refunded": True,
                  "payment_intent": session["payment_intent"], "metadata": {}}
        return self.event("charge.refunded", charge)
