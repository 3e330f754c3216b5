-- Kanta core: the private schema, the error convention, businesses, staff and members.
-- Tables live in `kanta`; the API is `public` functions. Every write is a SECURITY DEFINER
-- function with an empty search_path and its permission check at the top.

-- =============================================================================================
-- Section - Schema
-- =============================================================================================
create schema if not exists kanta;
-- authenticated may read kanta's tables only through the RLS policies below (Supabase Realtime
-- needs SELECT to deliver row changes); anon sees nothing.
grant usage on schema kanta to authenticated, service_role;
revoke all on schema kanta from anon, public;

-- =============================================================================================
-- Section - Errors
-- Every refusal is `raise ... using message = <stable code>` with a SQLSTATE of our own class:
--   KA403 forbidden, KA404 not found, KA409 conflict, KA422 invalid input.
-- The transports turn these into typed errors; shared/i18n.py translates the code.
-- =============================================================================================
create or replace function kanta.fail(p_code text, p_kind text default 'invalid', p_detail text default null)
returns void
language plpgsql
set search_path = ''
as $$
begin
  raise exception using
    message = p_code,
    errcode = case p_kind
      when 'forbidden' then 'KA403'
      when 'not_found' then 'KA404'
      when 'conflict' then 'KA409'
      else 'KA422'
    end,
    detail = coalesce(p_detail, '');
end
$$;

create or replace function kanta.require_user()
returns uuid
language plpgsql
stable
set search_path = ''
as $$
declare
  v_uid uuid := auth.uid();
begin
  if v_uid is null then
    perform kanta.fail('not_signed_in', 'forbidden');
  end if;
  return v_uid;
end
$$;

-- =============================================================================================
-- Section - Clock
-- Every rule reads the time from here. Server-side code (tests, imports, the seed generator) may
-- set `kanta.clock` inside its own transaction; API clients cannot set settings at all.
-- =============================================================================================
create or replace function kanta.now()
returns timestamptz
language sql
stable
set search_path = ''
as $$
  select coalesce(nullif(current_setting('kanta.clock', true), '')::timestamptz, now())
$$;

-- =============================================================================================
-- Section - Human-friendly numbers and codes
-- =============================================================================================
-- Luhn check digit of a string of digits.
create or replace function kanta.luhn_digit(p_digits text)
returns text
language sql
immutable
set search_path = ''
as $$
  select ((10 - (sum(
    case when (length(p_digits) - i) % 2 = 0
      then (d * 2) / 10 + (d * 2) % 10
      else d end
  ) % 10)) % 10)::text
  from (
    select i, substr(p_digits, i, 1)::int as d
    from generate_series(1, length(p_digits)) as i
  ) x
$$;

-- A random code from an alphabet without look-alikes (no 0/O, 1/I/L).
create or replace function kanta.random_code(p_length int)
returns text
language sql
volatile
set search_path = ''
as $$
  select string_agg(substr('23456789ABCDEFGHJKMNPQRSTUVWXYZ', 1 + (get_byte(b, i) % 31), 1), '' order by i)
  from (select uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()) as b) r,
       generate_series(0, p_length - 1) as i
$$;

-- A prefixed random code not yet in kanta.<table>.<column> (collisions are rare; retry on one).
create or replace function kanta.unused_code(p_prefix text, p_length int, p_table text, p_column text)
returns text
language plpgsql
volatile
set search_path = ''
as $$
declare
  v_code text;
  v_taken boolean;
begin
  loop
    v_code := p_prefix || kanta.random_code(p_length);
    execute format('select exists (select 1 from kanta.%I where %I = $1)', p_table, p_column)
      into v_taken using v_code;
    exit when not v_taken;
  end loop;
  return v_code;
end
$$;

-- =============================================================================================
-- Section - Live updates
-- Payloads carry ids only: a listener re-reads through the API, so RLS decides what it sees.
-- Locally LISTEN/NOTIFY carries them; on hosted Supabase, Realtime broadcast does too.
-- =============================================================================================
create or replace function kanta.notify(p_topic text, p_event text, p_payload jsonb default '{}'::jsonb)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform pg_notify('kanta', jsonb_build_object('topic', p_topic, 'event', p_event, 'payload', p_payload)::text);
  if to_regprocedure('realtime.send(jsonb,text,text,boolean)') is not null then
    execute 'select realtime.send($1, $2, $3, true)' using p_payload, p_event, p_topic;
  end if;
