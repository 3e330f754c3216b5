-- Integrations the shops already use: WooCommerce order webhooks and Mailchimp / Brevo exports.
-- Their settings (the webhook secret, the Google review link offered after every feedback) are
-- program settings: kanta.integrations and update_program live in 20_program.sql, the review link
-- in submit_feedback's answer in 61_feedback.sql.

-- =============================================================================================
-- Section - WooCommerce order webhook
-- The Kanta server passes the raw body and the X-WC-Webhook-Signature header here, as the
-- anonymous role: the signature (base64 HMAC-SHA256 of the body, keyed with the owner's secret)
-- is what authorises the call. Orders become purchases with the idempotency key woo:{order id},
-- so a redelivery changes nothing; a refunded order refunds its purchase.
-- =============================================================================================

-- HMAC-SHA256 (RFC 2104) on the built-in sha256(); pgcrypto is not on every Postgres we run on.
create or replace function kanta.hmac_sha256(p_key bytea, p_message bytea)
returns bytea
language plpgsql
immutable
strict
set search_path = ''
as $$
declare
  v_key bytea := p_key;
  v_inner bytea;
  v_outer bytea;
begin
  if length(v_key) > 64 then
    v_key := sha256(v_key);
  end if;
  v_key := v_key || decode(repeat('00', 64 - length(v_key)), 'hex');
  v_inner := v_key;
  v_outer := v_key;
  for i in 0..63 loop
    v_inner := set_byte(v_inner, i, get_byte(v_key, i) # 54);   -- 0x36
    v_outer := set_byte(v_outer, i, get_byte(v_key, i) # 92);   -- 0x5c
  end loop;
  return sha256(v_outer || sha256(v_inner || p_message));
end
$$;

-- A WooCommerce money string ("29.35") in cents.
create or replace function kanta.woo_cents(p_value text)
returns bigint
language sql
immutable
set search_path = ''
as $$
  select case when coalesce(p_value, '') ~ '^-?[0-9]{1,9}(\.[0-9]{1,6})?$' then round(p_value::numeric * 100)::bigint end
$$;

create or replace function public.woocommerce_webhook(p_slug text, p_topic text, p_signature text, p_body text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_business kanta.businesses;
  v_settings kanta.integrations;
  v_order jsonb;
  v_order_id text;
  v_key text;
  v_status text;
  v_cents bigint;
  v_member_id uuid;
  v_purchase jsonb;
  v_result jsonb;
begin
  select * into v_business from kanta.businesses where slug = lower(btrim(p_slug));
  if v_business.id is null then
    perform kanta.fail('business_not_found', 'not_found');
  end if;
  -- WooCommerce pings a new webhook with an unsigned form body; it is answered and does nothing.
  if p_signature is null and coalesce(p_body, '') ~ '^webhook_id=[0-9]+$' then
    return jsonb_build_object('status', 'ping');
  end if;
  select * into v_settings from kanta.integrations where business_id = v_business.id;
  if v_settings.woocommerce_secret is null then
    perform kanta.fail('webhook_not_configured', 'forbidden');
  end if;
  if p_signature is null or p_body is null
     or btrim(p_signature) <> encode(kanta.hmac_sha256(convert_to(v_settings.woocommerce_secret, 'UTF8'),
                                                       convert_to(p_body, 'UTF8')), 'base64') then
    perform kanta.fail('bad_signature', 'forbidden');
  end if;

  begin
    v_order := p_body::jsonb;
  exception when others then
    perform kanta.fail('invalid_webhook_payload');
  end;
  if jsonb_typeof(v_order) <> 'object' or jsonb_typeof(v_order -> 'id') <> 'number' then
    perform kanta.fail('invalid_webhook_payload');
  end if;
  v_order_id := v_order ->> 'id';
  -- woo:{order id}, the id zero-padded to 4 digits: idempotency keys are at least 8 characters.
  v_key := 'woo:' || lpad(v_order_id, 4, '0');
  v_status := v_order ->> 'status';
  if p_topic is null or p_topic not in ('order.created', 'order.updated', 'order.refunded') then
    return jsonb_build_object('status', 'ignored', 'reason', 'topic', 'order_id', v_order_id);
  end if;

  -- The signature stood for the owner: the rest runs with the service role's rights, for this
  -- transaction only, through the same functions the counter uses.
  perform set_config('request.jwt.claims', '{"role": "service_role"}', true),
          set_config('request.jwt.claim.role', 'service_role', true),
          set_config('request.jwt.claim.sub', '', true);

  if p_topic = 'order.refunded' or v_status = 'refunded' then
    select o.response into v_purchase from kanta.operations o
    where o.business_id = v_business.id and o.idempotency_key = v_key;
    if v_purchase is null then
      return jsonb_build_object('status', 'ignored', 'reason', 'not_recorded', 'order_id', v_order_id);
    end if;
    v_result := public.refund_purchase(v_business.id, (v_purchase ->> 'purchase_id')::uuid, 'woo-refund:' || v_order_id);
    return jsonb_build_object('status', 'refunded', 'order_id', v_order_id, 'refund', v_result);
  end if;

  if v_status is distinct from 'completed' then
    return jsonb_build_object('status', 'ignored', 'reason', 'status', 'order_id', v_order_id, 'order_status', v_status);
  end if;
  v_cents := kanta.woo_cents(v_order ->> 'total');
  if v_settings.woocommerce_amount = 'net' then
    v_cents := v_cents - coalesce(kanta.woo_cents(v_order ->> 'shipping_total'), 0)
                       - coalesce(kanta.woo_cents(v_order ->> 'total_tax'), 0);
  end if;
  if v_cents is null then
    perform kanta.fail('invalid_webhook_payload');
  end if;
  if v_cents < 1 then
    return jsonb_build_object('status', 'ignored', 'reason', 'zero_amount', 'order_id', v_order_id);
  end if;
  select m.id into v_member_id
  from auth.users u join kanta.members m on m.user_id = u.id and m.business_id = v_business.id
  where lower(u.email) = lower(btrim(v_order -> 'billing' ->> 'email'));
  -- An order already recorded stands as it was: WooCommerce re-sends an order the shop edited,
  -- and a changed total is the shop's refund to make, not a second purchase (the idempotency key
  -- binds the first request, so record_purchase itself would refuse it as a conflict).
  select o.response into v_purchase from kanta.operations o
  where o.business_id = v_business.id and o.idempotency_key = v_key;
  if v_purchase is not null then
    return jsonb_build_object('status', 'recorded', 'order_id', v_order_id,
                              'member', v_purchase ->> 'member_id' is not null, 'purchase', v_purchase);
  end if;
  -- A paid web order is not a counter visit: the velocity limits do not hold it back (the audit
  -- log records it when one would have).
  v_result := public.record_purchase(v_business.id, v_member_id, least(v_cents, 100000000)::integer,
                                     v_key, true);
  return jsonb_build_object('status', 'recorded', 'order_id', v_order_id, 'member', v_member_id is not null,
                            'purchase', v_result);
end
$$;
revoke execute on function public.woocommerce_webhook(text, text, text, text) from public;
grant execute on function public.woocommerce_webhook(text, text, text, text) to anon, authenticated, service_role;

-- =============================================================================================
-- Section - Exports for e-mail tools
-- Only members who gave marketing consent, in the column layout each tool's import takes:
--   mailchimp  Email Address, First Name, Last Name, Tier, Segment, Last Visit, Tags
--   brevo      EMAIL;FIRSTNAME;LASTNAME;TIER;SEGMENT;LAST_VISIT (semicolons, Brevo's own layout)
--   csv        the export_members columns (kanta.members_csv, 65_insights.sql)
-- =============================================================================================
create or replace function public.export_marketing(p_business_id uuid, p_format text)
returns text
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_now timestamptz := kanta.now();
  v_tz text;
begin
  perform kanta.require_staff(p_business_id, 'owner');
  if p_format is null or p_format not in ('mailchimp', 'brevo', 'csv') then
    perform kanta.fail('invalid_export_format');
  end if;
  if p_format = 'csv' then
    return kanta.members_csv(p_business_id, v_now, true);
  end if;
  select timezone into v_tz from kanta.businesses where id = p_business_id;
  return (
    with people as (
      select mb.member_number, u.email, kanta.member_tier(mb.id, v_now) ->> 'name' as tier, s.segment,
             split_part(btrim(coalesce(mb.display_name, '')), ' ', 1) as first_name,
             btrim(substr(btrim(coalesce(mb.display_name, '')),
                          length(split_part(btrim(coalesce(mb.display_name, '')), ' ', 1)) + 1)) as last_name,
             to_char(mb.last_visit_at at time zone v_tz, 'YYYY-MM-DD') as last_visit
      from kanta.members mb
      join auth.users u on u.id = mb.user_id
      left join kanta.rfm(p_business_id, v_now) s on s.member_id = mb.id
      where mb.business_id = p_business_id and mb.marketing_consent and u.email is not null
    )
    select case p_format
      when 'mailchimp' then
        'Email Address,First Name,Last Name,Tier,Segment,Last Visit,Tags' || chr(10)
        || coalesce(string_agg(concat_ws(',', kanta.csv(email), kanta.csv(first_name), kanta.csv(last_name),
                      kanta.csv(tier), kanta.csv(segment), kanta.csv(last_visit),
                      kanta.csv(concat_ws(',', 'kanta', tier, segment))), chr(10) order by member_number) || chr(10), '')
      when 'brevo' then
        'EMAIL;FIRSTNAME;LASTNAME;TIER;SEGMENT;LAST_VISIT' || chr(10)
        || coalesce(string_agg(concat_ws(';', kanta.csv(email), kanta.csv(first_name), kanta.csv(last_name),
                      kanta.csv(tier), kanta.csv(segment), kanta.csv(last_visit)), chr(10) order by member_number)
                    || chr(10), '')
    end
    from people
  );
end
$$;
revoke execute on function public.export_marketing(uuid, text) from public, anon;
grant execute on function public.export_marketing(uuid, text) to authenticated, service_role;
