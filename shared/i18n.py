"""Finnish and English texts, including the message for every stable error code."""

from __future__ import annotations

from shared.errors import KantaError

LANGUAGES = ("fi", "en")
DEFAULT_LANGUAGE = "fi"

# code -> {language: text}. Every code the SQL raises must be here (a test checks it).
ERRORS: dict[str, dict[str, str]] = {
    "unexpected_error": {"fi": "Jokin meni pieleen. Yritä uudelleen.", "en": "Something went wrong. Please try again."},
    "permission_denied": {"fi": "Sinulla ei ole oikeutta tähän.", "en": "You are not allowed to do that."},
    "invalid_input": {"fi": "Tarkista syöttämäsi tiedot.", "en": "Please check what you entered."},
    "not_found": {"fi": "Ei löytynyt.", "en": "Not found."},
    "conflict": {
        "fi": "Tämä on jo tehty tai ristiriidassa toisen muutoksen kanssa.",
        "en": "This was already done or clashes with another change.",
    },
    "unavailable": {
        "fi": "Yhteys palvelimeen katkesi. Yritä hetken päästä uudelleen.",
        "en": "Cannot reach the server. Please try again in a moment.",
    },
    "not_signed_in": {"fi": "Kirjaudu ensin sisään.", "en": "Please sign in first."},
    "invalid_credentials": {"fi": "Väärä sähköposti tai salasana.", "en": "Wrong e-mail or password."},
    "invalid_email": {"fi": "Sähköpostiosoite ei kelpaa.", "en": "That e-mail address is not valid."},
    "weak_password": {
        "fi": "Salasanassa pitää olla vähintään 8 merkkiä.",
        "en": "The password needs at least 8 characters.",
    },
    "email_taken": {"fi": "Tällä sähköpostilla on jo tili.", "en": "An account with this e-mail already exists."},
    "invalid_otp": {"fi": "Koodi on väärä tai vanhentunut.", "en": "The code is wrong or has expired."},
    "not_allowed_to_listen": {"fi": "Et voi seurata tätä.", "en": "You cannot follow this."},
    "owner_only": {"fi": "Vain omistaja voi tehdä tämän.", "en": "Only the owner can do this."},
    "staff_only": {"fi": "Vain henkilökunta voi tehdä tämän.", "en": "Only staff can do this."},
    "invalid_business_name": {
        "fi": "Yrityksen nimessä pitää olla 1–80 merkkiä.",
        "en": "The business name needs 1–80 characters.",
    },
    "invalid_slug": {
        "fi": "Osoitetunnuksessa saa olla vain pieniä kirjaimia, numeroita ja viivoja (3–40 merkkiä).",
        "en": "The web name may hold only lower-case letters, digits and dashes (3–40 characters).",
    },
    "invalid_timezone": {"fi": "Tuntematon aikavyöhyke.", "en": "Unknown time zone."},
    "invalid_currency": {
        "fi": "Valuutan pitää olla kolmikirjaiminen koodi, esim. EUR.",
        "en": "The currency must be a three-letter code such as EUR.",
    },
    "slug_taken": {"fi": "Tämä osoitetunnus on jo käytössä.", "en": "This web name is already taken."},
    "invalid_role": {"fi": "Roolin pitää olla omistaja tai henkilökunta.", "en": "The role must be owner or staff."},
    "user_not_found": {
        "fi": "Käyttäjää ei löytynyt. Pyydä häntä ensin luomaan tili.",
        "en": "No such user. Ask them to create an account first.",
    },
    "business_not_found": {"fi": "Yritystä ei löytynyt.", "en": "Business not found."},
    "invalid_display_name": {
        "fi": "Nimessä saa olla enintään 80 merkkiä.",
        "en": "The name may have at most 80 characters.",
    },
    "invalid_settings": {
        "fi": "Asetukset puuttuvat tai ovat väärässä muodossa.",
        "en": "The settings are missing or malformed.",
    },
    "unknown_setting": {"fi": "Tuntematon asetus.", "en": "Unknown setting."},
    "setting_out_of_range": {
        "fi": "Asetuksen arvo on sallitun alueen ulkopuolella.",
        "en": "A setting is outside its allowed range.",
    },
    "setting_not_a_number": {"fi": "Asetuksen arvon pitää olla numero.", "en": "A setting must be a number."},
    "invalid_tiers": {
        "fi": "Tasot eivät kelpaa: nimet eri, rajat nousevat nollasta, kerroin 1–5.",
        "en": "The tiers are not valid: distinct names, thresholds rising from 0, multipliers 1–5.",
    },
    "invalid_rewards": {
        "fi": "Palkinnoilla pitää olla nimi ja pistehinta.",
        "en": "Each reward needs a name and a points price.",
    },
    "invalid_page_size": {"fi": "Sivun koko ei kelpaa.", "en": "Invalid page size."},
    "invalid_idempotency_key": {
        "fi": "Tapahtumatunniste puuttuu tai ei kelpaa.",
        "en": "The operation key is missing or invalid.",
    },
    "idempotency_key_reused": {
        "fi": "Tapahtumatunniste on jo käytetty toiseen toimintoon.",
        "en": "This operation key was already used for something else.",
    },
    "ledger_is_append_only": {"fi": "Tapahtumahistoriaa ei voi muuttaa.", "en": "The history cannot be changed."},
    "ledger_mismatch": {
        "fi": "Saldot eivät täsmää tapahtumiin; mitään ei tallennettu.",
        "en": "Balances would not match the history; nothing was saved.",
    },
    "member_not_found": {"fi": "Jäsentä ei löytynyt.", "en": "Member not found."},
    "invalid_code": {
        "fi": "Koodia ei tunnistettu. Skannaa QR-koodi tai syötä jäsennumero.",
        "en": "Code not recognised. Scan the QR code or type the member number.",
    },
    "token_unknown": {
        "fi": "Tuntematon QR-koodi. Pyydä asiakasta avaamaan koodi uudelleen.",
        "en": "Unknown QR code. Ask the customer to open their code again.",
    },
    "token_wrong_business": {
        "fi": "Tämä QR-koodi on toisen yrityksen kortista.",
        "en": "This QR code belongs to another business's card.",
    },
    "token_used": {
        "fi": "Tämä QR-koodi on jo käytetty. Pyydä asiakkaalta uusi koodi.",
        "en": "This QR code was already used. Ask the customer for a fresh one.",
    },
    "token_expired": {
        "fi": "QR-koodi on vanhentunut. Pyydä asiakkaalta uusi koodi.",
        "en": "This QR code has expired. Ask the customer for a fresh one.",
    },
    "member_number_needs_confirmation": {
        "fi": "Vahvista, että jäsennumero kuuluu asiakkaalle.",
        "en": "Confirm that the member number belongs to this customer.",
    },
    "invalid_amount": {
        "fi": "Summan pitää olla 0,01–1 000 000 €.",
        "en": "The amount must be between 0.01 and 1,000,000.",
    },
    "velocity_limit": {
        "fi": "Liian monta ostosta tai leimaa liian nopeasti. Omistaja voi ohittaa rajan.",
        "en": "Too many purchases or stamps too quickly. The owner can override the limit.",
    },
    # issue 15: counter (error codes; the screen's strings are in TEXTS, after the counter's)
    "own_card": {
        "fi": "Et voi kirjata omalle kortillesi. Omistaja voi palvella sinut.",
        "en": "You cannot serve your own card. The owner can serve you.",
    },
    "large_amount_needs_confirmation": {
        "fi": "Summa on tavallista suurempi. Vahvista, että se on oikein.",
        "en": "This amount is larger than usual. Confirm that it is right.",
    },
    "voucher_not_found": {"fi": "Kuponkia ei löytynyt.", "en": "Voucher not found."},
    "voucher_already_redeemed": {"fi": "Kuponki on jo käytetty.", "en": "This voucher was already redeemed."},
    "voucher_void": {"fi": "Kuponki on mitätöity.", "en": "This voucher has been cancelled."},
    "voucher_expired": {"fi": "Kuponki on vanhentunut.", "en": "This voucher has expired."},
    "reward_not_found": {"fi": "Palkintoa ei löytynyt.", "en": "Reward not found."},
    "insufficient_points": {"fi": "Pisteet eivät riitä.", "en": "Not enough points."},
    "purchase_not_found": {"fi": "Ostosta ei löytynyt.", "en": "Purchase not found."},
    "already_refunded": {"fi": "Ostos on jo hyvitetty.", "en": "This purchase was already refunded."},
    "referral_code_unknown": {"fi": "Kutsukoodia ei löytynyt.", "en": "Invitation code not found."},
    "self_referral": {"fi": "Et voi kutsua itseäsi.", "en": "You cannot invite yourself."},
    "already_member": {
        "fi": "Olet jo jäsen, joten kutsuetu on uusille asiakkaille.",
        "en": "You are already a member; the invitation offer is for new customers.",
    },
    "referral_cap_reached": {
        "fi": "Kutsujan tämän kuun kutsuetu on jo käytetty. Voit silti liittyä.",
        "en": "The inviter has used this month's invitations. You can still join.",
    },
    "vip_until_in_past": {
        "fi": "VIP-jäsenyyden päättymisen pitää olla tulevaisuudessa.",
        "en": "The VIP end date must be in the future.",
    },
    "note_too_long": {"fi": "Huomautus on liian pitkä.", "en": "The note is too long."},
    "invalid_drop_windows": {
        "fi": "VIP-aika alkaa ennen yleistä myyntiä, ja myynti loppuu niiden jälkeen.",
        "en": "The VIP window must start before the public one, and both before the end.",
    },
    "invalid_drop": {
        "fi": "Tarkista pudotuksen nimi, kuvaus, varasto ja ostoraja.",
        "en": "Check the drop's title, description, stock and per-member limit.",
    },
    "invalid_quantity": {"fi": "Määrän pitää olla 1–100.", "en": "The quantity must be 1–100."},
    "drop_not_found": {"fi": "Pudotusta ei löytynyt.", "en": "Drop not found."},
    "drop_not_open": {"fi": "Varaus ei ole vielä auki.", "en": "Reservations are not open yet."},
    "drop_closed": {"fi": "Varausaika on päättynyt.", "en": "Reservations have closed."},
    "early_access_only": {
        "fi": "Nyt varaavat vain VIP-jäsenet. Yleinen varaus avautuu pian.",
        "en": "Only VIP members can reserve now. Public reservations open soon.",
    },
    "reservation_limit": {"fi": "Olet jo varannut enimmäismäärän.", "en": "You have already reserved the maximum."},
    "sold_out": {"fi": "Loppuunvarattu.", "en": "Sold out."},
    "reservation_not_found": {"fi": "Varausta ei löytynyt.", "en": "Reservation not found."},
    "already_picked_up": {"fi": "Varaus on jo noudettu.", "en": "This reservation was already picked up."},
    "invalid_birthday": {"fi": "Syntymäpäivä ei kelpaa.", "en": "That birthday is not valid."},
    "invalid_phone": {"fi": "Puhelinnumero ei kelpaa.", "en": "That phone number is not valid."},
    "message_not_found": {"fi": "Viestiä ei löytynyt.", "en": "Message not found."},
    "invalid_message": {
        "fi": "Viestissä pitää olla otsikko (enintään 120 merkkiä) ja teksti (enintään 2000).",
        "en": "A message needs a title (up to 120 characters) and a text (up to 2,000).",
    },
    "invalid_target": {
        "fi": "Valitse vastaanottajat: kaikki, VIP, taso tai yksi jäsen.",
        "en": "Choose the recipients: everyone, VIPs, a tier or one member.",
    },
    "invalid_score": {"fi": "Anna arvosana 0–10.", "en": "Give a score from 0 to 10."},
    "comment_too_long": {
        "fi": "Kommentti on liian pitkä (enintään 1000 merkkiä).",
        "en": "The comment is too long (up to 1,000 characters).",
    },
    "no_recent_visit": {"fi": "Palautetta voi antaa käynnin jälkeen.", "en": "Feedback can be given after a visit."},
    "feedback_already_given": {
        "fi": "Kiitos, olet jo antanut palautetta tänään.",
        "en": "Thank you, you already gave feedback today.",
    },
    "feedback_not_found": {"fi": "Palautetta ei löytynyt.", "en": "Feedback not found."},
    "owner_cannot_delete": {
        "fi": "Omistajan tiliä ei voi poistaa, ennen kuin yritykselle on toinen omistaja.",
        "en": "An owner's account cannot be deleted until the business has another owner.",
    },
    "invalid_segment": {"fi": "Tuntematon asiakasryhmä.", "en": "Unknown segment."},
    "invalid_churn_factor": {"fi": "Kertoimen pitää olla 1–10.", "en": "The factor must be between 1 and 10."},
    "invalid_period": {
        "fi": "Aikavälin alun pitää olla ennen loppua (enintään 3 vuotta).",
        "en": "The period must start before it ends (3 years at most).",
    },
    "invalid_bucket": {"fi": "Valitse päivä, viikko tai kuukausi.", "en": "Choose day, week or month."},
    "invalid_metric": {"fi": "Tuntematon mittari.", "en": "Unknown metric."},
    "invalid_review_url": {
        "fi": "Arvostelulinkin pitää olla https-osoite (enintään 500 merkkiä).",
        "en": "The review link must be an https address (up to 500 characters).",
    },
    "invalid_webhook_secret": {
        "fi": "WooCommerce-salaisuudessa pitää olla 16–200 merkkiä.",
        "en": "The WooCommerce secret needs 16–200 characters.",
    },
    "invalid_woocommerce_amount": {
        "fi": "Valitse summaksi 'net' (ilman toimitusta ja veroja) tai 'total'.",
        "en": "Choose 'net' (without shipping and tax) or 'total' as the amount.",
    },
    "webhook_not_configured": {
        "fi": "WooCommerce-yhteyttä ei ole asetettu tälle yritykselle.",
        "en": "WooCommerce is not connected for this business.",
    },
    "bad_signature": {
        "fi": "Allekirjoitus puuttuu tai ei täsmää; mitään ei tallennettu.",
        "en": "The signature is missing or wrong; nothing was recorded.",
    },
    "invalid_webhook_payload": {
        "fi": "Tilauksen tiedot eivät kelpaa.",
        "en": "The order data is not valid.",
    },
    "invalid_export_format": {
        "fi": "Valitse muodoksi mailchimp, brevo tai csv.",
        "en": "Choose mailchimp, brevo or csv as the format.",
    },
    "cannot_remove_self": {
        "fi": "Et voi poistaa itseäsi henkilökunnasta.",
        "en": "You cannot remove yourself from the staff.",
    },
    "staff_not_found": {"fi": "Henkilöä ei löytynyt henkilökunnasta.", "en": "That person is not on the staff."},
    "search_too_short": {
        "fi": "Kirjoita vähintään 3 merkkiä nimestä, sähköpostista tai jäsennumerosta.",
        "en": "Type at least 3 characters of a name, e-mail or member number.",
    },
    "invalid_reward_title": {
        "fi": "Anna palkinnolle nimi (1–80 merkkiä).",
        "en": "Give the reward a name (1–80 characters).",
    },
    "no_marketing_consent": {
        "fi": "Asiakas ei ole antanut lupaa markkinointiviesteihin.",
        "en": "This customer has not agreed to marketing messages.",
    },
    "win_back_recently_sent": {
        "fi": "Paluuviesti on jo lähetetty viimeisen 60 päivän aikana.",
        "en": "A win-back message was already sent in the last 60 days.",
    },
    "invalid_cursor": {"fi": "Sivutustieto ei kelpaa.", "en": "That page marker is not valid."},
}

