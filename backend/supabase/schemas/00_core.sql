-- Kanta core: the private schema, the error convention, the clock, human-friendly codes, live
-- updates and the helper grants. Tables live in `kanta`; the API is `public` functions. Every
-- write is a SECURITY DEFINER function with an empty search_path and its permission check at the top.

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
-- No SET clause (only pg_catalog functions inside), so the queries that call it inline it.
create or replace function kanta.now()
returns timestamptz
language sql
stable
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
-- Section - Helper grants
-- Internal helpers are never part of the API; only the predicates that RLS policies call are
-- executable by `authenticated`. 99_helper_grants.sql calls it last; so does a migration that adds one.
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
