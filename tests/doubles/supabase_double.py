"""TEST DOUBLE for hosted Supabase's services: PostgREST rpc, a GoTrue subset, and the Realtime websocket.

No PostgREST or GoTrue binary exists on this machine and Docker does not run, so supabase-py
talks to this small stand-in. It does per request what PostgREST does: check the JWT, open one
transaction, set the role and claims locally, call the SQL function, map errors to PostgREST's
JSON shape. Its Realtime speaks Phoenix channels (vsn 1.0.0) as realtime-py expects: a private
channel's join is authorised by `kanta.can_listen` run as the user (the rule the hosted policy on
realtime.messages applies), and broadcasts come from the database's NOTIFY feed. Everything
behind it is the real embedded Postgres with the real migrations.
Only our own project's tests use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import socket
import threading
import time
import uuid

import jwt
import psycopg
import uvicorn
from psycopg import sql
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from backend.auth_local import LocalAuth
from backend.transport.postgres import begin_request, function_call
from shared.errors import KantaError


def _status_for(sqlstate: str, role: str) -> int:
    """PostgREST's SQLSTATE -> HTTP status table, the parts our API can raise."""
    if sqlstate == "42501":
        return 401 if role == "anon" else 403
    if sqlstate == "42883":
        return 404
    if sqlstate.startswith(("08", "53", "57")):
        return 503
    if sqlstate == "23505":
        return 409
    if sqlstate.startswith("PT") and sqlstate[2:].isdigit():
        return int(sqlstate[2:])
    return 400


