-- The ledger and the tables it writes: operations (idempotency), purchases and their links,
-- vouchers, the ledger itself, member QR tokens; and the tier a member holds.
--
-- Invariants, enforced here and nowhere else:
--   * the ledger is append-only;
--   * a member's cached stamps and points equal the sums of their ledger rows (trigger + deferred check);
--   * balances never go below zero (CHECK constraints on kanta.members);
--   * an idempotency key binds one request (Stripe's rule): the same key with the same request returns the
--     first answer and writes nothing; with a different request it is a conflict (idempotency_key_reused).

-- =============================================================================================
-- Section - Operations (idempotency)
-- =============================================================================================
create table if not exists kanta.operations (
  id bigint generated always as identity primary key,
  business_id uuid not null references kanta.businesses (id) on delete cascade,
  idempotency_key text not null,
  kind text not null,
  -- sha256 of the operation's kind and its parameters (kanta.request_fingerprint): what the key binds.
  request_hash bytea not null,
  response jsonb,
  created_by uuid,
  created_at timestamptz not null default now(),
  unique (business_id, idempotency_key)
);

-- What an idempotency key binds: the operation's kind and its parameters, as the caller names them in
-- a jsonb object. jsonb's text form is canonical (keys in one order, no insignificant whitespace), so
-- equal requests give equal fingerprints whatever order or spacing the client sent.
create or replace function kanta.request_fingerprint(p_kind text, p_request jsonb)
returns bytea
language sql
immutable
set search_path = ''
as $$
  select sha256(convert_to(p_kind || ' ' || coalesce(p_request, '{}'::jsonb)::text, 'UTF8'))
$$;

-- Starts a staff write: checks the caller is staff of the business, then claims the key for this
-- request (p_kind and p_request, every parameter of the call). Returns the stored answer when the
-- same request came before (a retry), null when the caller should go on; the same key with another
-- request (another amount, member, or operation) is refused with idempotency_key_reused.
-- A concurrent call with the same key waits on the unique index until the first commits; the
-- select after it is a new statement, so (READ COMMITTED) it sees that row and compares with it.
create or replace function kanta.begin_operation(p_business_id uuid, p_key text, p_kind text, p_request jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_id bigint;
  v_hash bytea := kanta.request_fingerprint(p_kind, p_request);
  v_op kanta.operations;
begin
  perform kanta.require_staff(p_business_id);
  if p_key is null or length(p_key) not between 8 and 200 then
    perform kanta.fail('invalid_idempotency_key');
  end if;
  insert into kanta.operations (business_id, idempotency_key, kind, request_hash, created_by, created_at)
  values (p_business_id, p_key, p_kind, v_hash, auth.uid(), kanta.now())
  on conflict (business_id, idempotency_key) do nothing
  returning id into v_id;
  if v_id is not null then
    return null;
  end if;
  select * into v_op from kanta.operations where business_id = p_business_id and idempotency_key = p_key;
  if v_op.kind <> p_kind or v_op.request_hash <> v_hash then
    perform kanta.fail('idempotency_key_reused', 'conflict');
  end if;
  return v_op.response;
end
$$;

-- Written out in PL/pgSQL: an UPDATE ... RETURNING body cannot be wrapped in `return (...)`.
create or replace function kanta.finish_operation(p_business_id uuid, p_key text, p_response jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
begin
  update kanta.operations set response = p_response
  where business_id = p_business_id and idempotency_key = p_key;
  return p_response;
end
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
  constraint purchases_effects check (stamps >= 0 and points >= 0),
  prev_at timestamptz,
  prev2_at timestamptz,
  tier text
);
comment on column kanta.purchases.prev_at is
  'The same member''s previous purchase at this business (refunded ones skipped); null on their first';
comment on column kanta.purchases.prev2_at is 'The same member''s purchase before prev_at; null when there is none';
comment on column kanta.purchases.tier is 'The tier the member held when buying (what the multiplier came from)';

create index if not exists purchases_business_idx on kanta.purchases (business_id, created_at);

-- Points earned by purchases inside the rolling window up to p_at (refunded ones do not count):
-- what decides the tier. The window is (p_at - N months, p_at], "N months back" counted as
-- dateutil.relativedelta counts it on the business's wall clock, not UTC's: the day is clamped to
-- the shorter month (Mar 31 - 1 month = Feb 28, Feb 29 in a leap year); a wall time the clock
-- skips (spring) is read with the offset before the change; one it shows twice (autumn) is its
-- first occurrence (zoneinfo's fold=0), where `at time zone` alone would take the second.
-- PL/pgSQL keeps this plan between calls; a SQL body with SET is planned at every call (hot paths at
-- 100k members: record_purchase 5.15 -> 3.36 ms, my_card 3.80 -> 1.21 ms a call).
create or replace function kanta.qualifying_points(p_member_id uuid, p_window_months integer, p_at timestamptz)
returns integer
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_tz text;
  v_wall timestamp;
  v_start timestamptz;
  v_first timestamptz;
begin
  select b.timezone into v_tz
  from kanta.members m join kanta.businesses b on b.id = m.business_id
  where m.id = p_member_id;
  v_wall := (p_at at time zone v_tz) - make_interval(months => p_window_months);
  v_start := v_wall at time zone v_tz;
  -- The same wall time read with the offset of three hours earlier: an earlier moment that shows
  -- this wall time too means the wall time falls twice, and the first one starts the window.
  v_first := (v_wall - ((v_start - interval '3 hours') at time zone v_tz - (v_start - interval '3 hours') at time zone 'UTC'))
             at time zone 'UTC';
  if v_first < v_start and (v_first at time zone v_tz) = v_wall then
    v_start := v_first;
  end if;
  return (
    select coalesce(sum(p.points), 0)::int
    from kanta.purchases p
    where p.member_id = p_member_id
      and p.refunded_at is null
      and p.created_at > v_start
      and p.created_at <= p_at
  );
end
$$;

-- The one definition of the tier a member holds at p_at. The card, the counter's panel, the
-- exports and the inbox's `tier:` targeting all read it; nothing caches it, because the tier
-- changes with the calendar alone (the window moves) while a cache changes only on a write.
-- PL/pgSQL keeps this plan between calls; a SQL body with SET is planned at every call (hot paths at
-- 100k members: record_purchase 5.15 -> 3.36 ms, my_card 3.80 -> 1.21 ms a call).
create or replace function kanta.member_tier(p_member_id uuid, p_at timestamptz)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return (
    select kanta.tier_for(pr.tiers, kanta.qualifying_points(m.id, pr.tier_window_months, p_at))
    from kanta.members m
    join kanta.programs pr on pr.business_id = m.business_id
    where m.id = p_member_id
  );
end
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

-- PL/pgSQL keeps this plan between calls; a SQL body with SET is planned at every call (hot paths at
-- 100k members: record_purchase 5.15 -> 3.36 ms, my_card 3.80 -> 1.21 ms a call).
create or replace function kanta.normalise_voucher_code(p_text text)
returns text
language plpgsql
immutable
set search_path = ''
as $$
begin
  return (
    select case when c ~ '^V[2-9A-Z]{8}$' then c end
    from (select upper(regexp_replace(coalesce(p_text, ''), '[\s-]', '', 'g')) as c) x
  );
end
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
-- One row per member: the live token. A new token replaces the old one in place, so the old one
-- is refused and rows do not pile up (public.member_qr_token, 31_counter.sql).
create table if not exists kanta.member_tokens (
  token_hash bytea primary key,
  member_id uuid not null unique references kanta.members (id) on delete cascade,
  business_id uuid not null references kanta.businesses (id) on delete cascade,
  expires_at timestamptz not null,
  used_at timestamptz
);

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
-- PL/pgSQL keeps this plan between calls; a SQL body with SET is planned at every call (hot paths at
-- 100k members: record_purchase 5.15 -> 3.36 ms, my_card 3.80 -> 1.21 ms a call).
create or replace function kanta.can_see_member(p_member_id uuid)
returns boolean
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return (
    select exists (
      select 1 from kanta.members m
      where m.id = p_member_id and (m.user_id = auth.uid() or kanta.is_staff(m.business_id))
    )
  );
end
$$;

create policy "Purchases are viewable by the member and the business's staff" on kanta.purchases
  for select to authenticated using (kanta.is_staff(business_id) or kanta.can_see_member(member_id));

create policy "Vouchers are viewable by the member and the business's staff" on kanta.vouchers
  for select to authenticated using (kanta.can_see_member(member_id));

create policy "Ledger rows are viewable by the member and the business's staff" on kanta.ledger
  for select to authenticated using (kanta.can_see_member(member_id));

-- =============================================================================================
-- Section - Columns and their history
-- =============================================================================================
-- The old KPI index (each buying member's sales) is replaced below; gone first, so the rewrite
-- does not build it again.
-- A member's purchases in (created_at, id) order, the links' order, straight from the index (no
-- sort step for purchases made at the same moment). It takes the place of (member_id, created_at).
create index if not exists purchases_member_idx on kanta.purchases (member_id, created_at, id);

-- When the member bought the two times before this purchase (refunded purchases skipped), most
-- recent first: the one definition the history, new purchases and re-linking all use.
-- On every purchase's path, so without SECURITY DEFINER or SET: a SET clause costs each call a
-- configuration save and restore, and a changed search_path makes the next name lookups start
-- over. Every name in it is qualified; kanta functions are not callable by the API's roles.
create or replace function kanta.purchases_before(p_member_id uuid, p_at timestamptz, p_id uuid)
returns timestamptz[]
language plpgsql
stable
as $$
begin
  return array(
    select x.created_at from kanta.purchases x
    where x.member_id = p_member_id and (x.created_at, x.id) < (p_at, p_id) and x.refunded_at is null
    order by x.created_at desc, x.id desc
    limit 2
  );
end
$$;

-- A place in a member's chain now has p_prev and p_prev2 just before it: the (at most two) live
-- purchases after (p_at, p_id) follow them. The one re-linking step, for a purchase written late
-- (p_prev is that purchase) and for a refunded one (p_prev, p_prev2 are what it followed).
-- On the purchase path, so without SET or SECURITY DEFINER, like kanta.purchases_before.
create or replace function kanta.link_next(p_member_id uuid, p_at timestamptz, p_id uuid,
                                           p_prev timestamptz, p_prev2 timestamptz)
returns void
language plpgsql
as $$
declare
  v_after uuid[];
begin
  v_after := array(
    select x.id from kanta.purchases x
    where x.member_id = p_member_id and (x.created_at, x.id) > (p_at, p_id) and x.refunded_at is null
    order by x.created_at, x.id
    limit 2
  );
  if cardinality(v_after) > 0 then
    update kanta.purchases set prev_at = p_prev, prev2_at = p_prev2 where id = v_after[1];
    update kanta.purchases set prev2_at = p_prev where id = v_after[2];
  end if;
end
$$;

-- =============================================================================================
-- Section - Triggers
-- =============================================================================================
-- Before a member's purchase is written: its two predecessors; and, when it is written late (its
-- transaction began before one already written), it becomes the predecessor of those after it.
-- The tier is the writer's to give (record_purchase gives the tier it worked out). Runs as the
-- writer (record_purchase's owner), without SET: see kanta.purchases_before.
create or replace function kanta.link_new_purchase()
returns trigger
language plpgsql
as $$
declare
  v_before timestamptz[];
begin
  v_before := kanta.purchases_before(new.member_id, new.created_at, new.id);
  new.prev_at := v_before[1];
  new.prev2_at := v_before[2];
  perform kanta.link_next(new.member_id, new.created_at, new.id, new.created_at, v_before[1]);
  return new;
end
$$;

create trigger purchases_link before insert on kanta.purchases
  for each row when (new.member_id is not null and new.refunded_at is null)
  execute function kanta.link_new_purchase();

-- A refunded purchase leaves its member's chain: the purchases after it follow what it followed.
-- Under the member's row lock, so that record_purchase cannot link to a purchase being refunded.
-- (Nothing moves a purchase to another member or another time; a deleted member's purchases lose
-- their member all at once and leave the KPIs' index together.)
create or replace function kanta.unlink_refunded_purchase()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform 1 from kanta.members where id = old.member_id for update;
  perform kanta.link_next(old.member_id, old.created_at, old.id, old.prev_at, old.prev2_at);
  return null;
end
$$;

create trigger purchases_unlink_refunded after update of refunded_at on kanta.purchases
  for each row when (old.refunded_at is null and new.refunded_at is not null and old.member_id is not null)
  execute function kanta.unlink_refunded_purchase();