end
$$;

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
create or replace function kanta.is_staff(p_business_id uuid, p_role text default 'staff')
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce(auth.role() = 'service_role', false) or exists (
    select 1
    from kanta.staff s
    where s.business_id = p_business_id
      and s.user_id = auth.uid()
      and (p_role = 'staff' or s.role = p_role)
  )
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
  visits integer not null default 0,
  spend_cents bigint not null default 0,
  first_visit_at timestamptz,
  last_visit_at timestamptz,
  tier text,
  unique (business_id, user_id),
  unique (business_id, member_number),
  constraint members_display_name_length check (display_name is null or length(display_name) <= 80),
  constraint members_stamps_not_negative check (stamps >= 0),
  constraint members_points_not_negative check (points >= 0),
  constraint members_debt_not_negative check (points_debt >= 0),
  constraint members_aggregates_not_negative check (visits >= 0 and spend_cents >= 0)
);
create index if not exists members_user_idx on kanta.members (user_id);

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
create or replace function kanta.parse_member_number(p_text text)
returns text
language sql
immutable
set search_path = ''
as $$
  select case
    when d ~ '^[1-9][0-9]{7}$' and kanta.luhn_digit(left(d, 7)) = right(d, 1) then d
  end
  from (select regexp_replace(coalesce(p_text, ''), '[\s-]', '', 'g') as d) x
$$;

-- =============================================================================================
-- Section - RLS Policies
-- =============================================================================================
alter table kanta.businesses enable row level security;
alter table kanta.staff enable row level security;
alter table kanta.members enable row level security;

revoke all on all tables in schema kanta from anon, authenticated, public;
grant select on kanta.businesses, kanta.staff, kanta.members to authenticated;

drop policy if exists "Businesses are viewable by their staff and members" on kanta.businesses;
create policy "Businesses are viewable by their staff and members" on kanta.businesses
  for select to authenticated
  using (
    kanta.is_staff(businesses.id)
    or exists (select 1 from kanta.members m where m.business_id = businesses.id and m.user_id = auth.uid())
  );

drop policy if exists "Staff rows are viewable by the business's staff" on kanta.staff;
create policy "Staff rows are viewable by the business's staff" on kanta.staff
  for select to authenticated
  using (kanta.is_staff(business_id));

drop policy if exists "Members are viewable by themselves and the business's staff" on kanta.members;
create policy "Members are viewable by themselves and the business's staff" on kanta.members
  for select to authenticated
  using (user_id = auth.uid() or kanta.is_staff(business_id));

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

-- A customer joins a business's program. Joining twice returns the same card.
create or replace function public.join_business(p_slug text, p_display_name text default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uid uuid := kanta.require_user();
  v_business kanta.businesses;
  v_member kanta.members;
  v_new boolean := false;
begin
  select * into v_business from kanta.businesses where slug = p_slug;
  if v_business.id is null then
    perform kanta.fail('business_not_found', 'not_found');
  end if;
  if p_display_name is not null and length(p_display_name) > 80 then
    perform kanta.fail('invalid_display_name');
  end if;

  insert into kanta.members (business_id, user_id, display_name, member_number)
  values (v_business.id, v_uid, nullif(btrim(p_display_name), ''), kanta.new_member_number(v_business.id))
  on conflict (business_id, user_id) do nothing
  returning * into v_member;
  if v_member.id is null then
    select * into v_member from kanta.members where business_id = v_business.id and user_id = v_uid;
  else
    v_new := true;
    perform kanta.notify('business:' || v_business.id, 'member_joined', jsonb_build_object('member_id', v_member.id));
  end if;

  return jsonb_build_object(
    'member_id', v_member.id, 'business_id', v_business.id, 'business_name', v_business.name,
    'member_number', v_member.member_number, 'joined_at', v_member.joined_at, 'new', v_new
  );
end
$$;
revoke execute on function public.join_business(text, text) from public, anon;
grant execute on function public.join_business(text, text) to authenticated, service_role;

-- The signed-in customer's cards, one per business joined.
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
      'joined_at', m.joined_at
    ) order by m.joined_at)
    from kanta.members m
    join kanta.businesses b on b.id = m.business_id
    where m.user_id = v_uid
  ), '[]'::jsonb);
end
$$;
revoke execute on function public.my_wallet() from public, anon;
grant execute on function public.my_wallet() to authenticated, service_role;

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

-- =============================================================================================
-- Section - Helper grants
-- Internal helpers are never part of the API; only the predicates that RLS policies call are
-- executable by `authenticated`. Every migration ends by calling this, once it has added its own.
-- =============================================================================================
create or replace function kanta.grant_helpers()
returns void
language plpgsql
set search_path = ''
as $$
declare
  v_fn text;
begin
  revoke execute on all functions in schema kanta from public, anon, authenticated;
  foreach v_fn in array array['kanta.is_staff(uuid,text)', 'kanta.can_listen(text)', 'kanta.can_see_member(uuid)'] loop
    if to_regprocedure(v_fn) is not null then
      execute format('grant execute on function %s to authenticated', v_fn);
    end if;
  end loop;
end
$$;
select kanta.grant_helpers();
