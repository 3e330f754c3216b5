-- The counter: where a person works, finding a member (QR, member number, search), the member
-- panel, recording a purchase (velocity and cooldown checks), redeeming vouchers and rewards,
-- refunds, and the member's rotating QR token.

-- =============================================================================================
-- Section - What a purchase caused
-- =============================================================================================
-- What the counter's confirmation shows beyond stamps and points: a referral this purchase
-- completed (40_referrals.sql). No names: this answer is stored for retries and must not outlive
-- a deleted account's personal data.
-- PL/pgSQL keeps this plan between calls; a SQL body with SET is planned at every call (hot paths at
-- 100k members: record_purchase 5.15 -> 3.36 ms, my_card 3.80 -> 1.21 ms a call).
create or replace function kanta.purchase_extras(p_purchase_id uuid)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return (
    select coalesce((
      select jsonb_build_object('referral_completed', jsonb_build_object(
        'referrer_member_id', r.referrer_member_id, 'voucher_code', v.code))
      from kanta.referrals r
      left join kanta.vouchers v on v.id = r.voucher_id
      where r.purchase_id = p_purchase_id
    ), '{}'::jsonb)
  );
end
$$;

-- What the counter sees after identifying a member, VIP included (kanta.is_vip, 50_vip_drops.sql).
-- PL/pgSQL keeps this plan between calls; a SQL body with SET is planned at every call (hot paths at
-- 100k members: record_purchase 5.15 -> 3.36 ms, my_card 3.80 -> 1.21 ms a call).
create or replace function kanta.member_panel(p_member_id uuid)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return (
    select jsonb_build_object(
      'member_id', m.id,
      'member_number', m.member_number,
      'display_name', m.display_name,
      'stamps', m.stamps,
      'stamps_per_card', p.stamps_per_card,
      'points', m.points,
      'points_debt', m.points_debt,
      'tier', kanta.member_tier(m.id, kanta.now()) ->> 'name',
      'visits', m.visits,
      'last_visit_at', m.last_visit_at,
      'vouchers', kanta.active_vouchers(m.id),
      'vip', kanta.is_vip(m.id, kanta.now()),
      'vip_until', m.vip_until
    )
    from kanta.members m
    join kanta.programs p on p.business_id = m.business_id
    where m.id = p_member_id
  );
end
$$;

-- The member row of a card the caller may act on as staff of p_business_id, locked for update.
create or replace function kanta.lock_member(p_business_id uuid, p_member_id uuid)
returns kanta.members
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_member kanta.members;
begin
  select * into v_member from kanta.members where id = p_member_id and business_id = p_business_id for update;
  if v_member.id is null then
    perform kanta.fail('member_not_found', 'not_found');
  end if;
  return v_member;
end
$$;

