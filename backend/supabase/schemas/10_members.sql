-- Businesses, their staff and their members: the one authorisation predicate (kanta.is_staff),
-- member numbers, who may see which row, opening a business, and who may listen
-- to which live topic.

-- =============================================================================================
-- Section - Businesses
-- =============================================================================================
create table if not exists kanta.businesses (
  id uuid primary key default gen_random_uuid(),
  slug text not null unique,
  name text not null,
  timezone text not null default 'Europe/Helsinki',
  currency text not null default 'EUR',
  color text not null default '#6B4F3A',
  created_by uuid not null references auth.users (id),
  created_at timestamptz not null default now(),
  constraint businesses_slug_format check (slug ~ '^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$'),
  constraint businesses_name_length check (length(btrim(name)) between 1 and 80),
  constraint businesses_currency_format check (currency ~ '^[A-Z]{3}$'),
  constraint businesses_color_format check (color ~ '^#[0-9A-Fa-f]{6}$')
);

-- =============================================================================================
-- Section - Staff
-- =============================================================================================
create table if not exists kanta.staff (
  business_id uuid not null references kanta.businesses (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  role text not null,
  created_at timestamptz not null default now(),
  primary key (business_id, user_id),
  constraint staff_role check (role in ('owner', 'staff'))
);

create index if not exists staff_user_idx on kanta.staff (user_id);

-- The one authorisation predicate. An owner is also staff. The service role (the trusted
-- server side: CLI, automations) acts as owner everywhere.
-- PL/pgSQL keeps this plan between calls; a SQL body with SET is planned at every call (hot paths at
-- 100k members: record_purchase 5.15 -> 3.36 ms, my_card 3.80 -> 1.21 ms a call).
create or replace function kanta.is_staff(p_business_id uuid, p_role text default 'staff')
returns boolean
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return (
    select coalesce(auth.role() = 'service_role', false) or exists (
      select 1
      from kanta.staff s
      where s.business_id = p_business_id
        and s.user_id = auth.uid()
        and (p_role = 'staff' or s.role = p_role)
    )
  );
end
$$;

-- The same predicate as a guard at the top of a function: refuses with owner_only / staff_only.
create or replace function kanta.require_staff(p_business_id uuid, p_role text default 'staff')
returns void
language plpgsql
stable
set search_path = ''
as $$
begin
  if not kanta.is_staff(p_business_id, p_role) then
    perform kanta.fail(p_role || '_only', 'forbidden');
  end if;
end
$$;

-- =============================================================================================
-- Section - Members
-- =============================================================================================
create table if not exists kanta.members (
  id uuid primary key default gen_random_uuid(),
  business_id uuid not null references kanta.businesses (id) on delete cascade,
  user_id uuid references auth.users (id) on delete set null,
  display_name text,
  -- Eight digits, the last a Luhn check digit, unique per business (kanta.new_member_number).
  member_number text not null,
  joined_at timestamptz not null default now(),
  -- Cached from the ledger in the same transaction (kanta.apply_ledger_entry); reads are O(1).
  stamps integer not null default 0,
  points integer not null default 0,
  points_debt integer not null default 0,
  -- Stamps a refund could not take back (their card's reward already used): the next stamps pay it.
  stamp_debt integer not null default 0,
  visits integer not null default 0,
  spend_cents bigint not null default 0,
  first_visit_at timestamptz,
  last_visit_at timestamptz,
  -- No cached tier: the tier moves with the calendar (a rolling window), so it is always read
  -- through kanta.member_tier (30_ledger.sql), the one definition.
  unique (business_id, user_id),
  unique (business_id, member_number),
  constraint members_display_name_length check (display_name is null or length(display_name) <= 80),
  constraint members_stamps_not_negative check (stamps >= 0),
  constraint members_points_not_negative check (points >= 0),
  constraint members_debt_not_negative check (points_debt >= 0),
  constraint members_stamp_debt_not_negative check (stamp_debt >= 0),
  constraint members_aggregates_not_negative check (visits >= 0 and spend_cents >= 0),
  referral_code text not null,
  vip_until timestamptz,
  vip_note text,
  phone text,
  birthday date,
  birthday_set_at timestamptz,
  marketing_consent boolean not null default false,
  consent_at timestamptz,
  -- Set by delete_my_account (62_privacy.sql): the card is anonymised and never identified again.
  deleted_at timestamptz,
  constraint members_phone_format check (phone is null or phone ~ '^\+?[0-9 ]{5,20}$')
);

create index if not exists members_user_idx on kanta.members (user_id);

-- The one identity an e-mail stands for when Kanta compares people (self-referral, "new to this
-- business"): trimmed, lower case, and without `+tag` sub-addressing in the local part, so that
-- Aino+1@Example.com is aino@example.com. Dots are left alone (only some providers ignore them).
create or replace function kanta.normalise_email(p_email text)
returns text
language plpgsql
immutable
set search_path = ''
as $$
begin
  return (
    select case when e like '%@%' then regexp_replace(e, '^([^@+]*)\+[^@]*@', '\1@') else e end
    from (select nullif(lower(btrim(coalesce(p_email, ''))), '') as e) x
  );
end
$$;

-- Seven random digits (not starting with 0) and a Luhn check digit, unused in the business.
create or replace function kanta.new_member_number(p_business_id uuid)
returns text
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_body text;
  v_number text;
begin
  loop
    v_body := (1000000 + floor(random() * 9000000))::int::text;
    v_number := v_body || kanta.luhn_digit(v_body);
    exit when not exists (
      select 1 from kanta.members where business_id = p_business_id and member_number = v_number
    );
  end loop;
  return v_number;
end
$$;

-- Accepts "1234 5678", "1234-5678" or "12345678"; null unless eight digits with a valid check digit.
-- PL/pgSQL keeps this plan between calls; a SQL body with SET is planned at every call (hot paths at
-- 100k members: record_purchase 5.15 -> 3.36 ms, my_card 3.80 -> 1.21 ms a call).
create or replace function kanta.parse_member_number(p_text text)
returns text
language plpgsql
immutable
set search_path = ''
as $$
begin
  return (
    select case
      when d ~ '^[1-9][0-9]{7}$' and kanta.luhn_digit(left(d, 7)) = right(d, 1) then d
    end
    from (select regexp_replace(coalesce(p_text, ''), '[\s-]', '', 'g') as d) x
  );
end
$$;

-- =============================================================================================
-- Section - RLS Policies
-- =============================================================================================
alter table kanta.businesses enable row level security;

alter table kanta.staff enable row level security;

alter table kanta.members enable row level security;

revoke all on all tables in schema kanta from anon, authenticated, public;

grant select on kanta.businesses, kanta.staff, kanta.members to authenticated;

create policy "Businesses are viewable by their staff and members" on kanta.businesses
  for select to authenticated
  using (
    kanta.is_staff(businesses.id)
    or exists (select 1 from kanta.members m where m.business_id = businesses.id and m.user_id = (select auth.uid()))
  );

create policy "Staff rows are viewable by the business's staff" on kanta.staff
  for select to authenticated
  using (kanta.is_staff(business_id));

create policy "Members are viewable by themselves and the business's staff" on kanta.members
  for select to authenticated
  using (user_id = (select auth.uid()) or kanta.is_staff(business_id));

-- =============================================================================================
-- Section - Public functions
-- =============================================================================================

-- Anyone signed in may open a business; they become its owner.
create or replace function public.create_business(
  p_name text,
  p_slug text,
  p_timezone text default 'Europe/Helsinki',
  p_currency text default 'EUR'
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uid uuid := kanta.require_user();
  v_business kanta.businesses;
begin
  if p_name is null or length(btrim(p_name)) not between 1 and 80 then
    perform kanta.fail('invalid_business_name');
  end if;
  if p_slug is null or p_slug !~ '^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$' then
    perform kanta.fail('invalid_slug');
  end if;
  if p_timezone is null or not exists (select 1 from pg_catalog.pg_timezone_names where name = p_timezone) then
    perform kanta.fail('invalid_timezone');
  end if;
  if p_currency is null or p_currency !~ '^[A-Z]{3}$' then
    perform kanta.fail('invalid_currency');
  end if;
  if exists (select 1 from kanta.businesses where slug = p_slug) then
    perform kanta.fail('slug_taken', 'conflict');
  end if;

  insert into kanta.businesses (slug, name, timezone, currency, created_by)
  values (p_slug, btrim(p_name), p_timezone, p_currency, v_uid)
  returning * into v_business;
  insert into kanta.staff (business_id, user_id, role) values (v_business.id, v_uid, 'owner');

  return jsonb_build_object(
    'id', v_business.id, 'slug', v_business.slug, 'name', v_business.name,
    'timezone', v_business.timezone, 'currency', v_business.currency, 'role', 'owner'
  );
end
$$;
revoke execute on function public.create_business(text, text, text, text) from public, anon;
grant execute on function public.create_business(text, text, text, text) to authenticated, service_role;

-- The owner adds an existing user as staff or co-owner (or changes their role).
create or replace function public.add_staff(p_business_id uuid, p_email text, p_role text default 'staff')
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_user_id uuid;
begin
  perform kanta.require_staff(p_business_id, 'owner');
  if p_role is null or p_role not in ('owner', 'staff') then
    perform kanta.fail('invalid_role');
  end if;
  select id into v_user_id from auth.users where lower(email) = lower(btrim(p_email));
  if v_user_id is null then
    perform kanta.fail('user_not_found', 'not_found');
  end if;

  insert into kanta.staff (business_id, user_id, role)
  values (p_business_id, v_user_id, p_role)
  on conflict (business_id, user_id) do update set role = excluded.role;

  return jsonb_build_object('business_id', p_business_id, 'user_id', v_user_id, 'role', p_role);
end
$$;
revoke execute on function public.add_staff(uuid, text, text) from public, anon;
grant execute on function public.add_staff(uuid, text, text) to authenticated, service_role;

-- =============================================================================================
-- Section - Live topics
-- Who may listen to a topic: staff to "business:<id>", a member (or the staff) to "member:<id>".
-- Checked by the local live feed before it subscribes, and on hosted Supabase by Realtime through
-- the policy on realtime.messages below.
-- =============================================================================================
create or replace function kanta.can_listen(p_topic text)
returns boolean
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_kind text := split_part(p_topic, ':', 1);
  v_id uuid;
begin
  if auth.uid() is null and coalesce(auth.role(), '') <> 'service_role' then
    return false;
  end if;
  begin
    v_id := split_part(p_topic, ':', 2)::uuid;
  exception when invalid_text_representation then
    return false;
  end;
  if v_kind = 'business' then
    return kanta.is_staff(v_id);
  elsif v_kind = 'member' then
    return exists (
      select 1 from kanta.members m
      where m.id = v_id and (m.user_id = auth.uid() or kanta.is_staff(m.business_id))
    );
  end if;
  return false;
end
$$;

do $$
begin
  if to_regclass('realtime.messages') is not null then
    execute 'drop policy if exists "Kanta topics are readable by those allowed to listen" on realtime.messages';
    execute 'create policy "Kanta topics are readable by those allowed to listen" on realtime.messages'
      ' for select to authenticated using (kanta.can_listen(realtime.topic()))';
  end if;
end
$$;