class SupabaseDouble:
    def __init__(self, conninfo: str, admin_conninfo: str):
        self.conninfo = conninfo  # as `authenticator`, like PostgREST
        self.auth = LocalAuth(admin_conninfo, bcrypt_rounds=4)
        self.admin_conninfo = admin_conninfo
        self.jwt_secret = secrets.token_urlsafe(32)
        self.anon_key = self._sign({"role": "anon", "iss": "supabase-double"}, ttl=86400)
        self.service_key = self._sign({"role": "service_role", "iss": "supabase-double"}, ttl=86400)
        # The mail catcher: e-mail -> the last one-time code "sent" (as Inbucket does locally).
        self.outbox: dict[str, str] = {}
        self.requests = 0
        self.app = Starlette(
            routes=[
                Route("/rest/v1/rpc/{fn}", self.rpc, methods=["POST"]),
                Route("/rest/v1/{table}", self.table, methods=["GET", "POST", "PATCH", "DELETE"]),
                Route("/auth/v1/token", self.token, methods=["POST"]),
                Route("/auth/v1/otp", self.otp, methods=["POST"]),
                Route("/auth/v1/verify", self.verify, methods=["POST"]),
                Route("/auth/v1/logout", self.logout, methods=["POST"]),
                WebSocketRoute("/realtime/v1/websocket", self.realtime),
            ]
        )
        # Realtime: live sockets and the channels each has joined (topic -> join_ref).
        self.sockets: dict[WebSocket, dict[str, str]] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self._feed_stop = threading.Event()
        self._server: uvicorn.Server | None = None
        self.url = ""

    # ---- lifecycle --------------------------------------------------------------------------

    def start(self) -> SupabaseDouble:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self._server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=port, log_level="warning"))
        threading.Thread(target=self._server.run, daemon=True).start()
        for _ in range(200):
            if self._server.started:
                break
            time.sleep(0.01)
        self.url = f"http://127.0.0.1:{port}"
        self._feed_ready = threading.Event()
        self._feed_thread = threading.Thread(target=self._feed, daemon=True)
        self._feed_thread.start()
        self._feed_ready.wait(5)
        return self

    def stop(self) -> None:
        self._feed_stop.set()
        self._feed_thread.join(5)
        if self._server:
            self._server.should_exit = True

    # ---- JWT --------------------------------------------------------------------------------

    def _sign(self, claims: dict, ttl: int = 3600) -> str:
        now = int(time.time())
        return jwt.encode({**claims, "iat": now, "exp": now + ttl}, self.jwt_secret, algorithm="HS256")

    def _claims(self, request: Request) -> dict | None:
        if request.headers.get("apikey") not in (self.anon_key, self.service_key):
            return None
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip() or self.anon_key
        try:
            return jwt.decode(token, self.jwt_secret, algorithms=["HS256"], options={"verify_aud": False})
        except jwt.PyJWTError:
            return None

    # ---- PostgREST --------------------------------------------------------------------------

    async def rpc(self, request: Request) -> Response:
        self.requests += 1
        claims = self._claims(request)
        if claims is None:
            return JSONResponse({"code": "PGRST301", "message": "JWT invalid", "details": None, "hint": None}, 401)
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return JSONResponse({"code": "PGRST102", "message": "Invalid body", "details": None, "hint": None}, 400)
        if not isinstance(body, dict):
            return JSONResponse({"code": "PGRST102", "message": "Invalid body", "details": None, "hint": None}, 400)
        fn = request.path_params["fn"]
        call, values = function_call(fn, body)
        try:
            with psycopg.connect(self.conninfo) as conn:
                begin_request(conn, claims)
                row = conn.execute(sql.SQL("select {}").format(call), values).fetchone()
        except psycopg.Error as exc:
            state = exc.sqlstate or "08000"
            if state == "42883":
                return JSONResponse(
                    {
                        "code": "PGRST202",
                        "message": f"Could not find the function public.{fn}",
                        "details": None,
                        "hint": None,
                    },
                    404,
                )
            return JSONResponse(
                {"code": state, "message": exc.diag.message_primary, "details": exc.diag.message_detail, "hint": None},
                _status_for(state, claims.get("role", "anon")),
            )
        return Response(json.dumps(row[0] if row else None), media_type="application/json")

    async def table(self, request: Request) -> Response:
        # Only `public` is exposed and it holds no tables: the kanta schema is unreachable over REST.
        self.requests += 1
        table = request.path_params["table"]
        return JSONResponse(
            {
                "code": "PGRST205",
                "message": f"Could not find the table 'public.{table}' in the schema cache",
                "details": None,
                "hint": None,
            },
            404,
        )

    # ---- GoTrue -----------------------------------------------------------------------------

    def _session(self, user_id: str, email: str) -> JSONResponse:
        claims = {"sub": user_id, "email": email, "role": "authenticated", "aud": "authenticated"}
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        user = {
            "id": user_id,
            "aud": "authenticated",
            "role": "authenticated",
            "email": email,
            "app_metadata": {"provider": "email"},
            "user_metadata": {},
            "created_at": now,
            "email_confirmed_at": now,
            "last_sign_in_at": now,
        }
        return JSONResponse(
            {
                "access_token": self._sign(claims),
                "token_type": "bearer",
                "expires_in": 3600,
                "expires_at": int(time.time()) + 3600,
                "refresh_token": uuid.uuid4().hex,
                "user": user,
            }
        )

    @staticmethod
    def _auth_error(code: str, status: int = 400) -> JSONResponse:
        return JSONResponse({"code": status, "error_code": code, "msg": code}, status)

    async def token(self, request: Request) -> Response:
        if request.query_params.get("grant_type") != "password":
            return self._auth_error("unsupported_grant_type")
        body = await request.json()
        try:
            user = self.auth.verify(body.get("email", ""), body.get("password", ""))
        except KantaError:
            return self._auth_error("invalid_credentials")
        return self._session(user.id, user.email)

    async def otp(self, request: Request) -> Response:
        body = await request.json()
        email = (body.get("email") or "").strip().lower()
        with psycopg.connect(self.admin_conninfo) as conn:
            exists = conn.execute("select 1 from auth.users where lower(email) = %s", (email,)).fetchone()
            if not exists:
                if not body.get("create_user", True):
                    return self._auth_error("otp_disabled", 422)
                conn.execute(
                    "insert into auth.users (email, raw_app_meta_data) values (%s, %s)",
                    (email, json.dumps({"provider": "email"})),
                )
        self.outbox[email] = f"{secrets.randbelow(10**6):06d}"
        return JSONResponse({})

    async def verify(self, request: Request) -> Response:
        body = await request.json()
        email = (body.get("email") or "").strip().lower()
        if not email or self.outbox.get(email) != body.get("token"):
            return self._auth_error("otp_expired", 403)
        del self.outbox[email]
        with psycopg.connect(self.admin_conninfo) as conn:
            row = conn.execute(
                "update auth.users set email_confirmed_at = coalesce(email_confirmed_at, now()),"
                " last_sign_in_at = now() where lower(email) = %s returning id",
                (email,),
            ).fetchone()
        return self._session(str(row[0]), email)

    async def logout(self, request: Request) -> Response:
        return Response(status_code=204)

    # ---- Realtime ---------------------------------------------------------------------------

    def _may_listen(self, token: str | None, topic: str) -> bool:
        try:
            claims = jwt.decode(token or "", self.jwt_secret, algorithms=["HS256"], options={"verify_aud": False})
        except jwt.PyJWTError:
            return False
        try:
            with psycopg.connect(self.conninfo) as conn:
                begin_request(conn, claims)
                return bool(conn.execute("select kanta.can_listen(%s)", (topic,)).fetchone()[0])
        except psycopg.Error:
            return False

    async def realtime(self, ws: WebSocket) -> None:
        if ws.query_params.get("apikey") not in (self.anon_key, self.service_key):
            await ws.close(code=4001)
            return
        await ws.accept()
        self.loop = asyncio.get_running_loop()
        joined: dict[str, str] = {}
        self.sockets[ws] = joined
        token = ws.query_params.get("apikey")
        try:
            while True:
                msg = json.loads(await ws.receive_text())
                topic, event, ref = msg.get("topic", ""), msg.get("event"), msg.get("ref")
                payload = msg.get("payload") or {}
                reply = {"status": "ok", "response": {}}
                if event == "phx_join":
                    token = payload.get("access_token") or token
                    name = topic.removeprefix("realtime:")
                    private = (payload.get("config") or {}).get("private", False)
                    allowed = await asyncio.to_thread(self._may_listen, token, name) if private else False
                    if allowed:
                        joined[name] = msg.get("join_ref") or ref
                        reply = {"status": "ok", "response": {"postgres_changes": []}}
                    else:
                        reply = {"status": "error", "response": {"reason": "Unauthorized: you do not have permissions"}}
                elif event == "phx_leave":
                    joined.pop(topic.removeprefix("realtime:"), None)
                elif event == "access_token":
                    token = payload.get("access_token") or token
                    continue
                await ws.send_text(
                    json.dumps(
                        {
                            "topic": topic,
                            "event": "phx_reply",
                            "payload": reply,
                            "ref": ref,
                            "join_ref": msg.get("join_ref"),
                        }
                    )
                )
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            self.sockets.pop(ws, None)

    def _feed(self) -> None:
        """The database's NOTIFY feed, forwarded to every socket that joined the topic."""
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            conn.execute("listen kanta")
            self._feed_ready.set()
            while not self._feed_stop.is_set():
                for note in conn.notifies(timeout=0.2):
                    event = json.loads(note.payload)
                    frame = json.dumps(
                        {
                            "topic": f"realtime:{event['topic']}",
                            "event": "broadcast",
                            "ref": None,
                            "payload": {"type": "broadcast", "event": event["event"], "payload": event["payload"]},
                        }
                    )
                    for ws, joined in list(self.sockets.items()):
                        if event["topic"] in joined and self.loop:
                            asyncio.run_coroutine_threadsafe(ws.send_text(frame), self.loop)


@contextlib.contextmanager
def running_double(conninfo: str, admin_conninfo: str):
    double = SupabaseDouble(conninfo, admin_conninfo).start()
    try:
        yield double
    finally:
        double.stop()