-- Staff do not serve their own card (issue 15, §5): a purchase on, or a redemption from, the
-- caller's own card at their workplace is refused with own_card, unless the owner overrides it
-- (p_override, which only the owner may send); the override is audited. A barista's own card is
-- served by the owner (then it is not the caller's own card). Returns whether an override was used.
create or replace function kanta.own_card_override(p_business_id uuid, p_member_id uuid, p_override boolean,
                                                   p_operation text, p_detail jsonb)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
begin
  if auth.uid() is null
     or not exists (select 1 from kanta.members where id = p_member_id and user_id = auth.uid()) then
    return false;
  end if;
  if not coalesce(p_override, false) or not kanta.is_staff(p_business_id, 'owner') then
    perform kanta.fail('own_card', 'forbidden');
  end if;
  perform kanta.audit(p_business_id, 'own_card_override', p_member_id::text,
                      jsonb_build_object('operation', p_operation) || coalesce(p_detail, '{}'::jsonb));
  return true;
end
$$;

-- =============================================================================================
-- Section - Public functions: customer
-- =============================================================================================

-- A fresh single-use token for the member's QR code; it expires in 60 seconds. It replaces the
-- member's previous token, used or not: one live token per member.
create or replace function public.member_qr_token(p_member_id uuid)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uid uuid := kanta.require_user();
  v_member kanta.members;
  v_token text := 'KT' || replace(gen_random_uuid()::text, '-', '');
  v_expires timestamptz := kanta.now() + interval '60 seconds';
begin
  select * into v_member from kanta.members where id = p_member_id and user_id = v_uid;
  if v_member.id is null then
    perform kanta.fail('member_not_found', 'not_found');
  end if;
  insert into kanta.member_tokens (token_hash, member_id, business_id, expires_at)
  values (sha256(convert_to(v_token, 'UTF8')), v_member.id, v_member.business_id, v_expires)
  on conflict (member_id) do update
    set token_hash = excluded.token_hash, expires_at = excluded.expires_at, used_at = null;
  return jsonb_build_object('token', v_token, 'expires_at', v_expires, 'ttl_seconds', 60);
end
$$;
revoke execute on function public.member_qr_token(uuid) from public, anon;
grant execute on function public.member_qr_token(uuid) to authenticated, service_role;

-- =============================================================================================
-- Section - Public functions: counter (staff)
-- =============================================================================================

-- Who is at the counter: a QR token (single use, 60 s), a voucher code, or a member number
-- (only with p_confirmed, since a number can be read off someone else's card). A deleted card
-- (62_privacy.sql) is not found by any of them: its tokens are gone, its number replaced.
create or replace function public.identify_member(p_business_id uuid, p_code text, p_confirmed boolean default false)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_code text := btrim(coalesce(p_code, ''));
  v_token kanta.member_tokens;
  v_voucher kanta.vouchers;
  v_number text;
  v_member_id uuid;
begin
  perform kanta.require_staff(p_business_id);

  if v_code ~ '^KT[0-9a-f]{32}$' then
    select * into v_token from kanta.member_tokens
    where token_hash = sha256(convert_to(v_code, 'UTF8')) for update;
    if v_token.token_hash is null then
      perform kanta.fail('token_unknown', 'not_found');
    elsif v_token.business_id <> p_business_id then
      perform kanta.fail('token_wrong_business', 'forbidden');
    elsif v_token.used_at is not null then
      perform kanta.fail('token_used', 'conflict');
    elsif v_token.expires_at <= kanta.now() then
      perform kanta.fail('token_expired', 'conflict');
    end if;
    update kanta.member_tokens set used_at = kanta.now() where token_hash = v_token.token_hash;
    return kanta.member_panel(v_token.member_id) || jsonb_build_object('identified_by', 'qr');
  end if;

  if kanta.normalise_voucher_code(v_code) is not null then
    select * into v_voucher from kanta.vouchers
    where code = kanta.normalise_voucher_code(v_code) and business_id = p_business_id;
    if v_voucher.id is null
       or exists (select 1 from kanta.members where id = v_voucher.member_id and deleted_at is not null) then
      perform kanta.fail('voucher_not_found', 'not_found');
    end if;
    return kanta.member_panel(v_voucher.member_id) || jsonb_build_object(
      'identified_by', 'voucher',
      'voucher', jsonb_build_object('id', v_voucher.id, 'code', v_voucher.code, 'title', v_voucher.title,
                                    'status', case when v_voucher.status = 'active' and v_voucher.expires_at <= kanta.now()
                                                   then 'expired' else v_voucher.status end,
                                    'expires_at', v_voucher.expires_at));
  end if;

  v_number := kanta.parse_member_number(v_code);
  if v_number is null then
    perform kanta.fail('invalid_code');
  end if;
  select id into v_member_id from kanta.members
  where business_id = p_business_id and member_number = v_number and deleted_at is null;
  if v_member_id is null then
    perform kanta.fail('member_not_found', 'not_found');
  end if;
  if not coalesce(p_confirmed, false) then
    perform kanta.fail('member_number_needs_confirmation', 'forbidden');
  end if;
  return kanta.member_panel(v_member_id) || jsonb_build_object('identified_by', 'member_number');
end
$$;
revoke execute on function public.identify_member(uuid, text, boolean) from public, anon;
grant execute on function public.identify_member(uuid, text, boolean) to authenticated, service_role;

-- One purchase at the counter, in one transaction: stamps, points with the tier's multiplier,
-- completed cards become vouchers (the overflow starts the next card), the tier is recomputed,
-- and the answer says what changed. p_member_id null records a sale without a member.
-- The rules (issue 15):
--   * the cooldown limits stamps, not purchases: a purchase within stamp_cooldown_minutes of
--     another stamped one (before or after it) earns its points and no stamp, and the answer says
--     "stamp_withheld": "cooldown". The owner's override does not lift it. The member row lock
--     serialises two calls; the read after it is a new statement, so it sees every purchase
--     committed before the lock was granted, and the window looks both ways from this call's
--     clock because a purchase written first may carry a later clock (its transaction began later);
--   * the daily cap (max_purchases_per_day) is a refusal (velocity_limit) that the owner may
--     override, audited as velocity_override;
--   * an amount above the program's confirm_above_cents needs p_confirm_large (a typo guard for a
--     person at the counter, so the service role, e.g. the shop webhook, is not asked);
--   * points debt is paid from the points earned first ("points_debt_paid" in the answer);
--   * staff do not serve their own card (kanta.own_card_override).
-- The purchase row keeps the tier it already worked out (tier_before, whose multiplier it earns):
-- working it out again in a trigger would cost about 0.1 ms a purchase at 100k members.
create or replace function public.record_purchase(
  p_business_id uuid,
  p_member_id uuid,
  p_amount_cents integer,
  p_idempotency_key text,
  p_override boolean default false,
  p_confirm_large boolean default false
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_now timestamptz := kanta.now();
  v_previous jsonb;
  v_program kanta.programs;
  v_business kanta.businesses;
  v_member kanta.members;
  v_purchase_id uuid := gen_random_uuid();
  v_today_count integer;
  v_stamp_withheld text;
  v_own_card boolean := false;
  v_debt_paid integer := 0;
  v_card_stamps integer := 0;
  v_overridden text[] := '{}';
  v_tier_before jsonb;
  v_tier_after jsonb;
  v_stamps_added integer := 0;
  v_points_added integer := 0;
  v_multiplier numeric := 1;
  v_stamps integer;
  v_seq integer := 0;
  v_voucher kanta.vouchers;
  v_vouchers jsonb := '[]'::jsonb;
  v_response jsonb;
begin
  v_previous := kanta.begin_operation(p_business_id, p_idempotency_key, 'record_purchase', jsonb_build_object('member_id', p_member_id, 'amount_cents', p_amount_cents, 'override', coalesce(p_override, false), 'confirm_large', coalesce(p_confirm_large, false)));
  if v_previous is not null then
    return v_previous;
  end if;
  if p_amount_cents is null or p_amount_cents not between 1 and 100000000 then
    perform kanta.fail('invalid_amount');
  end if;
  if coalesce(p_override, false) and not kanta.is_staff(p_business_id, 'owner') then
    perform kanta.fail('owner_only', 'forbidden');
  end if;

  select * into v_program from kanta.programs where business_id = p_business_id;
  select * into v_business from kanta.businesses where id = p_business_id;
  if p_amount_cents > v_program.confirm_above_cents and not coalesce(p_confirm_large, false)
     and coalesce(auth.role(), '') <> 'service_role' then
    perform kanta.fail('large_amount_needs_confirmation', 'forbidden', v_program.confirm_above_cents::text);
  end if;

  if p_member_id is null then
    insert into kanta.purchases (id, business_id, member_id, amount_cents, created_by, created_at)
    values (v_purchase_id, p_business_id, null, p_amount_cents, auth.uid(), v_now);
    v_response := jsonb_build_object('purchase_id', v_purchase_id, 'member_id', null,
                                     'amount_cents', p_amount_cents, 'created_at', v_now);
    perform kanta.notify('business:' || p_business_id, 'purchase_recorded', jsonb_build_object('purchase_id', v_purchase_id));
    return kanta.finish_operation(p_business_id, p_idempotency_key, v_response);
  end if;

  v_member := kanta.lock_member(p_business_id, p_member_id);
  v_own_card := kanta.own_card_override(p_business_id, v_member.id, p_override, 'record_purchase',
                                        jsonb_build_object('purchase_id', v_purchase_id, 'amount_cents', p_amount_cents));
  if v_own_card then
    v_overridden := array_append(v_overridden, 'own_card');
  end if;

  -- Velocity: purchases per local day (a refusal), and one stamp per cooldown (the stamp withheld).
  -- The café's day as a range, so the (member_id, created_at) index answers it.
  select count(*) into v_today_count
  from kanta.purchases
  where member_id = v_member.id and refunded_at is null
    and created_at >= date_trunc('day', v_now at time zone v_business.timezone) at time zone v_business.timezone
    and created_at < (date_trunc('day', v_now at time zone v_business.timezone) + interval '1 day')
                     at time zone v_business.timezone;
  if v_today_count >= v_program.max_purchases_per_day then
    v_overridden := array_append(v_overridden, 'max_purchases_per_day');
  end if;
  if cardinality(array_remove(v_overridden, 'own_card')) > 0 and not coalesce(p_override, false) then
    perform kanta.fail('velocity_limit', 'conflict', array_to_string(v_overridden, ','));
  end if;
  -- Both ways from v_now (the transaction's start): a stamp committed by a transaction that began
  -- after this one has a later created_at, and `created_at <= v_now` missed it (issue 15, §2).
  if p_amount_cents >= v_program.stamp_min_cents and v_program.stamp_cooldown_minutes > 0
     and exists (
      select 1 from kanta.purchases
      where member_id = v_member.id and refunded_at is null and stamps > 0
        and created_at > v_now - make_interval(mins => v_program.stamp_cooldown_minutes)
        and created_at < v_now + make_interval(mins => v_program.stamp_cooldown_minutes)
    ) then
    v_stamp_withheld := 'cooldown';
  end if;

  v_tier_before := kanta.tier_for(v_program.tiers, kanta.qualifying_points(v_member.id, v_program.tier_window_months, v_now));
  v_multiplier := coalesce((v_tier_before ->> 'multiplier')::numeric, 1);
  if p_amount_cents >= v_program.stamp_min_cents and v_stamp_withheld is null then
    v_stamps_added := v_program.stamps_per_purchase;
  end if;
  v_points_added := floor(p_amount_cents * v_program.points_per_euro * v_multiplier / 100)::int;

  insert into kanta.purchases (id, business_id, member_id, amount_cents, stamps, points, multiplier, override,
                               created_by, created_at, tier)
  values (v_purchase_id, p_business_id, v_member.id, p_amount_cents, v_stamps_added, v_points_added, v_multiplier,
          cardinality(v_overridden) > 0, auth.uid(), v_now, v_tier_before ->> 'name');

  -- Stamp debt (a refunded stamp whose card's reward was already used) is paid from these stamps
  -- first; only the rest reach the card. The purchase keeps the stamps it earned, so its refund
  -- takes back exactly those.
  v_card_stamps := kanta.pay_stamp_debt(v_member.id, v_stamps_added);
  if v_card_stamps > 0 then
    v_seq := v_seq + 1;
    insert into kanta.ledger (business_id, member_id, kind, stamps, purchase_id, idempotency_key, created_by, created_at)
    values (p_business_id, v_member.id, 'stamp', v_card_stamps, v_purchase_id, p_idempotency_key || '#' || v_seq,
            auth.uid(), v_now);
  end if;
  if v_points_added > 0 then
    v_seq := v_seq + 1;
    insert into kanta.ledger (business_id, member_id, kind, points, purchase_id, idempotency_key, created_by, created_at)
    values (p_business_id, v_member.id, 'points_earned', v_points_added, v_purchase_id,
            p_idempotency_key || '#' || v_seq, auth.uid(), v_now);
  end if;
  -- Points debt (a refund of points already spent) is paid from these earnings first.
  v_debt_paid := least(v_points_added, v_member.points_debt);
  if v_debt_paid > 0 then
    v_seq := v_seq + 1;
    insert into kanta.ledger (business_id, member_id, kind, points, purchase_id, idempotency_key, created_by, created_at,
                              note)
    values (p_business_id, v_member.id, 'adjustment', -v_debt_paid, v_purchase_id, p_idempotency_key || '#' || v_seq,
            auth.uid(), v_now, 'points debt paid');
  end if;

  -- Each full card becomes a voucher; what is over the card stays on the next one.
  v_stamps := v_member.stamps + v_card_stamps;
  while v_stamps >= v_program.stamps_per_card loop
    v_seq := v_seq + 1;
    v_voucher := kanta.issue_voucher(v_member.id, 'stamp_card', v_program.stamp_reward,
                                     p_idempotency_key || '#' || v_seq, -v_program.stamps_per_card, v_purchase_id);
    v_vouchers := v_vouchers || jsonb_build_object('id', v_voucher.id, 'code', v_voucher.code,
                                                   'title', v_voucher.title, 'expires_at', v_voucher.expires_at);
    v_stamps := v_stamps - v_program.stamps_per_card;
  end loop;

  v_tier_after := kanta.tier_for(v_program.tiers, kanta.qualifying_points(v_member.id, v_program.tier_window_months, v_now));
  update kanta.members set
    visits = visits + 1,
    spend_cents = spend_cents + p_amount_cents,
    points_debt = points_debt - v_debt_paid,
    first_visit_at = coalesce(first_visit_at, v_now),
    last_visit_at = greatest(coalesce(last_visit_at, v_now), v_now)
  where id = v_member.id
  returning * into v_member;

  if cardinality(array_remove(v_overridden, 'own_card')) > 0 then
    perform kanta.audit(p_business_id, 'velocity_override', v_member.id::text,
                        jsonb_build_object('rules', to_jsonb(array_remove(v_overridden, 'own_card')),
                                           'purchase_id', v_purchase_id, 'amount_cents', p_amount_cents));
  end if;

  v_response := jsonb_build_object(
    'purchase_id', v_purchase_id,
    'member_id', v_member.id,
    'amount_cents', p_amount_cents,
    'created_at', v_now,
    'stamps_added', v_stamps_added,
    'stamp_withheld', v_stamp_withheld,
    'stamp_debt_paid', v_stamps_added - v_card_stamps,
    'stamp_debt', v_member.stamp_debt,
    'stamps', v_member.stamps,
    'stamps_per_card', v_program.stamps_per_card,
    'points_added', v_points_added,
    'points', v_member.points,
    'points_debt_paid', v_debt_paid,
    'points_debt', v_member.points_debt,
    'multiplier', v_multiplier,
    'vouchers_issued', v_vouchers,
    'tier_before', v_tier_before ->> 'name',
    'tier_after', v_tier_after ->> 'name',
    'tier_changed', (v_tier_before ->> 'name') is distinct from (v_tier_after ->> 'name'),
    'override', to_jsonb(v_overridden)
  ) || kanta.purchase_extras(v_purchase_id);
  perform kanta.notify('member:' || v_member.id, 'purchase_recorded', jsonb_build_object('purchase_id', v_purchase_id));
  perform kanta.notify('business:' || p_business_id, 'purchase_recorded', jsonb_build_object('purchase_id', v_purchase_id));
  return kanta.finish_operation(p_business_id, p_idempotency_key, v_response);
end
$$;
revoke execute on function public.record_purchase(uuid, uuid, integer, text, boolean, boolean) from public, anon;
grant execute on function public.record_purchase(uuid, uuid, integer, text, boolean, boolean) to authenticated, service_role;

-- Redeem a voucher by its code (scanned from its QR). The row lock makes two tablets racing for
-- the same voucher succeed exactly once. Not from the caller's own card unless the owner overrides
-- (p_override, kanta.own_card_override).
create or replace function public.redeem_voucher(p_business_id uuid, p_code text, p_idempotency_key text,
                                                 p_override boolean default false)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_now timestamptz := kanta.now();
  v_previous jsonb;
  v_voucher kanta.vouchers;
  v_response jsonb;
begin
  v_previous := kanta.begin_operation(p_business_id, p_idempotency_key, 'redeem_voucher', jsonb_build_object('code', coalesce(kanta.normalise_voucher_code(p_code), p_code), 'override', coalesce(p_override, false)));
  if v_previous is not null then
    return v_previous;
  end if;
  if coalesce(p_override, false) and not kanta.is_staff(p_business_id, 'owner') then
    perform kanta.fail('owner_only', 'forbidden');
  end if;
  select * into v_voucher from kanta.vouchers
  where code = kanta.normalise_voucher_code(p_code) and business_id = p_business_id
  for update;
  if v_voucher.id is null then
    perform kanta.fail('voucher_not_found', 'not_found');
  elsif v_voucher.status = 'redeemed' then
    perform kanta.fail('voucher_already_redeemed', 'conflict');
  elsif v_voucher.status = 'void' then
    perform kanta.fail('voucher_void', 'conflict');
  elsif v_voucher.expires_at is not null and v_voucher.expires_at <= v_now then
    perform kanta.fail('voucher_expired', 'conflict');
  end if;
  perform kanta.own_card_override(p_business_id, v_voucher.member_id, p_override, 'redeem_voucher',
                                  jsonb_build_object('voucher_id', v_voucher.id));

  update kanta.vouchers set status = 'redeemed', redeemed_at = v_now, redeemed_by = auth.uid()
  where id = v_voucher.id;
  insert into kanta.ledger (business_id, member_id, kind, voucher_id, idempotency_key, created_by, created_at)
  values (p_business_id, v_voucher.member_id, 'voucher_redeemed', v_voucher.id, p_idempotency_key || '#1',
          auth.uid(), v_now);
  v_response := jsonb_build_object('voucher_id', v_voucher.id, 'code', v_voucher.code, 'title', v_voucher.title,
                                   'member_id', v_voucher.member_id, 'redeemed_at', v_now);
  perform kanta.notify('member:' || v_voucher.member_id, 'voucher_redeemed', jsonb_build_object('voucher_id', v_voucher.id));
  return kanta.finish_operation(p_business_id, p_idempotency_key, v_response);
end
$$;
revoke execute on function public.redeem_voucher(uuid, text, text, boolean) from public, anon;
grant execute on function public.redeem_voucher(uuid, text, text, boolean) to authenticated, service_role;

-- A catalogue reward paid with points, handed over at the counter. Not from the caller's own card
-- unless the owner overrides (p_override, kanta.own_card_override).
create or replace function public.redeem_reward(p_business_id uuid, p_member_id uuid, p_reward_id uuid,
                                                p_idempotency_key text, p_override boolean default false)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_now timestamptz := kanta.now();
  v_previous jsonb;
  v_member kanta.members;
  v_reward kanta.rewards;
  v_response jsonb;
begin
  v_previous := kanta.begin_operation(p_business_id, p_idempotency_key, 'redeem_reward', jsonb_build_object('member_id', p_member_id, 'reward_id', p_reward_id, 'override', coalesce(p_override, false)));
  if v_previous is not null then
    return v_previous;
  end if;
  if coalesce(p_override, false) and not kanta.is_staff(p_business_id, 'owner') then
    perform kanta.fail('owner_only', 'forbidden');
  end if;
  v_member := kanta.lock_member(p_business_id, p_member_id);
  select * into v_reward from kanta.rewards where id = p_reward_id and business_id = p_business_id and active;
  if v_reward.id is null then
    perform kanta.fail('reward_not_found', 'not_found');
  end if;
  perform kanta.own_card_override(p_business_id, v_member.id, p_override, 'redeem_reward',
                                  jsonb_build_object('reward_id', v_reward.id));
  if v_member.points < v_reward.cost_points then
    perform kanta.fail('insufficient_points', 'conflict', format('%s < %s', v_member.points, v_reward.cost_points));
  end if;
  insert into kanta.ledger (business_id, member_id, kind, points, reward_id, idempotency_key, created_by, created_at)
  values (p_business_id, v_member.id, 'points_spent', -v_reward.cost_points, v_reward.id, p_idempotency_key || '#1',
          auth.uid(), v_now);
  v_response := jsonb_build_object('reward_id', v_reward.id, 'reward', v_reward.name, 'member_id', v_member.id,
                                   'points_spent', v_reward.cost_points, 'points', v_member.points - v_reward.cost_points,
                                   'redeemed_at', v_now);
  perform kanta.notify('member:' || v_member.id, 'reward_redeemed', jsonb_build_object('reward_id', v_reward.id));
  return kanta.finish_operation(p_business_id, p_idempotency_key, v_response);
end
$$;
revoke execute on function public.redeem_reward(uuid, uuid, uuid, text, boolean) from public, anon;
grant execute on function public.redeem_reward(uuid, uuid, uuid, text, boolean) to authenticated, service_role;

-- Undo a purchase with reversal entries. The purchase's stamps come back from, in order: an
-- unused card voucher it completed (voided, its card's stamps return), the current card, then
-- another unused, unexpired card voucher (voided likewise). A voucher is voided only while the
-- current card cannot give the stamps back, so the card after a refund always holds fewer stamps
-- than a full one: voiding it after two more visits would leave 2 + 5 - 1 = 6 stamps on a 5-stamp
-- card. What none of these can give back (the card's reward was already used) is stamp debt,
-- paid by the next stamps first (kanta.pay_stamp_debt). Points already spent cannot be taken
-- back either: the balance stops at zero and the shortfall is points debt. A referral the
-- purchase completed is reversed (kanta.reverse_referral, 40_referrals.sql).
create or replace function public.refund_purchase(p_business_id uuid, p_purchase_id uuid, p_idempotency_key text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_now timestamptz := kanta.now();
  v_previous jsonb;
  v_purchase kanta.purchases;
  v_member kanta.members;
  v_program kanta.programs;
  v_voucher kanta.vouchers;
  v_voided jsonb := '[]'::jsonb;
  v_available integer;
  v_stamps_removed integer;
  v_stamp_debt integer;
  v_points_clawed integer;
  v_debt integer;
  v_referral jsonb;
  v_seq integer := 0;
  v_response jsonb;
begin
  v_previous := kanta.begin_operation(p_business_id, p_idempotency_key, 'refund_purchase', jsonb_build_object('purchase_id', p_purchase_id));
  if v_previous is not null then
    return v_previous;
  end if;
  select * into v_purchase from kanta.purchases where id = p_purchase_id and business_id = p_business_id for update;
  if v_purchase.id is null then
    perform kanta.fail('purchase_not_found', 'not_found');
  elsif v_purchase.refunded_at is not null then
    perform kanta.fail('already_refunded', 'conflict');
  end if;
  update kanta.purchases set refunded_at = v_now, refunded_by = auth.uid() where id = v_purchase.id;

  if v_purchase.member_id is not null then
    v_member := kanta.lock_member(p_business_id, v_purchase.member_id);
    select * into v_program from kanta.programs where business_id = p_business_id;
    v_available := v_member.stamps;

    -- Card vouchers are voided only while the current card cannot give the purchase's stamps
    -- back (later visits may have refilled it): the purchase's own first, then the newest other.
    for v_voucher in
      select * from kanta.vouchers
      where member_id = v_member.id and status = 'active' and kind = 'stamp_card'
        and (expires_at is null or expires_at > v_now)
      order by purchase_id is not distinct from v_purchase.id desc, issued_at desc, id
      for update
    loop
      exit when v_available >= v_purchase.stamps;
      update kanta.vouchers set status = 'void' where id = v_voucher.id;
      v_seq := v_seq + 1;
      insert into kanta.ledger (business_id, member_id, kind, stamps, purchase_id, voucher_id, idempotency_key,
                                created_by, created_at, note)
      values (p_business_id, v_member.id, 'reversal', v_program.stamps_per_card, v_purchase.id, v_voucher.id,
              p_idempotency_key || '#' || v_seq, auth.uid(), v_now, 'voucher voided by refund');
      v_available := v_available + v_program.stamps_per_card;
      v_voided := v_voided || to_jsonb(v_voucher.code);
    end loop;

    v_stamps_removed := least(v_purchase.stamps, v_available);
    v_stamp_debt := v_purchase.stamps - v_stamps_removed;
    v_points_clawed := least(v_purchase.points, v_member.points);
    v_debt := v_purchase.points - v_points_clawed;
    if v_stamps_removed > 0 or v_points_clawed > 0 then
      v_seq := v_seq + 1;
      insert into kanta.ledger (business_id, member_id, kind, stamps, points, purchase_id, idempotency_key,
                                created_by, created_at, note)
      values (p_business_id, v_member.id, 'reversal', -v_stamps_removed, -v_points_clawed, v_purchase.id,
              p_idempotency_key || '#' || v_seq, auth.uid(), v_now,
              nullif(concat_ws('; ',
                case when v_debt > 0 then format('%s points already spent recorded as debt', v_debt) end,
                case when v_stamp_debt > 0 then format('%s stamps already redeemed recorded as debt', v_stamp_debt) end),
                ''));
    end if;
    update kanta.purchases set refund_debt_points = v_debt where id = v_purchase.id;
    update kanta.members set
      visits = greatest(visits - 1, 0),
      spend_cents = greatest(spend_cents - v_purchase.amount_cents, 0),
      points_debt = points_debt + v_debt,
      stamp_debt = stamp_debt + v_stamp_debt
    where id = v_member.id
    returning * into v_member;
    v_referral := kanta.reverse_referral(v_purchase.id, p_idempotency_key);
    perform kanta.notify('member:' || v_member.id, 'purchase_refunded', jsonb_build_object('purchase_id', v_purchase.id));
  end if;

  perform kanta.audit(p_business_id, 'purchase_refunded', v_purchase.id::text,
                      jsonb_build_object('amount_cents', v_purchase.amount_cents, 'points_debt', coalesce(v_debt, 0),
                                         'stamp_debt', coalesce(v_stamp_debt, 0)));
  v_response := jsonb_build_object(
    'purchase_id', v_purchase.id,
    'member_id', v_purchase.member_id,
    'amount_cents', v_purchase.amount_cents,
    'stamps_removed', coalesce(v_stamps_removed, 0),
    'stamp_debt_added', coalesce(v_stamp_debt, 0),
    'points_clawed_back', coalesce(v_points_clawed, 0),
    'points_debt_added', coalesce(v_debt, 0),
    'vouchers_voided', v_voided,
    'stamps', v_member.stamps,
    'points', v_member.points,
    'tier', kanta.member_tier(v_member.id, v_now) ->> 'name',
    'refunded_at', v_now
  ) || coalesce(v_referral, '{}'::jsonb);
  return kanta.finish_operation(p_business_id, p_idempotency_key, v_response);
end
$$;
revoke execute on function public.refund_purchase(uuid, uuid, text) from public, anon;
grant execute on function public.refund_purchase(uuid, uuid, text) to authenticated, service_role;

-- Stamps a member is about to earn pay their stamp debt first: takes up to p_stamps off the debt
-- and returns what is left for the card. The caller holds the member's row lock (kanta.lock_member).
create or replace function kanta.pay_stamp_debt(p_member_id uuid, p_stamps integer)
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_paid integer;
begin
  select least(m.stamp_debt, greatest(coalesce(p_stamps, 0), 0)) into v_paid from kanta.members m where m.id = p_member_id;
  if v_paid > 0 then
    update kanta.members set stamp_debt = stamp_debt - v_paid where id = p_member_id;
  end if;
  return p_stamps - coalesce(v_paid, 0);
end
$$;

-- The counter app's first question after sign-in: where does this person work, and as what.
create or replace function public.my_workplaces()
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_uid uuid := kanta.require_user();
begin
  return coalesce((
    select jsonb_agg(jsonb_build_object('business_id', b.id, 'name', b.name, 'slug', b.slug, 'color', b.color,
                                        'currency', b.currency, 'timezone', b.timezone, 'role', s.role)
                     order by b.name)
    from kanta.staff s join kanta.businesses b on b.id = s.business_id
    where s.user_id = v_uid
  ), '[]'::jsonb);
end
$$;
revoke execute on function public.my_workplaces() from public, anon;
grant execute on function public.my_workplaces() to authenticated, service_role;

-- =============================================================================================
-- Section - Member search (the counter's third way to find a member)
-- A name or e-mail (3+ characters, anywhere in it) or the start of a member number. Picking a
-- result is the staff's confirmation for identify_member with the member number.
-- =============================================================================================
create index if not exists members_business_number_idx on kanta.members (business_id, member_number text_pattern_ops);

create or replace function public.search_members(p_business_id uuid, p_query text, p_limit integer default 20)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_query text := btrim(coalesce(p_query, ''));
  v_like text;
begin
  perform kanta.require_staff(p_business_id);
  if length(v_query) not between 3 and 80 then
    perform kanta.fail('search_too_short');
  end if;
  if p_limit is null or p_limit not between 1 and 100 then
    perform kanta.fail('invalid_page_size');
  end if;
  v_like := '%' || replace(replace(replace(lower(v_query), '\', '\\'), '%', '\%'), '_', '\_') || '%';
  return coalesce((
    select jsonb_agg(jsonb_build_object('member_id', x.id, 'member_number', x.member_number,
                                        'display_name', x.display_name, 'email', x.email,
                                        'last_visit_at', x.last_visit_at) order by x.display_name, x.member_number)
    from (
      select m.id, m.member_number, m.display_name, u.email, m.last_visit_at
      from kanta.members m left join auth.users u on u.id = m.user_id
      where m.business_id = p_business_id and m.user_id is not null
        and (m.member_number like replace(v_query, ' ', '') || '%'
             or lower(m.display_name) like v_like
             or lower(u.email) like v_like)
      order by m.display_name, m.member_number
      limit p_limit
    ) x
  ), '[]'::jsonb);
end
$$;
revoke execute on function public.search_members(uuid, text, integer) from public, anon;
grant execute on function public.search_members(uuid, text, integer) to authenticated, service_role;
