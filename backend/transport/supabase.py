"""SupabaseTransport: the same port over supabase-py, for a hosted Supabase project."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Mapping
from typing import Any

import httpx
from postgrest.exceptions import APIError
from realtime.types import RealtimeSubscribeStates
from supabase import Client, ClientOptions, create_client
from supabase_auth.errors import AuthApiError, AuthError

from shared.errors import KantaError, PermissionDenied, Unavailable, from_postgrest
from shared.transport import Callback, Subscription, Transport, User, check_call

log = logging.getLogger(__name__)


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(params, default=str))


class SupabaseTransport(Transport):
    """Staff sign in with a password; customers with a one-time code sent by e-mail."""

    def __init__(self, url: str, anon_key: str):
        self.url = url.rstrip("/")
        self.anon_key = anon_key
        self.client: Client = create_client(
            self.url, anon_key, ClientOptions(auto_refresh_token=False, persist_session=False)
        )
        self.user: User | None = None
        self._access_token: str | None = None
        self._realtime: _RealtimeThread | None = None

    def rpc(self, name: str, params: Mapping[str, Any] | None = None) -> Any:
        params = check_call(name, params)
        try:
            return self.client.rpc(name, _jsonable(params)).execute().data
        except APIError as exc:
            raise from_postgrest(exc.code, exc.message, exc.details) from exc
        except httpx.TransportError as exc:
            raise Unavailable(None, type(exc).__name__) from exc

    def _signed_in(self, response) -> User:
        if response.user is None or response.session is None:
            raise PermissionDenied("invalid_credentials")
        self._access_token = response.session.access_token
        self.user = User(id=response.user.id, email=response.user.email or "")
        if self._realtime is not None:
            self._realtime.set_auth(self._access_token)
        return self.user

    def sign_in(self, email: str, password: str) -> User:
        try:
            return self._signed_in(self.client.auth.sign_in_with_password({"email": email, "password": password}))
        except AuthApiError as exc:
            raise PermissionDenied("invalid_credentials") from exc
        except (AuthError, httpx.TransportError) as exc:
            raise Unavailable(None, type(exc).__name__) from exc

    def send_otp(self, email: str) -> None:
        try:
            self.client.auth.sign_in_with_otp({"email": email, "options": {"should_create_user": True}})
        except AuthApiError as exc:
            raise KantaError("invalid_email") from exc
        except (AuthError, httpx.TransportError) as exc:
            raise Unavailable(None, type(exc).__name__) from exc

    def verify_otp(self, email: str, code: str) -> User:
        try:
            return self._signed_in(self.client.auth.verify_otp({"email": email, "token": code, "type": "email"}))
        except AuthApiError as exc:
            raise PermissionDenied("invalid_otp") from exc
        except (AuthError, httpx.TransportError) as exc:
            raise Unavailable(None, type(exc).__name__) from exc

    def sign_out(self) -> None:
        try:
            self.client.auth.sign_out()
        except (AuthError, httpx.TransportError):
            pass  # the local session is dropped either way
        self.user = None
        self._access_token = None

    def subscribe(self, topic: str, callback: Callback) -> Subscription:
        if self._realtime is None:
            self._realtime = _RealtimeThread(self.url, self.anon_key, self._access_token)
        return self._realtime.subscribe(topic, callback)

    def close(self) -> None:
        if self._realtime is not None:
            self._realtime.stop()


class _RealtimeSubscription(Subscription):
    def __init__(self, owner: _RealtimeThread, channel):
        self.owner, self.channel = owner, channel

    def close(self) -> None:
        self.owner.run(self.channel.unsubscribe())


class _RealtimeThread:
    """supabase-py's Realtime is async-only: it lives on an event loop in its own thread.

    Topics are private broadcast channels, fed by `kanta.notify` via `realtime.send`, and
    authorised on the server by RLS on realtime.messages.
    """

    def __init__(self, url: str, anon_key: str, access_token: str | None):
        from realtime import AsyncRealtimeClient

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="kanta-realtime", daemon=True)
        self.thread.start()
        ws_url = url.replace("http", "ws", 1) + "/realtime/v1"
        self.client = AsyncRealtimeClient(ws_url, token=anon_key, auto_reconnect=True)
        if access_token:
            self.set_auth(access_token)

    def run(self, coro, timeout: float = 10.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def set_auth(self, token: str) -> None:
        self.run(self.client.set_auth(token))

    def subscribe(self, topic: str, callback: Callback) -> Subscription:
        async def join():
            await self.client.connect()
            channel = self.client.channel(topic, {"config": {"private": True, "broadcast": {"self": False}}})

            def on_broadcast(message: dict) -> None:
                callback({"topic": topic, "event": message.get("event"), "payload": message.get("payload", {})})

            states: list = []
            channel.on_broadcast("*", on_broadcast)
            await channel.subscribe(lambda state, _err: states.append(state))
            return channel, states

        try:
            channel, states = self.run(join())
        except Exception as exc:
            raise Unavailable(None, "realtime") from exc
        if RealtimeSubscribeStates.SUBSCRIBED not in states:
            self.run(self.client.remove_channel(channel))
            if RealtimeSubscribeStates.CHANNEL_ERROR in states:
                raise PermissionDenied("not_allowed_to_listen")
            raise Unavailable(None, "realtime")
        return _RealtimeSubscription(self, channel)

    def stop(self) -> None:
        try:
            self.run(self.client.close(), timeout=3)
        except Exception:  # closing a dead socket may fail; the loop stops regardless
            log.debug("realtime close failed", exc_info=True)
        self.loop.call_soon_threadsafe(self.loop.stop)
