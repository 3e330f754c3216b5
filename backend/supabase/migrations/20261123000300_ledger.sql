-- The ledger and everything that writes it: purchases, vouchers, rewards, refunds; the rotating
-- member QR; and the customer's reads of their card and history.
--
-- Invariants, enforced here and nowhere else:
--   * the ledger is append-only;
--   * a member's cached stamps and points equal the sums of their ledger rows (trigger + deferred check);
--   * balances never go below zero (CHECK constraints on kanta.members);
--   * a staff write with an idempotency key already used returns the first answer and writes nothing.

-- =============================================================================================
-- Section - Operations (idempotency)
-- =============================================================================================
create table if not exists kanta.operations (
  id bigint generated always as identity primary key,
  business_id uuid not null references kanta.businesses (id) on delete cascade,
  idempotency_key text not null,
  kind text not null,
  response jsonb,
  created_by uuid,
  created_at timestamptz not null default now(),
  unique (business_id, idempotency_key)
);

-- Starts a staff write: checks the caller is staff of the business, then claims the key. Returns
-- the stored answer when the key was used before (a retry), null when the caller should go on.
-- A concurrent call with the same key waits on the unique index until the first commits, then
-- gets its answer.
create or replace function kanta.begin_operation(p_business_id uuid, p_key text, p_kind text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_id bigint;
  v_op kanta.operations;
begin
  perform kanta.require_staff(p_business_id);
  if p_key is null or length(p_key) not between 8 and 200 then
    perform kanta.fail('invalid_idempotency_key');
  end if;
  insert into kanta.operations (business_id, idempotency_key, kind, created_by, created_at)
  values (p_business_id, p_key, p_kind, auth.uid(), kanta.now())
  on conflict (business_id, idempotency_key) do nothing
  returning id into v_id;
  if v_id is not null then
    return null;
  end if;
  select * into v_op from kanta.operations where business_id = p_business_id and idempotency_key = p_key;
  if v_op.kind <> p_kind then
    perform kanta.fail('idempotency_key_reused', 'conflict');
  end if;
  return v_op.response;
end
$$;

create or replace function kanta.finish_operation(p_business_id uuid, p_key text, p_response jsonb)
returns jsonb
language sql
security definer
set search_path = ''
as $$
  update kanta.operations set response = p_response
  where business_id = p_business_id and idempotency_key = p_key
  returning response
$$;

-- =============================================================================================
-- Section - Purchases
-- =============================================================================================
create table if not exists kanta.purchases (
  id uuid primary key default gen_random_uuid(),
  business_id uuid not null references kanta.businesses (id) on delete cascade,
  member_id uuid references kanta.members (id) on delete set null,
  amount_cents integer not null,
  stamps integer not null default 0,
  points integer not null default 0,
  multiplier numeric(4, 2) not null default 1,
  override boolean not null default false,
  created_by uuid,
  created_at timestamptz not null default now(),
  refunded_at timestamptz,
  refunded_by uuid,
  refund_debt_points integer not null default 0,
  constraint purchases_amount check (amount_cents > 0),
  constraint purchases_effects check (stamps >= 0 and points >= 0)
);
create index if not exists purchases_member_idx on kanta.purchases (member_id, created_at);
create index if not exists purchases_business_idx on kanta.purchases (business_id, created_at);

-- Points earned by purchases inside the rolling window up to p_at (refunded ones do not count):
-- what decides the tier. "N months back" is counted on the business's calendar, not UTC's.
create or replace function kanta.qualifying_points(p_member_id uuid, p_window_months integer, p_at timestamptz)
returns integer
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce(sum(p.points), 0)::int
  from kanta.members m
  join kanta.businesses b on b.id = m.business_id
  join kanta.purchases p on p.member_id = m.id
  where m.id = p_member_id
    and p.refunded_at is null
    and p.created_at > ((p_at at time zone b.timezone) - make_interval(months => p_window_months)) at time zone b.timezone
    and p.created_at <= p_at
$$;

create or replace function kanta.member_tier(p_member_id uuid, p_at timestamptz)
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  select kanta.tier_for(pr.tiers, kanta.qualifying_points(m.id, pr.tier_window_months, p_at))
  from kanta.members m
  join kanta.programs pr on pr.business_id = m.business_id
  where m.id = p_member_id
$$;

-- =============================================================================================
-- Section - Vouchers
-- =============================================================================================
create table if not exists kanta.vouchers (
  id uuid primary key default gen_random_uuid(),
  business_id uuid not null references kanta.businesses (id) on delete cascade,
  member_id uuid not null references kanta.members (id) on delete cascade,
  code text not null unique,
  kind text not null,
  title text not null,
  status text not null default 'active',
  issued_at timestamptz not null default now(),
  expires_at timestamptz,
  redeemed_at timestamptz,
  redeemed_by uuid,
  purchase_id uuid references kanta.purchases (id) on delete set null,
  constraint vouchers_kind check (kind in ('stamp_card', 'reward', 'welcome', 'birthday', 'referral', 'grant')),
  constraint vouchers_status check (status in ('active', 'redeemed', 'void'))
);
create index if not exists vouchers_member_idx on kanta.vouchers (member_id, status);
create index if not exists vouchers_purchase_idx on kanta.vouchers (purchase_id) where purchase_id is not null;

-- "V" and eight characters: short enough to read aloud, printed under the voucher's QR.
create or replace function kanta.new_voucher_code()
returns text
language sql
volatile
set search_path = ''
as $$
  select kanta.unused_code('V', 8, 'vouchers', 'code')
$$;

create or replace function kanta.normalise_voucher_code(p_text text)
returns text
language sql
immutable
set search_path = ''
as $$
  select case when c ~ '^V[2-9A-Z]{8}$' then c end
  from (select upper(regexp_replace(coalesce(p_text, ''), '[\s-]', '', 'g')) as c) x
$$;

-- =============================================================================================
-- Section - Ledger
-- =============================================================================================
create table if not exists kanta.ledger (
  id bigint generated always as identity primary key,
  business_id uuid not null references kanta.businesses (id) on delete cascade,
  member_id uuid not null references kanta.members (id) on delete cascade,
  kind text not null,
  stamps integer not null default 0,
  points integer not null default 0,
  purchase_id uuid references kanta.purchases (id) on delete set null,
  voucher_id uuid references kanta.vouchers (id) on delete set null,
  reward_id uuid references kanta.rewards (id) on delete set null,
  idempotency_key text not null,
  created_by uuid,
  created_at timestamptz not null default now(),
  note text,
  unique (business_id, idempotency_key),
  constraint ledger_kind check (kind in ('stamp', 'points_earned', 'points_spent', 'points_expired', 'reversal',
                                         'voucher_issued', 'voucher_redeemed', 'adjustment'))
);
create index if not exists ledger_member_idx on kanta.ledger (member_id, id desc);

-- Balances follow the ledger in the same transaction; the CHECKs on members refuse a negative one.
create or replace function kanta.apply_ledger_entry()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if new.stamps <> 0 or new.points <> 0 then
    perform set_config('kanta.applying_ledger', 'on', true);
    update kanta.members
    set stamps = stamps + new.stamps, points = points + new.points
    where id = new.member_id;
    perform set_config('kanta.applying_ledger', 'off', true);
  end if;
  return new;
end
$$;
drop trigger if exists ledger_apply on kanta.ledger;
create trigger ledger_apply after insert on kanta.ledger
  for each row execute function kanta.apply_ledger_entry();

-- History is not rewritten. (Deleting a business or member cascades from a foreign key, which
-- runs one trigger level deeper; that is allowed.)
create or replace function kanta.ledger_append_only()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if tg_op = 'UPDATE' or pg_trigger_depth() <= 1 then
    raise exception using message = 'ledger_is_append_only', errcode = 'KA409';
  end if;
  return old;
end
$$;
drop trigger if exists ledger_no_rewrite on kanta.ledger;
create trigger ledger_no_rewrite before update or delete on kanta.ledger
  for each row execute function kanta.ledger_append_only();

-- Balances change only through a ledger entry: with the ledger append-only and every entry
-- applied exactly once above, balance = sum of the ledger holds by construction, at O(1) per
-- write (re-summing a member's ledger at each commit cost 40% of record_purchase).
create or replace function kanta.guard_member_balances()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  -- A new card starts empty; after that only ledger entries move the balances.
  if (tg_op = 'INSERT' and (new.stamps <> 0 or new.points <> 0))
     or (tg_op = 'UPDATE' and (new.stamps <> old.stamps or new.points <> old.points)
         and coalesce(current_setting('kanta.applying_ledger', true), 'off') <> 'on') then
    raise exception using message = 'ledger_mismatch', errcode = 'KA409',
      detail = 'balances change only through ledger entries';
  end if;
  return new;
end
$$;
drop trigger if exists members_balances_follow_ledger on kanta.members;
create trigger members_balances_follow_ledger before insert or update of stamps, points on kanta.members
  for each row execute function kanta.guard_member_balances();

-- Every voucher is issued here, with its ledger entry: a full card (p_stamps = minus the card
-- size, linked to the purchase that completed it), a referral, a welcome or a birthday voucher.
create or replace function kanta.issue_voucher(p_member_id uuid, p_kind text, p_title text, p_key text,
                                               p_stamps integer default 0, p_purchase_id uuid default null)
returns kanta.vouchers
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_member kanta.members;
  v_days integer;
  v_voucher kanta.vouchers;
begin
  select * into v_member from kanta.members where id = p_member_id;
  select voucher_valid_days into v_days from kanta.programs where business_id = v_member.business_id;
  insert into kanta.vouchers (business_id, member_id, code, kind, title, issued_at, expires_at, purchase_id)
  values (v_member.business_id, v_member.id, kanta.new_voucher_code(), p_kind, p_title, kanta.now(),
          kanta.now() + make_interval(days => v_days), p_purchase_id)
  returning * into v_voucher;
  insert into kanta.ledger (business_id, member_id, kind, stamps, purchase_id, voucher_id, idempotency_key,
                            created_by, created_at)
  values (v_member.business_id, v_member.id, 'voucher_issued', p_stamps, p_purchase_id, v_voucher.id, p_key,
          auth.uid(), kanta.now());
  return v_voucher;
end
$$;

-- =============================================================================================
-- Section - Member QR tokens
-- =============================================================================================
create table if not exists kanta.member_tokens (
  token_hash bytea primary key,
  member_id uuid not null references kanta.members (id) on delete cascade,
  business_id uuid not null references kanta.businesses (id) on delete cascade,
  expires_at timestamptz not null,
  used_at timestamptz
);
create index if not exists member_tokens_member_idx on kanta.member_tokens (member_id, expires_at);

-- =============================================================================================
-- Section - RLS Policies
-- =============================================================================================
alter table kanta.operations enable row level security;
alter table kanta.purchases enable row level security;
alter table kanta.vouchers enable row level security;
alter table kanta.ledger enable row level security;
alter table kanta.member_tokens enable row level security;
revoke all on kanta.operations, kanta.purchases, kanta.vouchers, kanta.ledger, kanta.member_tokens
  from anon, authenticated, public;
-- Operations and tokens are never readable by clients (a token's hash is all that is stored anyway).
grant select on kanta.purchases, kanta.vouchers, kanta.ledger to authenticated;

-- The one "is this my card or my business's card" predicate for member-owned rows.
create or replace function kanta.can_see_member(p_member_id uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (
    select 1 from kanta.members m
    where m.id = p_member_id and (m.user_id = auth.uid() or kanta.is_staff(m.business_id))
  )
$$;

drop policy if exists "Purchases are viewable by the member and the business's staff" on kanta.purchases;
create policy "Purchases are viewable by the member and the business's staff" on kanta.purchases
  for select to authenticated using (kanta.is_staff(business_id) or kanta.can_see_member(member_id));

drop policy if exists "Vouchers are viewable by the member and the business's staff" on kanta.vouchers;
create policy "Vouchers are viewable by the member and the business's staff" on kanta.vouchers
  for select to authenticated using (kanta.can_see_member(member_id));

drop policy if exists "Ledger rows are viewable by the member and the business's staff" on kanta.ledger;
create policy "Ledger rows are viewable by the member and the business's staff" on kanta.ledger
  for select to authenticated using (kanta.can_see_member(member_id));

-- =============================================================================================
-- Section - Extension points
-- Later capabilities (referrals, drops) add what a purchase caused and what a card shows by
-- replacing these two functions; record_purchase and my_card merge their answers.
-- =============================================================================================
create or replace function kanta.purchase_extras(p_purchase_id uuid)
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  select '{}'::jsonb
$$;

create or replace function kanta.card_extras(p_member_id uuid)
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  select '{}'::jsonb
$$;

-- =============================================================================================
-- Section - Shared views of a member
-- =============================================================================================
create or replace function kanta.active_vouchers(p_member_id uuid)
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce(jsonb_agg(jsonb_build_object(
           'id', v.id, 'code', v.code, 'kind', v.kind, 'title', v.title,
           'issued_at', v.issued_at, 'expires_at', v.expires_at) order by v.expires_at nulls last, v.issued_at), '[]'::jsonb)
  from kanta.vouchers v
  where v.member_id = p_member_id and v.status = 'active'
    and (v.expires_at is null or v.expires_at > kanta.now())
$$;

-- What the counter sees after identifying a member.
create or replace function kanta.member_panel(p_member_id uuid)
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
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
    'vouchers', kanta.active_vouchers(m.id)
  )
  from kanta.members m
  join kanta.programs p on p.business_id = m.business_id
  where m.id = p_member_id
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

-- =============================================================================================
-- Section - Public functions: customer
-- =============================================================================================

-- A fresh single-use token for the member's QR code; it expires in 60 seconds.
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
  delete from kanta.member_tokens where member_id = v_member.id and expires_at < kanta.now() - interval '1 hour';
  insert into kanta.member_tokens (token_hash, member_id, business_id, expires_at)
  values (sha256(convert_to(v_token, 'UTF8')), v_member.id, v_member.business_id, v_expires);
  return jsonb_build_object('token', v_token, 'expires_at', v_expires, 'ttl_seconds', 60);
end
$$;
revoke execute on function public.member_qr_token(uuid) from public, anon;
grant execute on function public.member_qr_token(uuid) to authenticated, service_role;

-- The card: stamps, points, tier progress, vouchers, and rewards the member can afford.
create or replace function public.my_card(p_member_id uuid)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_member kanta.members;
  v_program kanta.programs;
  v_business kanta.businesses;
  v_qualifying integer;
  v_current jsonb;
  v_next jsonb;
  v_fraction numeric;
begin
  perform kanta.require_user();
  select * into v_member from kanta.members where id = p_member_id;
  if v_member.id is null or not (v_member.user_id = auth.uid() or kanta.is_staff(v_member.business_id)) then
    perform kanta.fail('member_not_found', 'not_found');
  end if;
  select * into v_program from kanta.programs where business_id = v_member.business_id;
  select * into v_business from kanta.businesses where id = v_member.business_id;
  v_qualifying := kanta.qualifying_points(v_member.id, v_program.tier_window_months, kanta.now());
  v_current := kanta.tier_for(v_program.tiers, v_qualifying);
  v_next := kanta.next_tier(v_program.tiers, v_qualifying);
  v_fraction := case
    when v_next is null then 1
    else round((v_qualifying - (v_current ->> 'min_points')::int)::numeric
               / ((v_next ->> 'min_points')::int - (v_current ->> 'min_points')::int), 4)
  end;

  return jsonb_build_object(
    'member_id', v_member.id,
    'member_number', v_member.member_number,
    'display_name', v_member.display_name,
    'business', jsonb_build_object('id', v_business.id, 'name', v_business.name, 'slug', v_business.slug,
                                   'color', v_business.color, 'currency', v_business.currency,
                                   'timezone', v_business.timezone),
    'stamps', v_member.stamps,
    'stamps_per_card', v_program.stamps_per_card,
    'stamp_reward', v_program.stamp_reward,
    'points', v_member.points,
    'tier', jsonb_build_object(
      'current', v_current,
      'next', v_next,
      'qualifying_points', v_qualifying,
      'points_to_next', case when v_next is null then null else (v_next ->> 'min_points')::int - v_qualifying end,
      'fraction', v_fraction,
      'window_months', v_program.tier_window_months
    ),
    'vouchers', kanta.active_vouchers(v_member.id),
    'rewards', coalesce((
      select jsonb_agg(jsonb_build_object('id', r.id, 'name', r.name, 'cost_points', r.cost_points,
                                          'affordable', r.cost_points <= v_member.points)
                       order by r.cost_points, r.name)
      from kanta.rewards r where r.business_id = v_member.business_id and r.active
    ), '[]'::jsonb),
    'visits', v_member.visits,
    'joined_at', v_member.joined_at,
    'last_visit_at', v_member.last_visit_at
  ) || kanta.card_extras(v_member.id);
end
$$;
revoke execute on function public.my_card(uuid) from public, anon;
grant execute on function public.my_card(uuid) to authenticated, service_role;

-- The card's history, newest first, keyset-paged by ledger id.
create or replace function public.my_history(p_member_id uuid, p_before bigint default null, p_limit integer default 20)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_rows jsonb;
begin
  perform kanta.require_user();
  if not kanta.can_see_member(p_member_id) then
    perform kanta.fail('member_not_found', 'not_found');
  end if;
  if p_limit is null or p_limit not between 1 and 100 then
    perform kanta.fail('invalid_page_size');
  end if;
  select coalesce(jsonb_agg(jsonb_build_object(
           'id', l.id, 'kind', l.kind, 'stamps', l.stamps, 'points', l.points, 'created_at', l.created_at,
           'amount_cents', p.amount_cents, 'voucher_code', v.code, 'voucher_title', v.title,
           'reward', r.name, 'note', l.note) order by l.id desc), '[]'::jsonb)
  into v_rows
  from (
    select * from kanta.ledger
    where member_id = p_member_id and (p_before is null or id < p_before)
    order by id desc
    limit p_limit
  ) l
  left join kanta.purchases p on p.id = l.purchase_id
  left join kanta.vouchers v on v.id = l.voucher_id
  left join kanta.rewards r on r.id = l.reward_id;
  return jsonb_build_object(
    'entries', v_rows,
    'next_before', case when jsonb_array_length(v_rows) = p_limit then (v_rows -> -1 ->> 'id')::bigint end
  );
end
$$;
revoke execute on function public.my_history(uuid, bigint, integer) from public, anon;
grant execute on function public.my_history(uuid, bigint, integer) to authenticated, service_role;

-- All of my cards, with stamps and points at a glance.
create or replace function public.my_wallet()
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
    select jsonb_agg(jsonb_build_object(
      'member_id', m.id,
      'business_id', b.id,
      'business_name', b.name,
      'business_slug', b.slug,
      'color', b.color,
      'stamps', m.stamps,
      'stamps_per_card', p.stamps_per_card,
      'points', m.points,
      'tier', kanta.member_tier(m.id, kanta.now()) ->> 'name',
      'vouchers', (select count(*) from kanta.vouchers v where v.member_id = m.id and v.status = 'active'
                   and (v.expires_at is null or v.expires_at > kanta.now())),
      'joined_at', m.joined_at
    ) order by m.joined_at)
    from kanta.members m
    join kanta.businesses b on b.id = m.business_id
    join kanta.programs p on p.business_id = m.business_id
    where m.user_id = v_uid
  ), '[]'::jsonb);
end
$$;

-- =============================================================================================
-- Section - Public functions: counter (staff)
-- =============================================================================================

-- Who is at the counter: a QR token (single use, 60 s), a voucher code, or a member number
-- (only with p_confirmed, since a number can be read off someone else's card).
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
    if v_voucher.id is null then
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
  select id into v_member_id from kanta.members where business_id = p_business_id and member_number = v_number;
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
create or replace function public.record_purchase(
  p_business_id uuid,
  p_member_id uuid,
  p_amount_cents integer,
  p_idempotency_key text,
  p_override boolean default false
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
  v_recent_stamp boolean;
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
  v_previous := kanta.begin_operation(p_business_id, p_idempotency_key, 'record_purchase');
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

  if p_member_id is null then
    insert into kanta.purchases (id, business_id, member_id, amount_cents, created_by, created_at)
    values (v_purchase_id, p_business_id, null, p_amount_cents, auth.uid(), v_now);
    v_response := jsonb_build_object('purchase_id', v_purchase_id, 'member_id', null,
                                     'amount_cents', p_amount_cents, 'created_at', v_now);
    perform kanta.notify('business:' || p_business_id, 'purchase_recorded', jsonb_build_object('purchase_id', v_purchase_id));
    return kanta.finish_operation(p_business_id, p_idempotency_key, v_response);
  end if;

  v_member := kanta.lock_member(p_business_id, p_member_id);

  -- Velocity: purchases per local day, and one stamp per cooldown.
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
  if p_amount_cents >= v_program.stamp_min_cents and v_program.stamp_cooldown_minutes > 0 then
    select exists (
      select 1 from kanta.purchases
      where member_id = v_member.id and refunded_at is null and stamps > 0
        and created_at > v_now - make_interval(mins => v_program.stamp_cooldown_minutes)
        and created_at <= v_now
    ) into v_recent_stamp;
    if v_recent_stamp then
      v_overridden := array_append(v_overridden, 'stamp_cooldown');
    end if;
  end if;
  if cardinality(v_overridden) > 0 and not coalesce(p_override, false) then
    perform kanta.fail('velocity_limit', 'conflict', array_to_string(v_overridden, ','));
  end if;

  v_tier_before := kanta.tier_for(v_program.tiers, kanta.qualifying_points(v_member.id, v_program.tier_window_months, v_now));
  v_multiplier := coalesce((v_tier_before ->> 'multiplier')::numeric, 1);
  if p_amount_cents >= v_program.stamp_min_cents then
    v_stamps_added := v_program.stamps_per_purchase;
  end if;
  v_points_added := floor(p_amount_cents * v_program.points_per_euro * v_multiplier / 100)::int;

  insert into kanta.purchases (id, business_id, member_id, amount_cents, stamps, points, multiplier, override,
                               created_by, created_at)
  values (v_purchase_id, p_business_id, v_member.id, p_amount_cents, v_stamps_added, v_points_added, v_multiplier,
          cardinality(v_overridden) > 0, auth.uid(), v_now);

  if v_stamps_added > 0 then
    v_seq := v_seq + 1;
    insert into kanta.ledger (business_id, member_id, kind, stamps, purchase_id, idempotency_key, created_by, created_at)
    values (p_business_id, v_member.id, 'stamp', v_stamps_added, v_purchase_id, p_idempotency_key || '#' || v_seq,
            auth.uid(), v_now);
  end if;
  if v_points_added > 0 then
    v_seq := v_seq + 1;
    insert into kanta.ledger (business_id, member_id, kind, points, purchase_id, idempotency_key, created_by, created_at)
    values (p_business_id, v_member.id, 'points_earned', v_points_added, v_purchase_id,
            p_idempotency_key || '#' || v_seq, auth.uid(), v_now);
  end if;

  -- Each full card becomes a voucher; what is over the card stays on the next one.
  v_stamps := v_member.stamps + v_stamps_added;
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
    first_visit_at = coalesce(first_visit_at, v_now),
    last_visit_at = greatest(coalesce(last_visit_at, v_now), v_now),
    tier = v_tier_after ->> 'name'
  where id = v_member.id
  returning * into v_member;

  if cardinality(v_overridden) > 0 then
    perform kanta.audit(p_business_id, 'velocity_override', v_member.id::text,
                        jsonb_build_object('rules', to_jsonb(v_overridden), 'purchase_id', v_purchase_id,
                                           'amount_cents', p_amount_cents));
  end if;

  v_response := jsonb_build_object(
    'purchase_id', v_purchase_id,
    'member_id', v_member.id,
    'amount_cents', p_amount_cents,
    'created_at', v_now,
    'stamps_added', v_stamps_added,
    'stamps', v_member.stamps,
    'stamps_per_card', v_program.stamps_per_card,
    'points_added', v_points_added,
    'points', v_member.points,
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
revoke execute on function public.record_purchase(uuid, uuid, integer, text, boolean) from public, anon;
grant execute on function public.record_purchase(uuid, uuid, integer, text, boolean) to authenticated, service_role;

-- Redeem a voucher by its code (scanned from its QR). The row lock makes two tablets racing for
-- the same voucher succeed exactly once.
create or replace function public.redeem_voucher(p_business_id uuid, p_code text, p_idempotency_key text)
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
  v_previous := kanta.begin_operation(p_business_id, p_idempotency_key, 'redeem_voucher');
  if v_previous is not null then
    return v_previous;
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
revoke execute on function public.redeem_voucher(uuid, text, text) from public, anon;
grant execute on function public.redeem_voucher(uuid, text, text) to authenticated, service_role;

-- A catalogue reward paid with points, handed over at the counter.
create or replace function public.redeem_reward(p_business_id uuid, p_member_id uuid, p_reward_id uuid,
                                                p_idempotency_key text)
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
  v_previous := kanta.begin_operation(p_business_id, p_idempotency_key, 'redeem_reward');
  if v_previous is not null then
    return v_previous;
  end if;
  v_member := kanta.lock_member(p_business_id, p_member_id);
  select * into v_reward from kanta.rewards where id = p_reward_id and business_id = p_business_id and active;
  if v_reward.id is null then
    perform kanta.fail('reward_not_found', 'not_found');
  end if;
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
revoke execute on function public.redeem_reward(uuid, uuid, uuid, text) from public, anon;
grant execute on function public.redeem_reward(uuid, uuid, uuid, text) to authenticated, service_role;

-- Undo a purchase with reversal entries. A card voucher it completed is voided if still unused
-- (its stamps come back, less this purchase's). Points already spent cannot be taken back: the
-- balance stops at zero and the shortfall is recorded as debt.
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
  v_points_clawed integer;
  v_debt integer;
  v_seq integer := 0;
  v_response jsonb;
begin
  v_previous := kanta.begin_operation(p_business_id, p_idempotency_key, 'refund_purchase');
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

    for v_voucher in
      select * from kanta.vouchers where purchase_id = v_purchase.id and status = 'active' and kind = 'stamp_card'
      for update
    loop
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
    v_points_clawed := least(v_purchase.points, v_member.points);
    v_debt := v_purchase.points - v_points_clawed;
    if v_stamps_removed > 0 or v_points_clawed > 0 then
      v_seq := v_seq + 1;
      insert into kanta.ledger (business_id, member_id, kind, stamps, points, purchase_id, idempotency_key,
                                created_by, created_at, note)
      values (p_business_id, v_member.id, 'reversal', -v_stamps_removed, -v_points_clawed, v_purchase.id,
              p_idempotency_key || '#' || v_seq, auth.uid(), v_now,
              case when v_debt > 0 then format('%s points already spent recorded as debt', v_debt) end);
    end if;
    update kanta.purchases set refund_debt_points = v_debt where id = v_purchase.id;
    update kanta.members set
      visits = greatest(visits - 1, 0),
      spend_cents = greatest(spend_cents - v_purchase.amount_cents, 0),
      points_debt = points_debt + v_debt,
      tier = kanta.member_tier(id, v_now) ->> 'name'
    where id = v_member.id
    returning * into v_member;
    perform kanta.notify('member:' || v_member.id, 'purchase_refunded', jsonb_build_object('purchase_id', v_purchase.id));
  end if;

  perform kanta.audit(p_business_id, 'purchase_refunded', v_purchase.id::text,
                      jsonb_build_object('amount_cents', v_purchase.amount_cents, 'points_debt', coalesce(v_debt, 0)));
  v_response := jsonb_build_object(
    'purchase_id', v_purchase.id,
    'member_id', v_purchase.member_id,
    'amount_cents', v_purchase.amount_cents,
    'stamps_removed', coalesce(v_stamps_removed, 0),
    'points_clawed_back', coalesce(v_points_clawed, 0),
    'points_debt_added', coalesce(v_debt, 0),
    'vouchers_voided', v_voided,
    'stamps', v_member.stamps,
    'points', v_member.points,
    'tier', v_member.tier,
    'refunded_at', v_now
  );
  return kanta.finish_operation(p_business_id, p_idempotency_key, v_response);
end
$$;
revoke execute on function public.refund_purchase(uuid, uuid, text) from public, anon;
grant execute on function public.refund_purchase(uuid, uuid, text) to authenticated, service_role;

select kanta.grant_helpers();
