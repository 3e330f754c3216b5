"""The customer's screens and the ways between them: the wallet, a card and what it opens, the
profile, and joining from a link. It holds the state objects; each screen renders one."""

from __future__ import annotations

import asyncio

from mobile.app import App
from mobile.wallet.card import CardScreen
from mobile.wallet.cards import CardsScreen, JoinScreen
from mobile.wallet.drops import DropsScreen
from mobile.wallet.feedback import FeedbackScreen
from mobile.wallet.history import HistoryScreen, InboxScreen
from mobile.wallet.profile import ProfileScreen
from mobile.wallet.qr import QrScreen
from mobile.wallet.referral import ReferralScreen
from mobile.wallet.state import Card, Feedback, History, Inbox, Join, Wallet
from shared.errors import KantaError
from shared.transport import Transport


class Customer:
    def __init__(self, app: App, api: Transport):
        self.app, self.api = app, api
        self.wallet = Wallet(api)
        self.card = Card(api)
        self.cards_screen = CardsScreen(app, self.wallet, self)
        self.card_screen = CardScreen(app, self.card, self)
        self.qr_screen = QrScreen(app, self.card, self)
        self.referral_screen = ReferralScreen(app, self.card, self)
        self.drops_screen = DropsScreen(app, self.card, self)
        self.profile_screen = ProfileScreen(app, self.wallet, self)
        self.history_screen: HistoryScreen | None = None
        self.inbox_screen: InboxScreen | None = None
        self.feedback_screen: FeedbackScreen | None = None

    # ---- the ways between screens ------------------------------------------------------------

    def show_wallet(self) -> None:
        self.card.close()
        self.cards_screen.show()

    def join(self, join: Join) -> None:
        JoinScreen(self.app, join, self).show()

    def open_card(self, member_id: str) -> None:
        try:
            self.app.attempt(self.card.open, member_id, self._live_event)
        except KantaError:
            return
        self.show_card()

    def show_card(self) -> None:
        self.card_screen.show()

    def show_qr(self) -> None:
        self.qr_screen.show()

    def show_referral(self) -> None:
        self.referral_screen.show()

    def show_drops(self) -> None:
        self.drops_screen.show()

    def show_history(self) -> None:
        self.history_screen = HistoryScreen(self.app, History(self.api, self.card.member_id), self)
        self.history_screen.show()

    def show_inbox(self) -> None:
        self.inbox_screen = InboxScreen(self.app, Inbox(self.api, self.card.member_id), self)
        self.inbox_screen.show()

    def show_feedback(self) -> None:
        self.feedback_screen = FeedbackScreen(self.app, Feedback(self.api, self.card.member_id), self)
        self.feedback_screen.show()

    def show_profile(self) -> None:
        self.profile_screen.show()

    # ---- live updates ------------------------------------------------------------------------

    def _live_event(self, _event: dict) -> None:
        """From the live feed's thread: refresh the card on the page's loop."""
        self.app.page.run_task(self.refresh_card)

    async def refresh_card(self) -> None:
        if self.card.member_id is None:
            return
        try:
            fresh = await asyncio.to_thread(self.card.fetch)
        except KantaError:
            return
        before = self.card.card
        if self.app.screen == "qr" and before:
            # Stamped while the QR was up: back to the card, where the new stamp animates in.
            self.qr_screen.leave()
        self.card.card = fresh
        if self.app.screen == "card" and before and self.card_screen.can_animate(fresh):
            self.card_screen.animate_stamps(before, fresh)
        elif self.app.screen == "card":
            self.show_card()
        if before and fresh["stamps"] > before["stamps"]:
            self.app.toast(self.app.tr("new_stamp"))

    def close(self) -> None:
        self.card.close()
