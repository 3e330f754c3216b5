-- The counter under load: concurrent purchases of one café no longer queue on a shared row.
--   * The daily sales rollup had one row per café and day, updated by every purchase: each
--     purchase held that row's lock until it committed, so a busy café's purchases ran one at a
--     time. The row is now split in 8 shards (by the writing session), and readers sum them.
--   * The counter's answer looks up the referral a purchase completed by the purchase: indexed.

create index if not exists referrals_purchase_idx on kanta.referrals (purchase_id) where purchase_id is not null;

alter table kanta.daily_sales add column if not exists shard smallint not null default 0;
alter table kanta.daily_sales drop constraint if exists daily_sales_pkey;
alter table kanta.daily_sales add constraint daily_sales_pkey primary key (business_id, day, shard);

create or replace function kanta.roll_up_sale()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_sign integer := case when tg_op = 'INSERT' then 1 else -1 end;
  v_day date;
begin
  -- A refund takes the sale back out of the day it was made (in its own session's shard).
  if tg_op = 'UPDATE' and not (old.refunded_at is null and new.refunded_at is not null) then
    return new;
  end if;
  select (new.created_at at time zone b.timezone)::date into v_day from kanta.businesses b where b.id = new.business_id;
  insert into kanta.daily_sales as d (business_id, day, shard, purchases, member_purchases, revenue_cents,
                                      member_revenue_cents)
  values (new.business_id, v_day, pg_backend_pid() % 8, v_sign, v_sign * (new.member_id is not null)::int,
          v_sign * new.amount_cents, case when new.member_id is not null then v_sign * new.amount_cents else 0 end)
  on conflict (business_id, day, shard) do update set
    purchases = d.purchases + excluded.purchases,
    member_purchases = d.member_purchases + excluded.member_purchases,
    revenue_cents = d.revenue_cents + excluded.revenue_cents,
    member_revenue_cents = d.member_revenue_cents + excluded.member_revenue_cents;
  return new;
end
$$;

select kanta.grant_helpers();