TEXTS: dict[str, dict[str, str]] = {
    "app_title": {"fi": "Kanta", "en": "Kanta"},
    "tagline": {"fi": "Kanta-asiakkaan lompakko", "en": "The regular customer's wallet"},
    "db_status": {"fi": "Tietokanta", "en": "Database"},
    "db_ok": {"fi": "käynnissä", "en": "running"},
    "coming_soon": {
        "fi": "Kortit ja kassanäkymä tulevat tähän pian.",
        "en": "Cards and the counter screen arrive here soon.",
    },
    "language": {"fi": "Kieli", "en": "Language"},
    # The referral landing page (GET /r/{code}).
    "landing_title": {"fi": "Liity kanta-asiakkaaksi: {business}", "en": "Become a regular at {business}"},
    "landing_title_from": {
        "fi": "{inviter} kutsuu sinut kanta-asiakkaaksi: {business}",
        "en": "{inviter} invites you to {business}",
    },
    "landing_offer": {"fi": "Liittymislahja: {reward}", "en": "Your welcome gift: {reward}"},
    "landing_image_alt": {"fi": "QR-koodi: liity kanta-asiakkaaksi ({business})", "en": "QR code to join {business}"},
    "landing_explain": {
        "fi": "Leimat, pisteet ja edut puhelimessasi. Liittyminen on ilmaista.",
        "en": "Stamps, points and perks on your phone. Joining is free.",
    },
    "landing_join": {"fi": "Liity nyt", "en": "Join now"},
    "landing_unknown_title": {"fi": "Kutsulinkkiä ei löytynyt", "en": "This invite link was not found"},
    "landing_unknown_text": {
        "fi": "Linkki voi olla vanhentunut tai kirjoitettu väärin. Pyydä ystävältäsi uusi linkki.",
        "en": "The link may be old or mistyped. Ask your friend to share it again.",
    },
    "landing_open_app": {"fi": "Avaa Kanta", "en": "Open Kanta"},
    # ---- the customer wallet ----
    "email": {"fi": "Sähköposti", "en": "E-mail"},
    "password": {"fi": "Salasana", "en": "Password"},
    "sign_in": {"fi": "Kirjaudu sisään", "en": "Sign in"},
    "sign_up": {"fi": "Luo tili", "en": "Create account"},
    "sign_out": {"fi": "Kirjaudu ulos", "en": "Sign out"},
    "send_code": {"fi": "Lähetä kirjautumiskoodi", "en": "Send me a sign-in code"},
    "code_sent": {"fi": "Koodi lähetettiin osoitteeseen {email}.", "en": "We sent a code to {email}."},
    "otp_code": {"fi": "Koodi", "en": "Code"},
    "verify_code": {"fi": "Kirjaudu koodilla", "en": "Sign in with the code"},
    "your_name": {"fi": "Nimesi (vapaaehtoinen)", "en": "Your name (optional)"},
    "join_title": {"fi": "Liity: {business}", "en": "Join {business}"},
    "join_button": {"fi": "Liity kanta-asiakkaaksi", "en": "Become a regular"},
    "join_gift": {
        "fi": "Liittymislahja ensimmäisen ostoksesi yhteydessä: {reward}",
        "en": "Welcome gift with your first purchase: {reward}",
    },
    "joined": {"fi": "Tervetuloa! Korttisi on valmis.", "en": "Welcome! Your card is ready."},
    "my_cards": {"fi": "Korttini", "en": "My cards"},
    "no_cards": {
        "fi": "Sinulla ei vielä ole kortteja. Skannaa kahvilan liittymiskoodi tai avaa ystävän kutsulinkki.",
        "en": "No cards yet. Scan a café's join code or open a friend's invite link.",
    },
    "stamps_of": {"fi": "{stamps}/{per_card} leimaa", "en": "{stamps}/{per_card} stamps"},
    "points_n": {"fi": "{points} pistettä", "en": "{points} points"},
    "vouchers_n": {"fi": "{n} etua", "en": "{n} rewards"},
    "points": {"fi": "Pisteet", "en": "Points"},
    "stamp_card": {"fi": "Leimakortti", "en": "Stamp card"},
    "reward_on_full": {"fi": "Täydestä kortista: {reward}", "en": "A full card gives: {reward}"},
    "stamped": {"fi": "leimattu", "en": "stamped"},
    "empty_slot": {"fi": "tyhjä", "en": "empty"},
    "reward_slot": {"fi": "palkinto", "en": "reward"},
    "points_to_tier": {"fi": "{points} pistettä tasoon {tier}", "en": "{points} points to {tier}"},
    "top_tier": {"fi": "Olet korkeimmalla tasolla: {tier}", "en": "You are at the top tier: {tier}"},
    "tier": {"fi": "Taso", "en": "Tier"},
    "perk_early_access": {"fi": "Ennakkovaraus uutuuksiin", "en": "Early access to new drops"},
    "perk_free_refill": {"fi": "Ilmainen santsikuppi", "en": "Free refill"},
    "vouchers": {"fi": "Etusi", "en": "Your rewards"},
    "no_vouchers": {"fi": "Ei lunastettavia etuja juuri nyt.", "en": "No rewards to use right now."},
    "valid_until": {"fi": "Voimassa {when} asti", "en": "Valid until {when}"},
    "show_voucher": {"fi": "Näytä kassalla", "en": "Show at the counter"},
    "rewards_you_can_get": {"fi": "Pisteillä saat", "en": "Your points buy"},
    "cost_points": {"fi": "{points} p", "en": "{points} pts"},
    "show_qr": {"fi": "Näytä QR-koodi", "en": "Show my QR"},
    "qr_title": {"fi": "Näytä tämä kassalla", "en": "Show this at the counter"},
    "qr_countdown": {"fi": "Uusi koodi {seconds} s päästä", "en": "New code in {seconds} s"},
    "qr_offline": {
        "fi": "Ei yhteyttä. Koodi päivittyy, kun yhteys palaa. Kassalla voit kertoa jäsennumerosi: {number}",
        "en": "Offline. The code refreshes when you are back online. At the counter, give your member number: {number}",
    },
    "member_number": {"fi": "Jäsennumero {number}", "en": "Member number {number}"},
    "close": {"fi": "Sulje", "en": "Close"},
    "back": {"fi": "Takaisin", "en": "Back"},
    "refer": {"fi": "Kutsu ystävä", "en": "Invite a friend"},
    "refer_explain": {
        "fi": "Ystäväsi saa: {welcome}. Sinä saat: {referrer}. Molemmat edut tulevat hänen ensimmäisestä ostoksestaan.",
        "en": "Your friend gets: {welcome}. You get: {referrer}. Both come with their first purchase.",
    },
    "share_text": {
        "fi": "Liity kanssani kanta-asiakkaaksi: {business}! Saat liittymislahjan: {reward}.",
        "en": "Join me as a regular at {business}! You get a welcome gift: {reward}.",
    },
    "share_subject": {"fi": "Kutsu: {business}", "en": "An invite to {business}"},
    "share_whatsapp": {"fi": "WhatsApp", "en": "WhatsApp"},
    "share_facebook": {"fi": "Facebook", "en": "Facebook"},
    "share_x": {"fi": "X", "en": "X"},
    "share_email": {"fi": "Sähköposti", "en": "E-mail"},
    "copy_link": {"fi": "Kopioi linkki", "en": "Copy link"},
    "copied": {"fi": "Linkki kopioitu", "en": "Link copied"},
    "referral_stats": {
        "fi": "Liittyi linkilläsi {invited} · odottaa ostosta {pending} · palkittu {rewarded}",
        "en": "Joined with your link {invited} · awaiting a purchase {pending} · rewarded {rewarded}",
    },
    "drops": {"fi": "Uutuudet", "en": "Drops"},
    "vip_badge": {"fi": "VIP", "en": "VIP"},
    "no_drops": {"fi": "Ei tulevia uutuuksia.", "en": "No drops coming up."},
    "drop_opens": {"fi": "Varaus aukeaa sinulle {when}", "en": "Opens for you {when}"},
    "drop_public_opens": {
        "fi": "VIP-jäsenten ennakkovaraus. Kaikille {when}",
        "en": "VIP early access now. Opens to everyone {when}",
    },
    "drop_open": {"fi": "Varattavissa: {left} jäljellä, päättyy {when}", "en": "Open: {left} left, ends {when}"},
    "reserve": {"fi": "Varaa", "en": "Reserve"},
    "reserved": {"fi": "Varattu! Nouda kassalta.", "en": "Reserved! Pick it up at the counter."},
    "my_reserved": {"fi": "Varauksesi: {n}", "en": "You reserved: {n}"},
    "history": {"fi": "Historia", "en": "History"},
    "no_history": {"fi": "Ei vielä tapahtumia.", "en": "Nothing here yet."},
    "load_more": {"fi": "Näytä lisää", "en": "Show more"},
    "history_stamp": {"fi": "Leimat +{stamps} · {amount}", "en": "Stamps +{stamps} · {amount}"},
    "history_points_earned": {"fi": "Pisteet +{points} · {amount}", "en": "Points +{points} · {amount}"},
    "history_points_spent": {"fi": "−{points} pistettä: {title}", "en": "−{points} points: {title}"},
    "history_points_expired": {"fi": "−{points} pistettä vanheni", "en": "−{points} points expired"},
    "history_reversal": {"fi": "Palautus · {amount}", "en": "Refund · {amount}"},
    "history_voucher_issued": {"fi": "Etu: {title}", "en": "Reward: {title}"},
    "history_voucher_redeemed": {"fi": "Lunastettu: {title}", "en": "Used: {title}"},
    "history_adjustment": {"fi": "Korjaus", "en": "Adjustment"},
    "inbox": {"fi": "Viestit", "en": "Inbox"},
    "no_messages": {"fi": "Ei viestejä.", "en": "No messages."},
    "msg_welcome_title": {"fi": "Tervetuloa, {business_name}!", "en": "Welcome to {business_name}!"},
    "msg_welcome_body": {
        "fi": "Korttisi on valmis. Näytä QR-koodi kassalla, niin saat leimat ja pisteet.",
        "en": "Your card is ready. Show your QR at the counter to collect stamps and points.",
    },
    "msg_thank_you_title": {"fi": "Kiitos käynnistä!", "en": "Thanks for coming in!"},
    "msg_thank_you_body": {"fi": "Ostos {amount}, +{points} pistettä.", "en": "You spent {amount}, +{points} points."},
    "msg_near_reward_title": {"fi": "Enää {to_go} leimaa!", "en": "Only {to_go} stamps to go!"},
    "msg_near_reward_body": {
        "fi": "Kortissasi on {stamps}/{stamps_per_card} leimaa.",
        "en": "Your card has {stamps}/{stamps_per_card} stamps.",
    },
    "msg_birthday_title": {"fi": "Hyvää syntymäpäivää!", "en": "Happy birthday!"},
    "msg_birthday_body": {"fi": "Lahjasi odottaa: {reward}.", "en": "Your gift is waiting: {reward}."},
    "msg_win_back_title": {"fi": "Ikävä sinua!", "en": "We miss you!"},
    "msg_win_back_body": {
        "fi": "Edellisestä käynnistäsi on {days_away} päivää. Tervetuloa takaisin!",
        "en": "It has been {days_away} days since your last visit. Come back soon!",
    },
    "msg_vip_drop_title": {"fi": "VIP-ennakkovaraus: {title}", "en": "VIP early access: {title}"},
    "msg_vip_drop_body": {
        "fi": "Varaa ennen muita kortin Uutuudet-osiosta.",
        "en": "Reserve before everyone else from your card's Drops.",
    },
    "msg_feedback_reply_title": {"fi": "Vastaus palautteeseesi", "en": "A reply to your feedback"},
    "feedback": {"fi": "Anna palautetta", "en": "Give feedback"},
    "feedback_question": {
        "fi": "Kuinka todennäköisesti suosittelisit meitä ystävällesi? (0–10)",
        "en": "How likely are you to recommend us to a friend? (0–10)",
    },
    "feedback_comment": {"fi": "Kommentti (vapaaehtoinen)", "en": "Comment (optional)"},
    "send": {"fi": "Lähetä", "en": "Send"},
    "feedback_thanks": {"fi": "Kiitos palautteestasi!", "en": "Thank you for your feedback!"},
    "review_us": {"fi": "Arvioi meidät Googlessa", "en": "Review us on Google"},
    "pick_score": {"fi": "Valitse arvosana 0–10.", "en": "Pick a score from 0 to 10."},
    "profile": {"fi": "Profiili", "en": "Profile"},
    "marketing_consent": {
        "fi": "Saa lähettää minulle tarjouksia ja uutisia",
        "en": "Send me offers and news",
    },
    "download_data": {"fi": "Lataa tietoni", "en": "Download my data"},
    "data_ready": {"fi": "Tietosi tallennettiin tiedostoon {file}.", "en": "Your data was saved as {file}."},
    "delete_account": {"fi": "Poista tilini", "en": "Delete my account"},
    "delete_confirm_title": {"fi": "Poistetaanko tili?", "en": "Delete your account?"},
    "delete_confirm_text": {
        "fi": "Kortit, leimat, pisteet ja edut poistuvat pysyvästi. Kirjoita POISTA vahvistaaksesi.",
        "en": "Your cards, stamps, points and rewards are removed for good. Type DELETE to confirm.",
    },
    "delete_word": {"fi": "POISTA", "en": "DELETE"},
    "delete_refused": {
        "fi": "Tiliä ei poistettu: kirjoita POISTA vahvistukseksi.",
        "en": "Not deleted: type DELETE to confirm.",
    },
    "deleted": {"fi": "Tilisi on poistettu.", "en": "Your account was deleted."},
    # issue 15: referrals and privacy
    "privacy_notice": {
        "fi": (
            "Kun liityt kahvilan kanta-asiakkaaksi, tallennamme sähköpostiosoitteestasi avainnetun tiivisteen "
            "(HMAC-SHA256), josta osoitetta ei voi palauttaa. Se säilyy myös tilin poistamisen jälkeen, jotta "
            "liittymis- ja suositteluetuja ei voi saada uudelleen samalla osoitteella. Käsittelyperuste: "
            "oikeutettu etu, väärinkäytösten estäminen (GDPR 6 art. 1 f). Muut tietosi poistetaan, kun poistat tilisi."
        ),
        "en": (
            "When you join a café, we keep a keyed fingerprint (HMAC-SHA256) of your e-mail address, from which "
            "the address cannot be recovered. It is kept after you delete your account, so that welcome and "
            "referral rewards cannot be collected again with the same address. Legal basis: legitimate "
            "interest in preventing fraud (GDPR Art. 6(1)(f)). Everything else is removed when you delete your account."
        ),
    },
    "welcome_pending": {
        "fi": "Liittymislahja {title} odottaa: saat sen ensimmäisestä vähintään {amount} ostoksestasi.",
        "en": "Your welcome gift {title} is waiting: it comes with your first purchase of {amount} or more.",
    },
    "referral_not_new": {
        "fi": "Olet ollut täällä jäsen ennenkin, joten kutsun edut eivät koske sinua. Korttisi on silti valmis.",
        "en": "You have been a member here before, so the invitation's gifts do not apply. Your card is ready.",
    },
    "cancel": {"fi": "Peruuta", "en": "Cancel"},
    "saved": {"fi": "Tallennettu", "en": "Saved"},
    "new_stamp": {"fi": "Uusi leima!", "en": "New stamp!"},
    # ---- the counter ----
    "counter_code": {"fi": "Skannaa tai kirjoita koodi", "en": "Scan or type a code"},
    "counter_amount": {"fi": "Summa", "en": "Amount"},
    "counter_key": {"fi": "Näppäin {button}", "en": "Key {button}"},
    "counter_backspace": {"fi": "Poista merkki", "en": "Delete a digit"},
    "counter_record": {"fi": "Kirjaa ostos", "en": "Record purchase"},
    "counter_no_member": {"fi": "Myynti ilman jäsentä", "en": "Sale without member"},
    "counter_owner_tools": {"fi": "Omistajan työkalut", "en": "Owner tools"},
    "counter_confirm": {"fi": "Vahvista asiakas", "en": "Confirm the customer"},
    "counter_override": {"fi": "Ohita rajoitus ja kirjaa", "en": "Override the limit and record"},
    "counter_camera": {"fi": "Skannaa kameralla", "en": "Scan with the camera"},
    "counter_no_camera": {
        "fi": "Kameraa ei voi käyttää tällä laitteella. Käytä lukijaa tai kirjoita koodi.",
        "en": "No camera can be used on this device. Use a scanner or type the code.",
    },
    "counter_nobody_found": {"fi": 'Ketään ei löytynyt haulla "{text}".', "en": 'Nobody found for "{text}".'},
    "counter_scan_hint": {
        "fi": "Skannaa asiakkaan QR-koodi tai etu, tai kirjoita jäsennumero, nimi tai sähköposti.",
        "en": "Scan the customer's QR code or a reward, or type a member number, name or e-mail.",
    },
    "counter_scan_first": {"fi": "Skannaa ensin asiakas.", "en": "Scan a customer first."},
    "counter_amount_hint": {"fi": "Anna summa, esim. 12,50.", "en": "Enter an amount, e.g. 12.50."},
    "counter_last_visit": {"fi": "Edellinen käynti {when}", "en": "Last visit {when}"},
    "counter_first_visit": {"fi": "Ensimmäinen käynti", "en": "First visit"},
    "counter_redeem": {"fi": "Lunasta: {title}", "en": "Redeem: {title}"},
    "counter_redeemed": {"fi": "Lunastettu: {title}", "en": "Redeemed: {title}"},
    "counter_recorded": {"fi": "Kirjattu {amount}", "en": "Recorded {amount}"},
    "counter_undo": {"fi": "Peru ostos", "en": "Undo"},
    "counter_queued": {
        "fi": "Ei yhteyttä: ostos jonossa, lähetetään kun yhteys palaa.",
        "en": "Offline: the purchase is queued and sent when the connection is back.",
    },
    "counter_pending": {"fi": "{n} odottaa lähetystä", "en": "{n} waiting to be sent"},
    "counter_queue_refused": {
        "fi": "{n} jonossa ollutta ostosta hylättiin: katso syy.",
        "en": "{n} queued purchases were refused: see why.",
    },
    "counter_refused_line": {"fi": "Jonon ostos {amount} hylättiin", "en": "Queued purchase of {amount} refused"},
    "counter_dismiss": {"fi": "Kuitattu", "en": "Dismiss"},
    "counter_discard": {"fi": "Hylkää", "en": "Discard"},
    "counter_confirm_line": {
        "fi": "Jonon ostos {amount}, jäsennumero {number}",
        "en": "Queued purchase of {amount}, member number {number}",
    },
    "counter_queue_confirm": {
        "fi": "{n} jonossa ollutta ostosta odottaa asiakkaan vahvistusta.",
        "en": "{n} queued purchases wait for you to confirm the customer.",
    },
    "counter_offline_member": {
        "fi": "Ei yhteyttä. Koodi {code} tunnistetaan, kun ostos lähetetään.",
        "en": "Offline. Code {code} is identified when the purchase is sent.",
    },
    "counter_undone": {"fi": "Ostos peruttu.", "en": "Purchase undone."},
    "result_stamps": {"fi": "+{n} leima ({stamps}/{per_card})", "en": "+{n} stamp ({stamps}/{per_card})"},
    "result_points": {"fi": "+{n} pistettä ({points} yhteensä)", "en": "+{n} points ({points} in all)"},
    "result_voucher": {"fi": "Etu: {title} ({code})", "en": "Reward: {title} ({code})"},
    "result_tier": {"fi": "Uusi taso: {tier}!", "en": "New tier: {tier}!"},
    "result_referral": {
        "fi": "Ystäväkutsu toteutui: kutsujalle etu.",
        "en": "Referral completed: the friend who invited gets a reward.",
    },
    "result_override": {"fi": "Rajoitus ohitettu (kirjattu lokiin).", "en": "A limit was overridden (logged)."},
    # issue 15: counter
    "result_stamp_withheld": {
        "fi": "Pisteet kirjattu, ei leimaa: leima annettiin jo hetki sitten (yksi leima per odotusaika).",
        "en": "Points recorded, no stamp: a stamp was given moments ago (one stamp per cooldown).",
    },
    "result_debt_paid": {
        "fi": "{n} pistettä kuittasi aiemman pistevelan.",
        "en": "{n} points paid off earlier points debt.",
    },
    "counter_confirm_large": {"fi": "Vahvista summa {amount}", "en": "Confirm the amount {amount}"},
    "counter_large_amount": {
        "fi": "Summa {amount} on yli {limit}. Onko summa oikein?",
        "en": "{amount} is more than {limit}. Is the amount right?",
    },
    "counter_large_line": {
        "fi": "Jonon ostos {amount} on tavallista suurempi: vahvista summa",
        "en": "Queued purchase of {amount} is larger than usual: confirm the amount",
    },
    "setting_confirm_above_cents": {
        "fi": "Vahvista summa, joka on yli (senttiä)",
        "en": "Confirm amounts above (cents)",
    },
    # ---- the owner's back office ----
    "owner_dashboard": {"fi": "Yleiskuva", "en": "Dashboard"},
    "owner_members": {"fi": "Asiakkaat", "en": "Members"},
    "owner_drops": {"fi": "Uutuudet", "en": "Drops"},
    "owner_program": {"fi": "Kanta-asiakasohjelma", "en": "Program"},
    "owner_staff": {"fi": "Henkilökunta", "en": "Staff"},
    "owner_feedback": {"fi": "Palaute", "en": "Feedback"},
    "owner_audit": {"fi": "Tapahtumaloki", "en": "Audit log"},
    "owner_export": {"fi": "Vienti", "en": "Export"},
    "period": {"fi": "Ajanjakso", "en": "Period"},
    "last_days": {"fi": "{n} pv", "en": "{n} days"},
    "kpi_active_30": {"fi": "Aktiiviset (30 pv)", "en": "Active (30 days)"},
    "kpi_active_90": {"fi": "Aktiiviset (90 pv)", "en": "Active (90 days)"},
    "kpi_new_members": {"fi": "Uudet jäsenet", "en": "New members"},
    "kpi_revenue": {"fi": "Myynti", "en": "Revenue"},
    "kpi_member_revenue_share": {"fi": "Jäsenten osuus myynnistä", "en": "Revenue from members"},
    "kpi_repeat_rate": {"fi": "Palaavat ostajat", "en": "Repeat-purchase rate"},
    "kpi_visits_per_member": {"fi": "Käyntejä / ostaja", "en": "Visits per buyer"},
    "kpi_redemption_rate": {"fi": "Lunastusaste", "en": "Redemption rate"},
    "kpi_referral_conversion": {"fi": "Suosittelujen konversio", "en": "Referral conversion"},
    "kpi_nps": {"fi": "NPS", "en": "NPS"},
    "chart_revenue": {"fi": "Myynti (€)", "en": "Revenue (€)"},
    "chart_member_revenue_share": {"fi": "Jäsenten osuus myynnistä (%)", "en": "Revenue from members (%)"},
    "chart_visits": {"fi": "Jäsenten käynnit", "en": "Member visits"},
    "chart_new_members": {"fi": "Uudet jäsenet", "en": "New members"},
    "chart_redemptions": {"fi": "Lunastukset", "en": "Redemptions"},
    "chart_nps": {"fi": "NPS", "en": "NPS"},
    "spend_by_tier": {"fi": "Keskiostos tasoittain", "en": "Average purchase by tier"},
    "no_data": {"fi": "Ei vielä tietoja tältä ajalta.", "en": "No data for this period yet."},
    "purchases_n": {"fi": "Ostoja: {n}", "en": "Purchases: {n}"},
    # issue 15: refunds, tiers and staff
    "points_debt_owed": {
        "fi": "Palautuksesta jäi {n} pisteen velka: seuraavat pisteesi maksavat sen ensin.",
        "en": "A refund left {n} points owed: your next points pay it first.",
    },
    "stamp_debt_owed": {
        "fi": "Palautuksesta jäi {n} leiman velka: seuraavat leimasi maksavat sen ensin.",
        "en": "A refund left {n} stamps owed: your next stamps pay them first.",
    },
    "staff_figures": {"fi": "Henkilökunta tällä jaksolla", "en": "Staff this period"},
    "staff_purchases": {"fi": "Ostot", "en": "Purchases"},
    "staff_overrides": {"fi": "Ohitukset", "en": "Overrides"},
    "staff_refunds": {"fi": "Palautukset", "en": "Refunds"},
    "staff_grants": {"fi": "Annetut palkinnot", "en": "Rewards granted"},
    "staff_redemptions": {"fi": "Lunastukset", "en": "Redemptions"},
    "staff_unusual": {
        "fi": "Poikkeuksellisen paljon: {what} (vähintään {factor}× henkilökunnan mediaani)",
        "en": "Unusually many: {what} (at least {factor}× the staff median)",
    },
    "staff_former": {"fi": "entinen työntekijä", "en": "former staff"},
    "no_staff_activity": {"fi": "Ei henkilökunnan tapahtumia tältä ajalta.", "en": "No staff activity this period."},
    "segments": {"fi": "Asiakasryhmät", "en": "Segments"},
    "segment_champions": {"fi": "Parhaat", "en": "Champions"},
    "segment_loyal": {"fi": "Uskolliset", "en": "Loyal"},
    "segment_potential": {"fi": "Lupaavat", "en": "Potential"},
    "segment_new": {"fi": "Uudet", "en": "New"},
    "segment_at_risk": {"fi": "Vaarassa", "en": "At risk"},
    "segment_hibernating": {"fi": "Horroksessa", "en": "Hibernating"},
    "segment_lost": {"fi": "Menetetyt", "en": "Lost"},
    "visits_n": {"fi": "{n} käyntiä", "en": "{n} visits"},
    "member_search": {"fi": "Hae nimellä, sähköpostilla tai jäsennumerolla", "en": "Search by name, e-mail or number"},
    "scored_at": {"fi": "Ryhmät laskettu {when}", "en": "Segments as of {when}"},
    "no_members": {"fi": "Ei asiakkaita tässä ryhmässä.", "en": "No members in this segment."},
    "churn_alerts": {"fi": "Poistumisvaarassa ({n})", "en": "Churn risk ({n})"},
    "show_all": {"fi": "Näytä kaikki ({n})", "en": "Show all ({n})"},
    "no_churn": {"fi": "Kukaan ei ole jäämässä pois.", "en": "Nobody is drifting away."},
    "send_win_back": {"fi": "Lähetä paluuviesti", "en": "Send win-back"},
    "win_back_sent": {"fi": "Paluuviesti lähetetty", "en": "Win-back sent"},
    "win_back_done": {"fi": "Paluuviesti lähetettiin: {name}", "en": "Win-back message sent to {name}"},
    "vip_for": {"fi": "VIP ajaksi", "en": "VIP for"},
    "days_n": {"fi": "{n} päivää", "en": "{n} days"},
    "grant_vip": {"fi": "Anna VIP", "en": "Grant VIP"},
    "revoke_vip": {"fi": "Poista VIP", "en": "Revoke VIP"},
    "not_vip": {"fi": "Ei VIP", "en": "Not VIP"},
    "vip_until": {"fi": "VIP {when} asti", "en": "VIP until {when}"},
    "vip_granted": {"fi": "VIP annettu {when} asti.", "en": "VIP granted until {when}."},
    "vip_revoked": {"fi": "VIP poistettu.", "en": "VIP revoked."},
    "reward_title": {"fi": "Palkinnon nimi", "en": "Reward name"},
    "grant_reward": {"fi": "Anna palkinto", "en": "Grant reward"},
    "reward_granted": {"fi": "Palkinto annettu: {title}", "en": "Reward granted: {title}"},
    "new_drop": {"fi": "Uusi uutuus", "en": "New drop"},
    "drop_title": {"fi": "Nimi", "en": "Title"},
    "drop_description": {"fi": "Kuvaus", "en": "Description"},
    "drop_vip_starts": {"fi": "VIP-myynti alkaa (pp.kk.vvvv hh:mm)", "en": "VIP window opens (dd.mm.yyyy hh:mm)"},
    "drop_public_starts": {"fi": "Kaikille alkaa", "en": "Public window opens"},
    "drop_ends": {"fi": "Päättyy", "en": "Ends"},
    "drop_stock": {"fi": "Määrä", "en": "Stock"},
    "drop_limit": {"fi": "Enintään / asiakas", "en": "Limit per member"},
    "create_drop": {"fi": "Luo uutuus", "en": "Create drop"},
    "drop_created": {"fi": "Uutuus luotu: {title}", "en": "Drop created: {title}"},
    "date_hint": {
        "fi": "Anna ajat muodossa pp.kk.vvvv hh:mm, esim. 24.12.2026 09:00.",
        "en": "Enter times as dd.mm.yyyy hh:mm, e.g. 24.12.2026 09:00.",
    },
    "drop_line": {
        "fi": "{state} · jäljellä {left}/{stock} · VIP {vip} · kaikille {public}",
        "en": "{state} · {left}/{stock} left · VIP {vip} · public {public}",
    },
    "drop_state_upcoming": {"fi": "Tulossa", "en": "Upcoming"},
    "drop_state_vip_window": {"fi": "VIP-myynti", "en": "VIP window"},
    "drop_state_public": {"fi": "Myynnissä", "en": "On sale"},
    "drop_state_sold_out": {"fi": "Loppuunmyyty", "en": "Sold out"},
    "drop_state_closed": {"fi": "Päättynyt", "en": "Closed"},
    "no_reservations": {"fi": "Ei varauksia.", "en": "No reservations."},
    "reserved_at": {"fi": "Varattu {when}", "en": "Reserved {when}"},
    "picked_up_at": {"fi": "Noudettu {when}", "en": "Picked up {when}"},
    "mark_pickup": {"fi": "Noudettu", "en": "Picked up"},
    "picked_up": {"fi": "Merkitty noudetuksi.", "en": "Marked as picked up."},
    "setting_stamps_per_card": {"fi": "Leimoja kortissa (3–30)", "en": "Stamps per card (3–30)"},
    "setting_stamp_reward": {"fi": "Täyden kortin palkinto", "en": "Reward for a full card"},
    "setting_stamps_per_purchase": {"fi": "Leimoja ostosta", "en": "Stamps per purchase"},
    "setting_stamp_min_cents": {"fi": "Leiman vähimmäisostos (senttiä)", "en": "Minimum purchase for a stamp (cents)"},
    "setting_points_per_euro": {"fi": "Pisteitä / euro", "en": "Points per euro"},
    "setting_tier_window_months": {"fi": "Tasojen laskenta-aika (kk)", "en": "Tier window (months)"},
    "setting_voucher_valid_days": {"fi": "Etusetelin voimassaolo (pv)", "en": "Voucher valid for (days)"},
    "setting_stamp_cooldown_minutes": {"fi": "Leimojen väli vähintään (min)", "en": "Minutes between stamps"},
    "setting_max_purchases_per_day": {"fi": "Ostoksia enintään päivässä", "en": "Purchases per day at most"},
    "setting_referral_welcome_reward": {"fi": "Suositellun tervetuliaislahja", "en": "Welcome gift for a friend"},
    "setting_referral_referrer_reward": {"fi": "Suosittelijan palkinto", "en": "Reward for the referrer"},
    "setting_referral_monthly_cap": {"fi": "Suosittelupalkintoja enintään / kk", "en": "Referral rewards per month"},
    "setting_birthday_reward": {"fi": "Syntymäpäivälahja", "en": "Birthday gift"},
    "setting_rewards": {"fi": "Palkintoluettelo", "en": "Rewards catalogue"},
    "setting_tiers": {"fi": "Tasot", "en": "Tiers"},
    "rewards_help": {"fi": "Yksi riville: nimi = pisteet", "en": "One a line: name = points"},
    "tiers_help": {
        "fi": "Yksi riville: nimi; pisteraja; kerroin; edut",
        "en": "One a line: name; points; multiplier; perks",
    },
    "card_preview": {"fi": "Asiakkaan kortti", "en": "The customer's card"},
    "save": {"fi": "Tallenna", "en": "Save"},
    "role": {"fi": "Rooli", "en": "Role"},
    "role_staff": {"fi": "Henkilökunta", "en": "Staff"},
    "role_owner": {"fi": "Omistaja", "en": "Owner"},
    "you": {"fi": "sinä", "en": "you"},
    "add_staff": {"fi": "Lisää henkilö", "en": "Add a person"},
    "add_staff_help": {
        "fi": "Henkilöllä pitää olla Kanta-tili tällä sähköpostilla.",
        "en": "The person needs a Kanta account with this e-mail.",
    },
    "staff_added": {"fi": "Henkilö lisätty.", "en": "Added to the staff."},
    "remove_staff": {"fi": "Poista henkilökunnasta", "en": "Remove from staff"},
    "staff_removed": {"fi": "Poistettu: {email}", "en": "Removed: {email}"},
    "feedback_summary": {
        "fi": "Vastauksia {n} · NPS {nps} · suosittelijat {promoters}, neutraalit {passives}, arvostelijat {detractors}",
        "en": "Responses {n} · NPS {nps} · promoters {promoters}, passives {passives}, detractors {detractors}",
    },
    "no_feedback": {"fi": "Ei vielä palautetta.", "en": "No feedback yet."},
    "anonymous": {"fi": "Nimetön", "en": "Anonymous"},
    "reply": {"fi": "Vastaa asiakkaalle", "en": "Reply to the customer"},
    "send_reply": {"fi": "Lähetä vastaus", "en": "Send reply"},
    "reply_sent": {"fi": "Vastaus lähetetty asiakkaan viesteihin.", "en": "Reply sent to the customer's inbox."},
    "audit_system": {"fi": "järjestelmä", "en": "system"},
    "audit_record_purchase": {"fi": "Ostos kirjattu {amount}", "en": "Purchase recorded {amount}"},
    "audit_redeem_voucher": {"fi": "Etuseteli lunastettu: {title}", "en": "Voucher redeemed: {title}"},
    "audit_redeem_reward": {
        "fi": "Palkinto lunastettu pisteillä: {title}",
        "en": "Reward redeemed with points: {title}",
    },
    "audit_purchase_refunded": {"fi": "Ostos peruttu {amount}", "en": "Purchase refunded {amount}"},
    "audit_program_updated": {"fi": "Ohjelman asetuksia muutettu", "en": "Program settings changed"},
    "audit_integrations_updated": {"fi": "Integraatioita muutettu", "en": "Integrations changed"},
    "audit_velocity_override": {"fi": "Rajoitus ohitettu {amount}", "en": "Limit overridden {amount}"},
    "audit_vip_granted": {"fi": "VIP annettu", "en": "VIP granted"},
    "audit_vip_revoked": {"fi": "VIP poistettu", "en": "VIP revoked"},
    "audit_drop_created": {"fi": "Uutuus luotu: {title}", "en": "Drop created: {title}"},
    "audit_reward_granted": {"fi": "Palkinto annettu: {title}", "en": "Reward granted: {title}"},
    "audit_staff_removed": {"fi": "Henkilö poistettu ({role})", "en": "Staff member removed ({role})"},
    "audit_win_back_sent": {"fi": "Paluuviesti lähetetty", "en": "Win-back message sent"},
    "audit_message_sent": {"fi": "Viesti lähetetty", "en": "Message sent"},
    "export_help": {
        "fi": "Lataa asiakkaat CSV-tiedostona, tai markkinointiluvan antaneet Mailchimpiin tai Breviin tuotavassa muodossa.",
        "en": "Download the members as CSV, or those who agreed to marketing in Mailchimp's or Brevo's import layout.",
    },
    "export_csv": {"fi": "Kaikki asiakkaat (CSV)", "en": "All members (CSV)"},
    "export_mailchimp": {"fi": "Mailchimp", "en": "Mailchimp"},
    "export_brevo": {"fi": "Brevo", "en": "Brevo"},
    "export_ready": {"fi": "Tiedosto {file} on valmis.", "en": "{file} is ready."},
}


def t(key: str, lang: str = DEFAULT_LANGUAGE, **values) -> str:
    """The text for `key` in `lang`; `values` fill its {placeholders}."""
    entry = TEXTS.get(key) or ERRORS.get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry["en"]
    return text.format(**values) if values else text


def error_text(error: KantaError | str, lang: str = DEFAULT_LANGUAGE) -> str:
    """The message to show for an error; an unknown code falls back to its class's generic one."""
    code = error if isinstance(error, str) else error.code
    entry = ERRORS.get(code)
    if entry is None and isinstance(error, KantaError):
        entry = ERRORS.get(type(error).default_code)
    entry = entry or ERRORS["unexpected_error"]
    return entry.get(lang) or entry["en"]


def churn_reason(member: dict, lang: str = DEFAULT_LANGUAGE) -> str:
    """Words for churn_risk's numbers, e.g. "usually every 6 days, last seen 27 days ago"."""
    from babel.numbers import format_decimal

    gap = format_decimal(float(member["typical_gap_days"]), format="#,##0.#", locale="fi_FI" if lang == "fi" else "en")
    days = member["days_away"]
    if lang == "fi":
        return f"käy yleensä {gap} päivän välein, viimeksi {days} päivää sitten"
    return f"usually every {gap} days, last seen {days} days ago"
